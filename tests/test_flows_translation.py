"""flows.translation.answers_on: a check's answers read through its own questionnaire version."""

from __future__ import annotations

from pathlib import Path

from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE, SKIPPED, assess_field
from flows.translation import answers_on

MINI_TEXT = (Path(__file__).resolve().parent / "fixtures" / "mini.yaml").read_text(encoding="utf-8")
RENAMES = {"full": "voll", "mostly": "eher", "partly": "kaum", "none": "nicht"}


def mini(text: str = MINI_TEXT) -> Questionnaire:
    return parse_questionnaire(text, "mini.yaml")


def renamed() -> Questionnaire:
    """The same questionnaire after a reload that only renamed the scale's option ids."""
    text = MINI_TEXT
    for old, new in RENAMES.items():
        text = text.replace(f"{{id: {old},", f"{{id: {new},")
    return mini(text)


def test_renamed_options_keep_their_meaning_and_score() -> None:
    old, new = mini(), renamed()
    assert new.scale.option("voll") is not None and new.scale.option("full") is None
    answers = {"alpha.one": "full", "alpha.two": "partly", "alpha.three": SKIPPED}
    translated = answers_on(new, old, answers)
    assert translated == {"alpha.one": "voll", "alpha.two": "kaum", "alpha.three": SKIPPED}
    assert assess_field(new, "alpha", translated).score == assess_field(old, "alpha", answers).score
    assert assess_field(new, "alpha", answers).score is None, "untranslated: nothing scores"


def test_same_version_is_unchanged() -> None:
    q = mini()
    answers = {"alpha.one": "full", "beta.flats": NOT_APPLICABLE}
    assert answers_on(q, q, answers) == answers


def test_dropped_questions_vanish_and_unknown_ids_stay_unanswered() -> None:
    old, new = mini(), renamed()
    translated = answers_on(new, old, {"gone.question": "full", "alpha.one": "forged"})
    assert translated == {}


def test_a_scale_with_other_points_maps_by_place_and_rounds_down_between() -> None:
    old = mini()
    three = MINI_TEXT.replace(
        '    - {id: mostly, label: "trifft eher zu",       points: 2}\n', ""
    ).replace("points: 3}", "points: 2}")
    new = mini(three)
    assert [o.points for o in new.scale.options] == [2, 1, 0]
    translated = answers_on(new, old, {"alpha.one": "full", "alpha.two": "mostly"})
    # "trifft eher zu" (2 of 3) lies between 1 of 2 and 2 of 2: the nearer, 1 of 2 ("partly").
    assert translated == {"alpha.one": "full", "alpha.two": "partly"}
