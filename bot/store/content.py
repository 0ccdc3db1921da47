"""Reading questionnaire files from disk; the parsing itself is pure and lives in `flows`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from flows.loading import Problem, QuestionnaireInvalid, parse_questionnaire
from flows.questionnaire import Questionnaire

QUESTIONNAIRE_DIR = Path(__file__).resolve().parents[2] / "questionnaires"
DEFAULT_QUESTIONNAIRE = QUESTIONNAIRE_DIR / "weltoffene-kommune.de.yaml"


Validate = Callable[[str, str], Awaitable[Questionnaire]]
"""(source text, name for messages) → the questionnaire, or `QuestionnaireInvalid`."""


async def validate_here(source: str, name: str) -> Questionnaire:
    """Validation in this process (pydantic is loaded on first use); see also
    `bot.store.validation.ChildValidator`."""
    return parse_questionnaire(source, name)


def questionnaire_files(paths: list[str] | None = None) -> list[Path]:
    """The given files, or every YAML file in the questionnaire folder."""
    if paths:
        return [Path(p) for p in paths]
    return sorted([*QUESTIONNAIRE_DIR.glob("*.yaml"), *QUESTIONNAIRE_DIR.glob("*.yml")])


def read_source(path: Path) -> str:
    """The file's text; unreadable files become a `QuestionnaireInvalid` like any other error."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuestionnaireInvalid([Problem(str(path), "", "file not found")]) from None
    except UnicodeDecodeError as error:
        raise QuestionnaireInvalid(
            [Problem(str(path), "", f"not UTF-8 text (byte {error.start})")]
        ) from None
    except OSError as error:
        raise QuestionnaireInvalid([Problem(str(path), "", error.strerror or str(error))]) from None


def load_questionnaire(path: Path) -> tuple[Questionnaire, str]:
    """Load and validate one file; returns the model and the source text it came from."""
    source = read_source(path)
    return parse_questionnaire(source, str(path)), source
