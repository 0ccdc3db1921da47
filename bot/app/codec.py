"""Every button's data, encoded and decoded in one place (Telegram allows 1–64 bytes).

This module owns every prefix: the self-check's own buttons, group actions (`g:`), the workshop
page's actions (`w:`), the person's own result PDF (`d`), the join dialogue (`j:`, `p:`), a
group's municipality type (`gt:`), the person's own type (`t:`), a person's data rights (`d:`
delete, `l:` leave a group), the admins' reset confirmation (`adm:`) and going on with the
active questionnaire version (`u`). `parse` turns any data into a typed press or None, so
forged or oddly formed data (other digits than 0-9, numbers too long to be ids) is refused in
one place, like any unknown button.

Question and option are referenced by their position in the session's own questionnaire
version; answer, skip, keep ("weiter") and back carry the session revision they were shown at,
so stale or repeated presses are recognised. Join buttons name the group they consent to
(`j:y:<group>`, `p:<group>:<perspective>`), so one from an earlier invitation is stale.
Self-check buttons never name a session or a user: the session is always the presser's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.questionnaire import Questionnaire
from flows.session import (
    AnswerQuestion,
    Event,
    GoBack,
    KeepAnswer,
    MarkNotApplicable,
    OpenField,
    OpenMenu,
    Resume,
    ReviewSkipped,
    ShowResults,
    SkipQuestion,
)

RESTART_CONFIRM = "x:y"
RESTART_CANCEL = "x:n"
MENU = "m"
RESULTS = "r"
REVIEW = "v"
RESUME = "c"
TYPE_CHOICE = "t"
ADOPT_ACTIVE = "u"
"""Go on with the active questionnaire version: the answer to `SelfCheck.version_unavailable`."""

_PATTERN = re.compile(
    r"^(?:a:([0-9]{1,9}):([0-9]{1,4}):([0-9]{1,2})|s:([0-9]{1,9}):([0-9]{1,4})"
    r"|b:([0-9]{1,9})|f:([0-9]{1,2})|F:([0-9]{1,2})|n:([0-9]{1,9}):([0-9]{1,4}))$"
)
_KEEP = re.compile(r"^k:([0-9]{1,9}):([0-9]{1,4})$")
_TYPE = re.compile(r"^t:([0-9]{1,2})$")
_GROUP = re.compile(r"^g:([rconNta]):([0-9]{1,12})$")
_GROUP_TYPE = re.compile(r"^gt:([0-9]{1,12}):([0-9]{1,2})$")
_JOIN = re.compile(r"^j:([yn]):([0-9]{1,12})$")
_PERSPECTIVE = re.compile(r"^p:([0-9]{1,12}):([0-9]{1,2})$")
_WORKSHOP = re.compile(r"^w:([lnp]):([0-9]{1,12})$")
_RESET = re.compile(r"^adm:r:([0-9]{1,15}):([0-9]{1,12})$")

_LEAVE = re.compile(r"^l:y:([0-9]{1,12})$")

DELETE_YES = "d:y"
DELETE_NO = "d:n"
LEAVE_NO = "l:n"
RESET_CANCEL = "adm:n"
RESULT_PDF = "d"


@dataclass(frozen=True)
class SelfCheckPress:
    """A button of the self-check itself; what it means depends on the session's questionnaire."""

    data: str


@dataclass(frozen=True)
class GroupPress:
    """A coordinator's action on a group.

    Report, close, open, new round (asked, confirmed), type, or the list of all its actions.
    """

    action: str
    group_id: int | None  # None: data of a group button that is malformed, refused as such


@dataclass(frozen=True)
class WorkshopPress:
    """A coordinator's workshop action on a group: link (`l`), new link (`n`), PDF (`p`)."""

    action: str
    group_id: int | None  # None: malformed data, refused like any unknown group


@dataclass(frozen=True)
class ResultPdfPress:
    """ "📄 Ergebnis als PDF": the presser's own result; it never names a session or a user."""


@dataclass(frozen=True)
class AdoptActivePress:
    """ "Mit der aktuellen Fassung weitermachen": the presser's own session, like every
    self-check button; it never names a session, a user or a version."""


@dataclass(frozen=True)
class GroupTypePress:
    """A coordinator sets the group's municipality type (index into the declared types)."""

    group_id: int | None  # None: malformed data, refused like any forged group button
    type_index: int = 0


@dataclass(frozen=True)
class JoinPress:
    """Consent to joining group `group_id` (`consent` True/False) or a perspective's index there.

    The group is named in the data so a button from an earlier invitation can never consent to
    a later one; `group_id` None is data of a join button that is malformed (or from before
    buttons named their group), refused as stale.
    """

    group_id: int | None
    consent: bool | None = None
    perspective: int | None = None


@dataclass(frozen=True)
class ResetPress:
    """An admin confirms (`user_id`, `session_id`) or cancels (both None) a reset."""

    user_id: int | None = None
    session_id: int | None = None


@dataclass(frozen=True)
class RightsPress:
    """A person confirms or cancels deleting their data ("delete") or leaving a group ("leave").

    `confirmed` False is a cancel; a leave confirmation names the group it was asked for.
    """

    action: str
    confirmed: bool
    group_id: int | None = None


Pressed = (
    SelfCheckPress
    | AdoptActivePress
    | GroupPress
    | GroupTypePress
    | WorkshopPress
    | ResultPdfPress
    | JoinPress
    | ResetPress
    | RightsPress
)


def leave(group_id: int) -> str:
    return f"l:y:{group_id}"


def group(action: str, group_id: int) -> str:
    return f"g:{action}:{group_id}"


def join(group_id: int, consent: bool) -> str:
    return f"j:{'y' if consent else 'n'}:{group_id}"


def perspective(group_id: int, index: int) -> str:
    return f"p:{group_id}:{index}"


def group_type(group_id: int, index: int) -> str:
    return f"gt:{group_id}:{index}"


def workshop(action: str, group_id: int) -> str:
    return f"w:{action}:{group_id}"


def reset(user_id: int, session_id: int) -> str:
    return f"adm:r:{user_id}:{session_id}"


def parse(data: str | None) -> Pressed | None:
    """The kind of button `data` belongs to, or None when it is no button of this bot."""
    if not data:
        return None
    if data.startswith("g:"):
        match = _GROUP.match(data)
        return GroupPress(match[1], int(match[2])) if match else GroupPress("", None)
    if data.startswith("j:"):
        match = _JOIN.match(data)
        return JoinPress(int(match[2]), consent=match[1] == "y") if match else JoinPress(None)
    if data.startswith("gt:"):
        match = _GROUP_TYPE.match(data)
        return GroupTypePress(int(match[1]), int(match[2])) if match else GroupTypePress(None)
    if data.startswith("w:"):
        match = _WORKSHOP.match(data)
        return WorkshopPress(match[1], int(match[2])) if match else WorkshopPress("", None)
    if data == RESULT_PDF:
        return ResultPdfPress()
    if data == ADOPT_ACTIVE:
        return AdoptActivePress()
    if data.startswith("p:"):
        match = _PERSPECTIVE.match(data)
        return JoinPress(int(match[1]), perspective=int(match[2])) if match else JoinPress(None)
    if data in (DELETE_YES, DELETE_NO):
        return RightsPress("delete", data == DELETE_YES)
    if data == LEAVE_NO:
        return RightsPress("leave", False)
    if data.startswith("l:"):
        match = _LEAVE.match(data)
        return RightsPress("leave", True, int(match[1])) if match else None
    if data == RESET_CANCEL:
        return ResetPress()
    if data.startswith("adm:"):
        match = _RESET.match(data)
        return ResetPress(int(match[1]), int(match[2])) if match else None
    return SelfCheckPress(data)


def answer(revision: int, question: int, option: int) -> str:
    return f"a:{revision}:{question}:{option}"


def skip(revision: int, question: int) -> str:
    return f"s:{revision}:{question}"


def keep(revision: int, question: int) -> str:
    """ "weiter": go on from an answered question, leaving its answer as it is."""
    return f"k:{revision}:{question}"


def not_applicable(revision: int, question: int) -> str:
    return f"n:{revision}:{question}"


def municipality_type(index: int) -> str:
    """Choose the type at this index of the questionnaire's declared types (the person's own)."""
    return f"t:{index}"


def back(revision: int) -> str:
    return f"b:{revision}"


def open_field(number: int, from_start: bool = False) -> str:
    return f"{'F' if from_start else 'f'}:{number}"


@dataclass(frozen=True)
class Decoded:
    """One of: a flow event, a restart answer, asking for the type choice, or a chosen type."""

    event: Event | None = None
    restart: bool | None = None
    choose_type: bool = False
    municipality_type: str | None = None


def decode(data: str | None, questionnaire: Questionnaire) -> Decoded | None:
    """The event a button stands for, or None for data that is forged or unknown."""
    if not data:
        return None
    simple: dict[str, Event] = {
        MENU: OpenMenu(),
        RESULTS: ShowResults(),
        REVIEW: ReviewSkipped(),
        RESUME: Resume(),
    }
    if data in simple:
        return Decoded(simple[data])
    if data in (RESTART_CONFIRM, RESTART_CANCEL):
        return Decoded(restart=data == RESTART_CONFIRM)
    kept = _KEEP.match(data)
    if kept:
        question = _question(questionnaire, int(kept[2]))
        return Decoded(KeepAnswer(question, int(kept[1]))) if question else None
    if data == TYPE_CHOICE:
        return Decoded(choose_type=True) if questionnaire.document.municipality_types else None
    type_match = _TYPE.match(data)
    if type_match:
        types = questionnaire.document.municipality_types
        index = int(type_match[1])
        return Decoded(municipality_type=types[index].id) if index < len(types) else None
    match = _PATTERN.match(data)
    if not match:
        return None
    a_rev, a_q, a_o, s_rev, s_q, b_rev, f_n, fs_n, n_rev, n_q = match.groups()
    if a_rev is not None:
        question = _question(questionnaire, int(a_q))
        options = questionnaire.scale.options
        if question is None or int(a_o) >= len(options):
            return None
        return Decoded(AnswerQuestion(question, options[int(a_o)].id, int(a_rev)))
    if s_rev is not None:
        question = _question(questionnaire, int(s_q))
        return Decoded(SkipQuestion(question, int(s_rev))) if question else None
    if n_rev is not None:
        question = _question(questionnaire, int(n_q))
        return Decoded(MarkNotApplicable(question, int(n_rev))) if question else None
    if b_rev is not None:
        return Decoded(GoBack(int(b_rev)))
    number = int(f_n if f_n is not None else fs_n)
    if number >= len(questionnaire.fields):
        return None
    return Decoded(OpenField(questionnaire.fields[number].id, from_start=fs_n is not None))


def _question(questionnaire: Questionnaire, number: int) -> str | None:
    if number >= len(questionnaire.questions):
        return None
    return questionnaire.questions[number].id
