"""`python -m bot validate` and `preview` as authors run them: real processes, real files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from flows.loading import parse_questionnaire

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = "questionnaires/weltoffene-kommune.de.yaml"
MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"
SUMMARY = re.compile(
    r"^questionnaires/weltoffene-kommune\.de\.yaml: OK — 7 fields; kreisfreie Stadt (\d+), "
    r"Landkreis (\d+), kreisangehörige Stadt / Gemeinde (\d+) questions$"
)
MINI_SUMMARY = "OK — 3 fields; Stadt 10, Kreis 11 questions"


def run_bot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI from the repository root, as the docs tell authors to."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def broken_copy(tmp_path: Path, name: str = "kaputt.yaml") -> Path:
    """The mini fixture without the text of its second question (line known to the test)."""
    text = MINI.read_text(encoding="utf-8")
    snippet = "    text: Es gibt eine zuständige Stelle.\n"
    assert text.count(snippet) == 1
    path = tmp_path / name
    path.write_text(text.replace(snippet, ""), encoding="utf-8")
    return path


def question_line(path: Path, question_id: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if f"id: {question_id}" in line)


def test_validate_shipped_file() -> None:
    result = run_bot("validate", SHIPPED, MINI)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    match = SUMMARY.match(lines[0])
    assert match, result.stdout
    q = parse_questionnaire((ROOT / SHIPPED).read_text(encoding="utf-8"), SHIPPED).document
    counts = [len(q.for_type(t).questions) for t in ("city", "district", "municipality")]
    assert [int(n) for n in match.groups()] == counts
    assert all(100 <= n <= 115 for n in counts)
    assert lines[1] == f"tests/fixtures/mini.yaml: {MINI_SUMMARY}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = "`<file>: " + lines[0].split(": ", 1)[1] + "`"
    assert example in readme, "README's validate example is stale"
    assert f"bewerten {min(counts)}–{max(counts)} Aussagen" in readme, "README's count is stale"


def test_validate_without_arguments_checks_the_questionnaire_folder() -> None:
    result = run_bot("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(SUMMARY.match(line) for line in result.stdout.splitlines()), result.stdout


def test_validate_broken_file_names_file_location_and_reason(tmp_path: Path) -> None:
    path = broken_copy(tmp_path)
    result = run_bot("validate", path)
    assert result.returncode != 0
    out = result.stdout
    assert f"{path}: INVALID — 1 problem(s)" in out
    line = question_line(path, "alpha.two")
    assert f"{path}:{line} at questions[1].text: missing text: add 'text'" in out


def test_validate_reports_yaml_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    syntax = tmp_path / "syntax.yaml"
    syntax.write_text("id: x\ntitle: [offen\nversion: '1'\n", encoding="utf-8")
    missing = tmp_path / "gibt-es-nicht.yaml"
    result = run_bot("validate", syntax, missing)
    assert result.returncode != 0
    assert f"  {syntax}:3: YAML syntax error: " in result.stdout
    assert f"  {missing}: file not found" in result.stdout


def test_validate_several_files_one_summary_each(tmp_path: Path) -> None:
    broken = broken_copy(tmp_path)
    reordered = tmp_path / "mini-sortiert.yaml"
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    reordered.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run_bot("validate", SHIPPED, MINI, broken, reordered)
    assert result.returncode != 0, "one invalid file fails the whole run"
    summaries = [line for line in result.stdout.splitlines() if not line.startswith("  ")]
    assert len(summaries) == 4, result.stdout
    assert SUMMARY.match(summaries[0])
    assert summaries[1] == f"tests/fixtures/mini.yaml: {MINI_SUMMARY}"
    assert summaries[2] == f"{broken}: INVALID — 1 problem(s)"
    assert summaries[3] == f"{reordered}: {MINI_SUMMARY}"


def test_preview_shows_the_whole_shipped_questionnaire() -> None:
    result = run_bot("preview")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    q = parse_questionnaire((ROOT / SHIPPED).read_text(encoding="utf-8"), SHIPPED)
    for field in q.fields:
        assert field.title in out
    for option in q.scale.options:
        assert f"{option.label} ({option.points})" in out
    assert q.scale.skip_label in out
    for band in q.bands:
        assert f"{band.label} {band.min}–{band.max}" in out
    assert f"hash {q.content_hash}" in out
    assert "Anregung bei niedriger Antwort:" in out
    assert "• " in out  # band suggestions
    assert "— Bildung —" in out  # subtheme heading in field 3


def test_preview_of_a_given_file() -> None:
    result = run_bot("preview", MINI)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Mini-Selbstcheck — für: Stadt [city]\n")
    for title in ("Feld Alpha", "Feld Beta", "Feld Gamma", "— Wohnen —"):
        assert title in out
    assert "Hinweis: Ein Leitbild beschreibt gemeinsame Ziele." in out
    assert "Anregung bei niedriger Antwort: Erarbeiten Sie ein Leitbild." in out
    assert "• Gamma stark zwei." in out


def test_preview_of_a_broken_file_fails_with_the_problem(tmp_path: Path) -> None:
    path = broken_copy(tmp_path)
    result = run_bot("preview", path)
    assert result.returncode != 0
    assert "missing text: add 'text'" in result.stdout
    assert str(path) in result.stdout


def test_validate_a_file_without_types_counts_once(tmp_path: Path) -> None:
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for key in ("municipality_types", "default_municipality_type", "terms"):
        del data[key]
    data["questions"] = [x for x in data["questions"] if "applies_to" not in x]
    for question in data["questions"]:
        question["suggestion"] = question["suggestion"].replace("{council}", "Rat")
    plain = tmp_path / "ohne-typen.yaml"
    plain.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run_bot("validate", plain)
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"{plain}: OK — 3 fields, 10 questions\n"


def test_preview_per_type_shows_exactly_what_that_type_sees() -> None:
    document = parse_questionnaire((ROOT / SHIPPED).read_text(encoding="utf-8"), SHIPPED).document
    outputs = {}
    wanted_types = (("landkreis", "district"), ("city", "city"), ("Gemeinde", "municipality"))
    for wanted, type_id in wanted_types:
        result = run_bot("preview", "--type", wanted)
        assert result.returncode == 0, result.stdout + result.stderr
        out = outputs[type_id] = result.stdout
        q = document.for_type(type_id)
        assert f"[{type_id}]" in out.splitlines()[0]
        assert f"{len(q.questions)} questions · hash {q.content_hash}" in out
        for question in document.questions:
            assert (f"[{question.id}]" in out) == question.applies(type_id), (type_id, question.id)
        assert "{" not in out
    assert "Kreistag" in outputs["district"] and "Kreistag" not in outputs["city"]
    assert "Gemeinde- oder Stadtrat" in outputs["municipality"]
    assert "[+entfällt]" in outputs["city"]


def test_preview_of_an_unknown_type_lists_the_types() -> None:
    result = run_bot("preview", "--type", "bezirk")
    assert result.returncode != 0
    assert "unknown municipality type 'bezirk'" in result.stdout
    assert "district (Landkreis)" in result.stdout
