"""The shipped questionnaire loads and has the structure the bot and the reports rely on."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "questionnaires" / "weltoffene-kommune.de.yaml"

FIELDS = [
    ("management", "Management und Steuerung"),
    ("opening", "Interkulturelle Öffnung und Antirassismus"),
    ("access", "Fairer Zugang und Teilhabe"),
    ("economy", "Arbeit und wirtschaftliche Entwicklung"),
    ("engagement", "Engagement und Beteiligung"),
    ("cohesion", "Zusammenhalt und Begegnung"),
    ("communication", "Kommunikation und Konfliktmanagement"),
]
ACCESS_SUBTHEMES = [
    "education",
    "language",
    "work_training",
    "housing",
    "health_care",
    "transport",
    "culture",
    "sport",
    "safety_law",
]


def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def load(text: str | None = None) -> Questionnaire:
    """Parse the shipped file (or a variant of its text) the way the bot does."""
    return parse_questionnaire(shipped_text() if text is None else text, SHIPPED.name)


def test_shipped_questionnaire_loads_with_metadata() -> None:
    q = load()
    assert q.id == "weltoffene-kommune"
    assert "Weltoffene Kommune" in q.title
    assert q.version.strip()
    assert q.language == "de"
    assert q.estimated_minutes >= 1
    assert q.introduction.strip()


def test_seven_fields_in_required_order_with_titles() -> None:
    q = load()
    assert [(f.id, f.title) for f in q.fields] == FIELDS


def test_question_count_in_expected_range_for_every_municipality_type() -> None:
    """Under an hour: 100–115 statements for each kind of municipality."""
    document = load().document
    assert [t.id for t in document.municipality_types] == ["city", "district", "municipality"]
    for kind in document.municipality_types:
        assert 100 <= len(document.for_type(kind.id).questions) <= 115, kind.id


def test_parsing_gives_the_default_type_and_each_type_its_own_hash() -> None:
    q = load()
    document = q.document
    assert q.municipality_type is not None and q.municipality_type.id == "city"
    hashes = {document.for_type(t.id).content_hash for t in document.municipality_types}
    assert len(hashes) == 3 and document.content_hash not in hashes
    assert load().for_type("district").content_hash == document.for_type("district").content_hash


def test_every_type_sees_resolved_wording_and_its_own_items() -> None:
    document = load().document
    texts = {}
    for kind in document.municipality_types:
        q = document.for_type(kind.id)
        for x in q.questions:
            for text in (x.text, x.hint or "", x.suggestion, x.short):
                assert "{" not in text and "}" not in text, (kind.id, x.id)
        for field in q.fields:
            for assessment in field.assessments.values():
                for suggestion in assessment.band_suggestions():
                    assert "{" not in suggestion.text, (kind.id, field.id)
        texts[kind.id] = {x.id: x.text for x in q.questions}
    assert "Kreistag" in texts["district"]["management.council_report"]
    assert "Gemeinde- oder Stadtrat" in texts["municipality"]["management.council_report"]
    assert "Der Rat " in texts["city"]["management.council_report"]
    assert "management.district_coordination" in texts["district"]
    assert "management.district_coordination" not in texts["city"]
    assert "opening.immigration_office_contact" in texts["municipality"]
    assert "opening.immigration_office_contact" not in texts["city"]


def test_every_question_names_its_topic_briefly() -> None:
    for question in load().document.questions:
        assert question.topic and len(question.topic) <= 60, question.id


def test_terms_the_expert_read_corrected() -> None:
    text = shipped_text()
    assert "Sperrvermerk" not in text
    assert "Auskunftssperre" in text and "§ 51" in text
    assert "§ 45b" in text and "Faire Mobilität" in text
    assert "§ 127 Abs. 3 GWB" in text
    assert "Fastenmonat" in text
    assert "Einheimische und Zugewanderte" not in text
    introduction = load().introduction
    assert "Einwanderungsgeschichte" in introduction and "eingewandert" in introduction


def test_access_is_the_largest_field_with_nine_subthemes() -> None:
    q = load()
    sizes = {f.id: len(q.field_questions(f.id)) for f in q.fields}
    assert max(sizes, key=sizes.__getitem__) == "access"
    assert all(size < sizes["access"] for fid, size in sizes.items() if fid != "access")
    access = q.field("access")
    assert [s.id for s in access.subthemes] == ACCESS_SUBTHEMES
    assert all(s.title.strip() for s in access.subthemes)


def test_access_questions_are_grouped_by_subtheme_in_declared_order() -> None:
    """The preview and the chat show a subtheme heading whenever the subtheme changes."""
    q = load()
    used = [q.subtheme for q in q.field_questions("access")]
    assert None not in used
    assert [key for key, _ in itertools.groupby(used)] == ACCESS_SUBTHEMES


def test_only_access_uses_subthemes() -> None:
    q = load()
    assert all(f.subthemes == [] for f in q.fields if f.id != "access")
    assert all(x.subtheme is None for x in q.questions if x.field != "access")


def test_every_question_has_text_and_suggestion() -> None:
    for question in load().questions:
        assert question.text.strip(), question.id
        assert question.suggestion.strip(), question.id


def test_ids_are_unique_and_prefixed_with_their_field() -> None:
    q = load()
    ids = [x.id for x in q.questions]
    assert len(ids) == len(set(ids))
    assert len({f.id for f in q.fields}) == len(q.fields)
    assert all(x.id.startswith(f"{x.field}.") for x in q.questions)


def test_every_field_can_reach_its_minimum_and_has_all_assessments() -> None:
    document = load().document
    assert document.result_rules.min_answered_percent in range(60, 71)
    for kind in document.municipality_types:
        q = document.for_type(kind.id)
        for field in q.fields:
            assert 1 <= field.min_answered <= len(q.field_questions(field.id))
    q = load()
    bands = {b.id for b in q.bands}
    for field in q.fields:
        assert set(field.assessments) == bands
        for assessment in field.assessments.values():
            assert assessment.text.strip()
            assert 2 <= len(assessment.suggestions) <= 4


def test_content_hash_is_stable_across_reloads() -> None:
    first = load().content_hash
    assert load().content_hash == first
    assert len(first) == 16


def test_content_hash_changes_when_a_text_changes() -> None:
    text = shipped_text()
    needle = "federführend für Integration und Vielfalt"
    assert text.count(needle) == 1
    changed = text.replace(needle, "federführend für Integration")
    assert load(changed).content_hash != load().content_hash


def test_content_hash_ignores_comments_and_formatting() -> None:
    """Authors may reformat or comment the file without orphaning stored answers."""
    text = shipped_text()
    commented = "# Kommentar ganz oben\n" + text.replace(
        "\nquestions:\n", "\n# noch ein Kommentar\nquestions:   # und hier\n", 1
    )
    assert commented != text
    reformatted = yaml.safe_dump(
        yaml.safe_load(text), allow_unicode=True, sort_keys=True, width=60, indent=4
    )
    original = load().content_hash
    assert load(commented).content_hash == original
    assert load(reformatted).content_hash == original


def test_gender_inclusive_language_is_used() -> None:
    """Light content check: the texts address people with the gender star."""
    q = load()
    texts = [q.introduction, *(x.text for x in q.questions), *(x.suggestion for x in q.questions)]
    for field in q.fields:
        texts += [field.introduction]
        for assessment in field.assessments.values():
            texts += [assessment.text, *(s.text for s in assessment.band_suggestions())]
    assert any("*innen" in t for t in texts)


def test_content_hash_ignores_the_order_of_assessment_keys() -> None:
    """`assessments` is a mapping keyed by band id; listing them in another order is formatting."""
    data = yaml.safe_load(shipped_text())
    for field in data["fields"]:
        field["assessments"] = dict(reversed(list(field["assessments"].items())))
    reordered = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    assert load(reordered).content_hash == load().content_hash
