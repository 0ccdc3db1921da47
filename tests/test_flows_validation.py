"""Every kind of content error is reported in plain words, with path and line, all at once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.loading import Problem, QuestionnaireInvalid, parse_questionnaire

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"
SOURCE = "mini.yaml"


def mini_text() -> str:
    return MINI.read_text(encoding="utf-8")


def edited(old: str, new: str) -> str:
    """The mini fixture with one unique snippet replaced (keeps its line layout)."""
    text = mini_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def mutated(change: Callable[[dict[str, Any]], object]) -> str:
    """The mini fixture as data, changed and dumped again (for tests not about lines)."""
    data = copy.deepcopy(yaml.safe_load(mini_text()))
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def problems_of(text: str) -> tuple[Problem, ...]:
    with pytest.raises(QuestionnaireInvalid) as caught:
        parse_questionnaire(text, SOURCE)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return caught.value.problems


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_fixture_itself_is_valid() -> None:
    q = parse_questionnaire(mini_text(), SOURCE)
    assert [f.id for f in q.fields] == ["alpha", "beta", "gamma"]


def test_problem_str_names_source_line_and_path() -> None:
    assert str(Problem("a.yaml", "fields[0].id", "kaputt", 7)) == "a.yaml:7 at fields[0].id: kaputt"
    assert str(Problem("a.yaml", "", "kaputt")) == "a.yaml: kaputt"


def test_yaml_syntax_error_with_line() -> None:
    text = edited("title: Mini-Selbstcheck\n", "title: [Mini-Selbstcheck\n")
    problem = only_problem(text)
    assert problem.message.startswith("YAML syntax error: ")
    assert "expected ',' or ']'" in problem.message
    assert problem.path == ""
    assert problem.line == line_of(text, "version:")
    assert str(problem).startswith(f"mini.yaml:{problem.line}: YAML syntax error")


def test_yaml_tab_indentation_is_a_syntax_error_at_its_line() -> None:
    text = edited("language: de\n", "language: de\n\tfoo: 1\n")
    problem = only_problem(text)
    assert problem.message.startswith("YAML syntax error: ")
    assert problem.line == line_of(text, "foo: 1")


def test_unknown_key() -> None:
    text = edited("    title: Feld Alpha\n", "    title: Feld Alpha\n    colour: rot\n")
    problem = only_problem(text)
    assert problem.message == "unknown key 'colour'"
    assert problem.path == "fields[0].colour"
    assert problem.line == line_of(text, "colour: rot")


def test_question_without_text() -> None:
    text = edited("    text: Es gibt eine zuständige Stelle.\n", "")
    problem = only_problem(text)
    assert problem.message == "missing text: add 'text'"
    assert problem.path == "questions[1].text"
    assert problem.line == line_of(text, "id: alpha.two")


def test_missing_non_text_key() -> None:
    text = edited("    field: alpha\n    text: Es gibt eine", "    text: Es gibt eine")
    problem = only_problem(text)
    assert problem.message == "missing required key 'field'"
    assert problem.path == "questions[1].field"


def test_empty_text() -> None:
    text = edited("text: Es gibt eine zuständige Stelle.", 'text: "  "')
    problem = only_problem(text)
    assert problem.message == "text must not be empty"
    assert problem.path == "questions[1].text"
    assert problem.line == line_of(text, 'text: "  "')


def test_duplicate_question_id() -> None:
    text = edited("  - id: alpha.two\n", "  - id: alpha.one\n")
    problem = only_problem(text)
    assert problem.message == "duplicate question id 'alpha.one'"
    assert problem.path == "questions[1].id"
    assert problem.line == line_of(text, "Es gibt eine zuständige Stelle.") - 2


def test_question_points_at_unknown_field() -> None:
    text = edited(
        "    field: gamma\n    text: Es gibt Begegnungsfeste.", "    field: delta\n    text: x"
    )
    problem = only_problem(text)
    assert problem.message == "question 'gamma.events' points at unknown field 'delta'"
    assert problem.path == "questions[8].field"
    assert problem.line == line_of(text, "field: delta")


def test_question_points_at_unknown_subtheme() -> None:
    text = edited(
        "    subtheme: education\n    text: Schulen", "    subtheme: sport\n    text: Schulen"
    )
    problem = only_problem(text)
    assert problem.message == (
        "question 'beta.school' points at unknown subtheme 'sport' of field 'beta'"
    )
    assert problem.path == "questions[3].subtheme"
    assert problem.line == line_of(text, "subtheme: sport")


def test_subtheme_on_a_field_without_subthemes() -> None:
    text = edited(
        "    field: alpha\n    text: Es gibt",
        "    field: alpha\n    subtheme: x\n    text: Es gibt",
    )
    problem = only_problem(text)
    assert problem.message == "question 'alpha.two' points at unknown subtheme 'x' of field 'alpha'"


def test_bands_with_a_gap() -> None:
    text = edited("min: 40, max: 69", "min: 45, max: 69")
    problem = only_problem(text)
    assert problem.message == "gap: scores 40–44 are not covered by any band"
    assert problem.path == "bands"
    assert problem.line == line_of(text, "id: beginning")


def test_overlapping_bands() -> None:
    text = edited("min: 70, max: 100", "min: 60, max: 100")
    problem = only_problem(text)
    assert problem.message == "bands 'underway' and 'strong' overlap at scores 60–69"
    assert problem.path == "bands"


def test_bands_not_reaching_100() -> None:
    problem = only_problem(edited("min: 70, max: 100", "min: 70, max: 90"))
    assert problem.message == "scores 91–100 are not covered by any band"
    assert problem.path == "bands"


def test_bands_not_starting_at_0() -> None:
    problem = only_problem(edited("min: 0,  max: 39", "min: 5,  max: 39"))
    assert problem.message == "scores 0–4 are not covered by any band"
    assert problem.path == "bands"


def test_band_ending_before_it_starts() -> None:
    problems = problems_of(edited("min: 40, max: 69", "min: 69, max: 40"))
    messages = [p.message for p in problems]
    assert "band 'underway' starts at 69 but ends at 40" in messages
    assert [p.path for p in problems if "starts at" in p.message] == ["bands[1]"]


def test_option_without_points() -> None:
    text = edited('label: "trifft eher nicht zu", points: 1}', 'label: "trifft eher nicht zu"}')
    problem = only_problem(text)
    assert problem.message == "option without points: add 'points' (a whole number)"
    assert problem.path == "scale.options[2].points"
    assert problem.line == line_of(text, "id: partly")


def test_points_not_a_number() -> None:
    problem = only_problem(edited("points: 2}", "points: zwei}"))
    assert problem.message == "expected a whole number"
    assert problem.path == "scale.options[1].points"


def test_field_with_fewer_questions_than_min_answered() -> None:
    text = mutated(lambda d: d["fields"][2].update(min_answered=4))
    problem = only_problem(text)
    assert problem.message == (
        "field 'gamma' has 3 questions, fewer than its minimum of 4 answered questions"
    )
    assert problem.path == "fields[2].min_answered"
    assert problem.line == line_of(text, "min_answered: 4")


def test_field_without_questions() -> None:
    text = mutated(
        lambda d: d.update(questions=[q for q in d["questions"] if q["field"] != "gamma"])
    )
    problem = only_problem(text)
    assert problem.message == "field 'gamma' has no questions"
    assert problem.path == "fields[2]"


def test_missing_assessment_for_a_band() -> None:
    text = mutated(lambda d: d["fields"][1]["assessments"].pop("underway"))
    problem = only_problem(text)
    assert problem.message == "missing the assessment for band 'underway'"
    assert problem.path == "fields[1].assessments"


def test_assessment_key_that_is_not_a_band() -> None:
    text = edited("      strong:\n        text: Gamma", "      excellent:\n        text: Gamma")
    problems = problems_of(text)
    assert [(p.path, p.message) for p in problems] == [
        ("fields[2].assessments", "missing the assessment for band 'strong'"),
        (
            "fields[2].assessments.excellent",
            "'excellent' is not a band id (beginning, underway, strong)",
        ),
    ]
    assert problems[1].line == line_of(text, "text: Gamma ist gut")


def test_non_mapping_file() -> None:
    for text in ["- id: mini\n- title: x\n", "nur Text\n", "", "42\n"]:
        problem = only_problem(text)
        assert problem.message == "the file must contain a mapping with keys like id, fields"
        assert problem.line is None
        assert str(problem) == f"{SOURCE}: {problem.message}"


def test_bad_id_characters() -> None:
    problem = only_problem(edited("  - id: alpha.two\n", "  - id: Alpha Zwei\n"))
    assert problem.message == "ids may use only lowercase letters, digits, '_', '.' and '-'"
    assert problem.path == "questions[1].id"


def test_too_few_assessment_suggestions() -> None:
    problem = only_problem(edited("[Beta Weg eins., Beta Weg zwei.]", "[Beta Weg eins.]"))
    assert problem.message.startswith("too few entries")
    assert problem.path == "fields[1].assessments.underway.suggestions"


def test_low_answer_max_points_outside_scale() -> None:
    problem = only_problem(edited("low_answer_max_points: 1", "low_answer_max_points: 3"))
    assert problem.message == "must be at least 0 and below 3, got 3"
    assert problem.path == "scale.low_answer_max_points"


def test_multiple_schema_problems_reported_at_once() -> None:
    text = edited("    text: Es gibt eine zuständige Stelle.\n", "")
    text = text.replace("    title: Feld Beta\n", "    title: Feld Beta\n    farbe: blau\n")
    text = text.replace("points: 0}", "}")
    problems = problems_of(text)
    assert {(p.path, p.message) for p in problems} == {
        ("scale.options[3].points", "option without points: add 'points' (a whole number)"),
        ("fields[1].farbe", "unknown key 'farbe'"),
        ("questions[1].text", "missing text: add 'text'"),
    }
    assert all(p.source == SOURCE and p.line for p in problems)


def test_multiple_consistency_problems_reported_at_once() -> None:
    text = edited("  - id: alpha.two\n", "  - id: alpha.one\n")
    text = text.replace("min: 40, max: 69", "min: 45, max: 69")
    text = text.replace(
        "    subtheme: housing\n    text: Wohnungen", "    subtheme: sport\n    text: Wohnungen"
    )
    problems = problems_of(text)
    assert [p.message for p in problems] == [
        "duplicate question id 'alpha.one'",
        "gap: scores 40–44 are not covered by any band",
        "question 'beta.flats' points at unknown subtheme 'sport' of field 'beta'",
    ]


# Municipality types, terms, applies_to, "entfällt", conditional band suggestions -------------


def test_unknown_term_placeholder_names_path_and_line() -> None:
    text = edited("text: Es gibt Begegnungsfeste.", "text: Der {rat} lädt zu Festen ein.")
    problem = only_problem(text)
    assert problem.message == "unknown term '{rat}' (terms: council)"
    assert problem.path == "questions[8].text"
    assert problem.line == line_of(text, "Der {rat} lädt")


def test_term_without_wording_for_a_type() -> None:
    text = edited("council: {city: Rat, district: Kreistag}", "council: {city: Rat}")
    problem = only_problem(text)
    assert problem.message == "term 'council' has no wording for type 'district'"
    assert problem.path == "terms.council"
    assert problem.line == line_of(text, "council: {city: Rat}")


def test_term_for_an_unknown_type() -> None:
    text = edited(
        "council: {city: Rat, district: Kreistag}",
        "council: {city: Rat, district: Kreistag, village: Dorfrat}",
    )
    problem = only_problem(text)
    assert problem.message == "'village' is not a municipality type (city, district)"
    assert problem.path == "terms.council.village"


def test_applies_to_an_unknown_type() -> None:
    text = edited("applies_to: [district]", "applies_to: [distrikt]")
    problem = only_problem(text)
    assert problem.message == "'distrikt' is not a municipality type (city, district)"
    assert problem.path == "questions[10].applies_to[0]"
    assert problem.line == line_of(text, "applies_to: [distrikt]")


def test_applies_to_nobody() -> None:
    problem = only_problem(edited("applies_to: [district]", "applies_to: []"))
    assert problem.message == "applies_to must name at least one type"


def test_default_type_must_be_declared() -> None:
    text = edited("default_municipality_type: city", "default_municipality_type: town")
    problem = only_problem(text)
    assert problem.message == "'town' is not a municipality type (city, district)"
    assert problem.line == line_of(text, "default_municipality_type: town")


def test_types_and_terms_need_each_other() -> None:
    def drop_types(data: dict[str, Any]) -> None:
        del data["municipality_types"], data["default_municipality_type"]

    messages = {p.message for p in problems_of(mutated(drop_types))}
    assert "terms need municipality_types to choose from" in messages
    assert "applies_to needs municipality_types" in messages


def test_not_applicable_needs_its_label() -> None:
    text = edited('  not_applicable_label: "entfällt bei uns"\n', "")
    problem = only_problem(text)
    assert problem.path == "questions[9].allow_not_applicable"
    assert "not_applicable_label" in problem.message
    assert problem.line == line_of(text, "allow_not_applicable: true")


def test_a_field_empty_for_one_type_names_the_type() -> None:
    def only_district(data: dict[str, Any]) -> None:
        for question in data["questions"]:
            if question["field"] == "gamma":
                question["applies_to"] = ["district"]

    problem = only_problem(mutated(only_district))
    assert problem.message == "field 'gamma' has no questions for 'Stadt'"
    assert problem.path == "fields[2]"


def test_band_suggestion_conditions_must_name_questions_of_the_field() -> None:
    text = edited(
        "suggestions: [Alpha stark eins., Alpha stark zwei.]",
        "suggestions: [{text: Alpha stark eins., builds_on: [beta.school]}, Alpha stark zwei.]",
    )
    problem = only_problem(text)
    assert problem.message == "'beta.school' is not a question of field 'alpha'"
    assert problem.path == "fields[0].assessments.strong.suggestions[0].builds_on[0]"
    assert problem.line == line_of(text, "builds_on: [beta.school]")


def test_result_rules_are_percentages() -> None:
    def too_much(data: dict[str, Any]) -> None:
        data["result_rules"] = {"min_answered_percent": 150}

    problem = only_problem(mutated(too_much))
    assert problem.path == "result_rules.min_answered_percent"
    assert problem.message == "must be at most 100"
