"""Municipality types, "entfällt" and the result rules, on the mini fixture and the shipped file.

The mini fixture has two types (city, the default, and district with one extra question worded
with the `{council}` term) and one question that offers "entfällt". The shipped questionnaire
checks the rules with its real bands and minimums.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
from pathlib import Path

import yaml

from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE, SKIPPED, Answers, assess_all, assess_field
from flows.session import answered_count, is_complete, skipped_questions

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
MINI_TEXT = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
MINI = parse_questionnaire(MINI_TEXT, "mini.yaml")
SHIPPED = parse_questionnaire(
    (ROOT / "questionnaires" / "weltoffene-kommune.de.yaml").read_text(encoding="utf-8")
)
CITY, DISTRICT, MUNICIPALITY = (SHIPPED.for_type(t) for t in ("city", "district", "municipality"))


def mini_with(change: dict) -> Questionnaire:
    data = copy.deepcopy(yaml.safe_load(MINI_TEXT))
    data.update(change)
    return parse_questionnaire(yaml.safe_dump(data, allow_unicode=True), "mini-changed.yaml")


def field_answers(q: Questionnaire, field_id: str, values: list[str | None]) -> Answers:
    return dict(zip([x.id for x in q.field_questions(field_id)], values, strict=True))


# Municipality types ---------------------------------------------------------------------------


def test_parsing_returns_the_default_type_and_for_type_derives_the_others() -> None:
    assert MINI.municipality_type is not None and MINI.municipality_type.id == "city"
    district = MINI.for_type("district")
    assert district.municipality_type is not None and district.municipality_type.label == "Kreis"
    assert [x.id for x in MINI.field_questions("alpha")] == [
        "alpha.one",
        "alpha.two",
        "alpha.three",
    ]
    assert [x.id for x in district.field_questions("alpha")][-1] == "alpha.district"
    assert MINI.for_type() is MINI and MINI.for_type("city") is MINI
    assert district.for_type("city") is MINI and district.document is MINI.document
    assert len(MINI.document.questions) == 11


def test_each_type_has_its_own_stable_content_hash() -> None:
    district = MINI.for_type("district")
    assert len({MINI.content_hash, district.content_hash, MINI.document.content_hash}) == 3
    again = parse_questionnaire(MINI_TEXT, "again.yaml").for_type("district")
    assert again.content_hash == district.content_hash


def test_variants_list_every_type_once() -> None:
    variants = MINI.variants()
    assert [v.municipality_type.id for v in variants if v.municipality_type] == ["city", "district"]
    assert variants[0] is MINI and variants[1] is MINI.for_type("district")
    data = yaml.safe_load(MINI_TEXT)
    for key in ("municipality_types", "default_municipality_type", "terms"):
        del data[key]
    data["questions"] = [x for x in data["questions"] if "applies_to" not in x]
    for question in data["questions"]:
        question["suggestion"] = question["suggestion"].replace("{council}", "Rat")
    plain = parse_questionnaire(yaml.safe_dump(data, allow_unicode=True), "plain.yaml")
    assert plain.variants() == (plain,) and plain.for_type() is plain
    assert plain.municipality_type is None


def test_terms_are_resolved_per_type_in_every_text() -> None:
    district = MINI.for_type("district")
    assert (
        district.question("alpha.district").text == "Der Kreistag stimmt sich mit den Gemeinden ab."
    )
    assert district.question("gamma.council").suggestion == (
        "Schlagen Sie dem Kreistag einen Integrationsrat vor."
    )
    assert MINI.question("gamma.council").suggestion == (
        "Schlagen Sie dem Rat einen Integrationsrat vor."
    )
    assert "{council}" in MINI.document.question("gamma.council").suggestion


def test_shipped_wording_differs_only_where_the_terms_do() -> None:
    assert "Der Rat " in CITY.question("management.council_report").text
    assert "Der Kreistag " in DISTRICT.question("management.council_report").text
    assert "Der Gemeinde- oder Stadtrat " in MUNICIPALITY.question("management.council_report").text
    assert "Landrätin/Landrat" in DISTRICT.question("management.leadership").text
    assert "Bürgermeisterin/Bürgermeister" in MUNICIPALITY.question("management.leadership").text
    assert "Kreisordnung" in DISTRICT.question("engagement.advisory_body").suggestion


def test_applies_to_filters_progress_score_and_minimum() -> None:
    district = MINI.for_type("district")
    answers = {"alpha.one": "full", "alpha.two": "full", "alpha.district": "none"}
    city_result = assess_field(MINI, "alpha", answers)
    district_result = assess_field(district, "alpha", answers)
    assert (city_result.total, city_result.answered, city_result.score) == (3, 2, 100)
    assert (district_result.total, district_result.answered, district_result.score) == (4, 3, 67)
    assert answered_count(MINI, answers) == 2 and answered_count(district, answers) == 3
    # The shipped minimum follows each type's own number of questions.
    for q in (CITY, DISTRICT, MUNICIPALITY):
        count = len(q.field_questions("management"))
        assert assess_field(q, "management", {}).minimum == math.ceil(count * 66 / 100)
    assert len(DISTRICT.field_questions("management")) > len(CITY.field_questions("management"))


def test_answers_kept_after_a_type_change_do_not_count_and_do_not_block_completion() -> None:
    district = MINI.for_type("district")
    answers = {x.id: "full" for x in district.questions}
    assert is_complete(MINI, answers) and is_complete(district, answers)
    assert answered_count(MINI, answers) == 10
    assert assess_all(MINI, answers) == assess_all(
        MINI, {k: v for k, v in answers.items() if k != "alpha.district"}
    )


def test_estimated_minutes_follow_the_number_of_questions() -> None:
    document = SHIPPED.document
    assert CITY.estimated_minutes == document.estimated_minutes
    assert MUNICIPALITY.estimated_minutes <= CITY.estimated_minutes


# "entfällt" -----------------------------------------------------------------------------------


def test_not_applicable_counts_neither_way_and_is_not_to_be_clarified() -> None:
    answers = {"gamma.clubs": "full", "gamma.events": "none", "gamma.council": NOT_APPLICABLE}
    result = assess_field(MINI, "gamma", answers)
    assert (result.answered, result.skipped, result.not_applicable, result.open) == (2, 0, 1, 0)
    assert result.complete and result.applicable == 2
    assert result.score == 50
    assert result.skipped_question_ids == ()
    assert skipped_questions(MINI, answers) == []
    with_skip = assess_field(MINI, "gamma", {**answers, "gamma.council": SKIPPED})
    assert with_skip.score == 50 and with_skip.skipped == 1 and with_skip.not_applicable == 0


def test_not_applicable_lowers_the_minimum_with_the_applicable_questions() -> None:
    q = mini_with({"result_rules": {"min_answered_percent": 100}})
    answers = {"gamma.clubs": "full", "gamma.events": "full"}
    assert assess_field(q, "gamma", answers).too_few_answers
    assert assess_field(q, "gamma", answers).missing_answers == 1
    marked = assess_field(q, "gamma", {**answers, "gamma.council": NOT_APPLICABLE})
    assert marked.minimum == 2 and marked.score == 100


def test_stored_value_of_not_applicable_cannot_be_an_option_id() -> None:
    assert MINI.scale.option(NOT_APPLICABLE) is None
    assert not NOT_APPLICABLE[0].isalnum()


# Minimum and what is missing ------------------------------------------------------------------


def test_below_two_thirds_the_result_says_how_many_answers_are_missing() -> None:
    questions = CITY.field_questions("management")
    minimum = math.ceil(len(questions) * 66 / 100)
    below = {x.id: "full" for x in questions[: minimum - 1]}
    result = assess_field(CITY, "management", below)
    assert result.too_few_answers and result.missing_answers == 1
    assert result.minimum == minimum
    enough = {x.id: "full" for x in questions[:minimum]}
    assert assess_field(CITY, "management", enough).score == 100


def test_access_needs_answers_in_most_subthemes_and_names_the_missing_ones() -> None:
    access = CITY.field_questions("access")
    subthemes = [s.id for s in CITY.field("access").subthemes]
    by_subtheme = {s: [x.id for x in access if x.subtheme == s] for s in subthemes}
    # Everything answered except three whole subthemes: enough answers, too few subthemes?
    missing = ["culture", "sport", "safety_law", "transport"]
    answers = {x.id: "mostly" for x in access if x.subtheme not in missing}
    result = assess_field(CITY, "access", answers)
    needed = math.ceil(len(subthemes) * 60 / 100)
    assert len(subthemes) - len(missing) < needed
    assert result.too_few_answers
    assert set(result.missing_subthemes) == set(missing)
    # One answer in one more subtheme is enough for the subtheme rule.
    answers[by_subtheme["culture"][0]] = "mostly"
    answers |= {x: "mostly" for x in by_subtheme["sport"]}
    result = assess_field(CITY, "access", answers)
    if result.missing_answers == 0:
        assert result.score is not None and result.missing_subthemes == ()


def test_subthemes_marked_not_applicable_do_not_count_as_missing() -> None:
    answers = {"beta.school": "full", "beta.daycare": "full"}
    q = mini_with({"result_rules": {"min_subthemes_percent": 100}})
    result = assess_field(q, "beta", answers)
    assert result.too_few_answers and result.missing_subthemes == ("housing",)
    flats_na = {**answers, "beta.flats": NOT_APPLICABLE, "beta.advice": NOT_APPLICABLE}
    assert assess_field(q, "beta", flats_na).score == 100


def test_per_subtheme_profile_of_fairer_zugang() -> None:
    access = CITY.field_questions("access")
    answers: dict[str, str | None] = {}
    for subtheme, questions in itertools.groupby(access, key=lambda x: x.subtheme):
        values = ["full", "none", SKIPPED] if subtheme == "housing" else ["mostly"]
        for question, value in zip(questions, itertools.cycle(values)):
            answers[question.id] = value
    result = assess_field(CITY, "access", answers)
    assert [s.subtheme_id for s in result.subthemes] == [
        s.id for s in CITY.field("access").subthemes
    ]
    housing = next(s for s in result.subthemes if s.subtheme_id == "housing")
    assert housing.title == "Wohnen"
    assert (housing.answered, housing.skipped, housing.open) == (
        housing.total - housing.skipped,
        1,
        0,
    )
    assert all(s.score == 67 for s in result.subthemes if s.subtheme_id != "housing")
    assert assess_field(CITY, "management", answers).subthemes == ()


# Bands, named items, suggestions ------------------------------------------------------------


def test_two_full_and_ten_mostly_are_not_yet_well_positioned() -> None:
    questions = CITY.field_questions("opening")[:12]
    answers = {x.id: "mostly" for x in questions}
    answers |= {questions[0].id: "full", questions[1].id: "full"}
    result = assess_field(CITY, "opening", answers)
    assert result.score == 72
    assert result.band is not None and result.band.id == "underway"


def test_band_edges_of_the_shipped_bands() -> None:
    assert [(b.id, b.min, b.max) for b in SHIPPED.bands] == [
        ("beginning", 0, 39),
        ("underway", 40, 79),
        ("strong", 80, 100),
    ]
    assert SHIPPED.band_for(79).id == "underway" and SHIPPED.band_for(80).id == "strong"
    assert SHIPPED.band_for(39).id == "beginning" and SHIPPED.band_for(40).id == "underway"


def test_strongest_and_weakest_items_are_named_by_topic() -> None:
    answers = {"alpha.one": "full", "alpha.two": "partly", "alpha.three": "mostly"}
    result = assess_field(MINI, "alpha", answers)
    assert [i.question_id for i in result.strongest] == ["alpha.one", "alpha.three"]
    assert [i.question_id for i in result.weakest] == ["alpha.two"]
    assert result.strongest[0].topic == "Die Kommune hat ein Leitbild."  # no topic: the text
    district = MINI.for_type("district")
    low = assess_field(district, "alpha", {"alpha.district": "none"})
    assert low.weakest[0].topic == "Abstimmung mit den Gemeinden"
    assert low.weakest[0].answer == "trifft nicht zu"


def test_band_suggestions_never_build_on_what_the_person_said_is_missing() -> None:
    questions = CITY.field_questions("management")
    answers = {x.id: "full" for x in questions}
    strong = assess_field(CITY, "management", answers)
    assert strong.band is not None and strong.band.id == "strong"
    extend = "Erweitern Sie den Diversity-Check"
    assert any(s.startswith(extend) for s in strong.band_suggestions)
    answers["management.diversity_check"] = "none"
    without = assess_field(CITY, "management", answers)
    assert without.band is not None and without.band.id == "strong"
    assert not any(s.startswith(extend) for s in without.suggestions)


def test_band_suggestion_is_merged_into_the_same_item_suggestion() -> None:
    questions = CITY.field_questions("management")
    answers = {x.id: "partly" for x in questions}
    result = assess_field(CITY, "management", answers)
    assert result.band is not None and result.band.id == "beginning"
    assert "management.unit" in {g.question_id for g in result.gap_suggestions}
    assert not any(s.startswith("Benennen Sie eine Stelle") for s in result.band_suggestions)
    answers["management.unit"] = "mostly"
    result = assess_field(CITY, "management", answers)
    assert any(s.startswith("Benennen Sie eine Stelle") for s in result.band_suggestions)


def test_no_near_duplicate_suggestions_in_any_shipped_result() -> None:
    """Every type, every field, answers from all-low to all-high: no two suggestions alike.

    The same pair turns up in many results; each distinct pair is compared once (difflib is
    what makes this test slow), with the first result it was seen in for the message.
    """
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    for q in (CITY, DISTRICT, MUNICIPALITY):
        for field in q.fields:
            questions = q.field_questions(field.id)
            for option in q.scale.options:
                for low in range(len(questions) + 1):
                    answers = {x.id: option.id for x in questions}
                    answers |= {x.id: "none" for x in questions[:low]}
                    suggestions = assess_field(q, field.id, answers).suggestions
                    for pair in itertools.combinations(suggestions, 2):
                        pairs.setdefault(pair, (q.municipality_type, field.id))
    assert pairs
    for (a, b), where in pairs.items():
        ratio = difflib.SequenceMatcher(None, a, b).ratio()
        assert ratio < 0.6, (*where, a, b)
