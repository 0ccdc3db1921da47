"""Disclosure control: what of a group's completed checks may be published, to whom, and when.

Every group figure a person sees (the chat report, the workshop page, the PDF) is taken from a
`PublishedReport`, and only this package makes one. The rules and their reasons are written up in
`docs/privacy.md`; in short:

- A *release* is a report over a frozen set of completed checks (`Release`). A later release
  exists only when at least `k` checks were added, changed or removed since the last one
  (`next_release`), besides those of coordinators who took part, so two releases never differ
  by one person. A closed round gets no new release: its picture stays as the workshop saw it;
  nor does a round in another municipality type than its releases were made with.
- What changed is told by *markers* made from the stored answers only (`Given`, `_markers`):
  one per check and field, one per stored answer. Neither the group's type nor an admin's
  reload of the questionnaire changes them; only a changed answer does.
- Every figure rests on at least `k` checks (`k` = `GROUP_MIN_SIZE`); a perspective's mean is also
  withheld while the rest of the field would be fewer than `k` (complementary suppression).
- Differencing: the attacker may subtract any two published sums of the same quantity, across
  all releases. Every such subtraction yields a union of *cells* (people who were counted in
  exactly the same published figures); every cell must hold at least `k` people, otherwise the
  figure that would create the smaller cell is withheld. A changed field counts as a new person
  (the old and the new answers are different unknowns), a removed check as a cell of its own.
- No extreme values of small sets: no minimum, maximum or spread is ever published. The spread
  of a field is shown as counts per band (the questionnaire's own bands), only where no
  individual score follows from mean and counts — also for someone who knows their own score
  (interval audit, see `_narrowest`) — and only where two bands hold two people each, so that
  nobody's band follows either (never below 4 checks). A mean so close to 0 or 100 that every
  score is pinned (e.g. "Ø 0,0": all answered "trifft nicht zu") is withheld too.
- Per-question figures need `QUESTION_FACTOR`·`k` answers and show the mean only (never a mean
  with a spread, which yields the answers' multiset for small n), and never when the answers
  — or all but one of them — are unanimous.
- The viewers: a coordinator who took part knows their own answers. A figure is shown only if
  every cell (across the round's releases) that holds a coordinator who took part holds `k`
  others too, for each of them (`for_viewers`); chat, page and PDF all show that one view.
- A withheld figure says why only where the reason is a count everybody sees (`said`); every
  other reason gets one neutral sentence.
- A field's subtheme profile (`PublishedSubtheme`): each subtheme's mean agreement over all
  its answers, from `QUESTION_FACTOR`·k checks with an answer there, audited together with the
  subtheme's statements and earlier releases as one family of answer sums, cut into cells of
  single answers (`_subtheme_family`): subtheme minus statement must not pin anyone either.
- What to clarify (`PublishedUnclear`): the statements most often skipped, in order only, never
  with a count; each skipped by at least k of at least 2k, audited as if its count were public.

The published types are plain frozen dataclasses (no pydantic in the process serving answers);
a release is stored as JSON and shown again unchanged through the store's codec
(`bot.store.release_json`, which validates with pydantic there and only there):

- `PublishedReport` — one release as a viewer may see it: `release` (number, 0 = none yet),
  `published_at`, `completed` (checks in the release), `min_group` (k), `missing` (checks still
  needed before any figure appears), `perspective_counts` (only perspectives with at least k
  people), `unnamed` (people in smaller or no perspectives, together), `perspective_notes` (why a
  perspective is not shown, once per report), `fields`, `divergent`, `priorities`, `unclear`.
- `PublishedField(field_id, title, n, mean, band, band_counts, by_perspective, change,
  withheld_reason, subthemes)` — `mean`/`band` None = withheld, `withheld_reason` says why;
  `band_counts` None = the distribution is withheld while the mean is shown (it would pin a
  score). `n` is audited as a count of "has a score here" (`_absence_audit`).
- `PublishedPerspective(perspective_id, label, n, mean, withheld_reason)`.
- `PublishedQuestion(question_id, field_id, text, suggestion, n, mean)` — mean on 0–100.
- `BandCount(band_id, label, count)`.
- `PublishedSubtheme(subtheme_id, title, n, mean, band, withheld_reason)`,
  `PublishedUnclear(question_id, field_id, text)`.

Withheld reasons are codes (`Reason`); renderings turn them into sentences from their locale.

The package, each module importing only those above it: `model` (the types and constants),
`audit` (cells and the audits), `markers` (markers, `Points`, reading older releases),
`fields`, `subthemes`, `questions` and `unclear` (what of each kind is published),
`releases` (gating and building a release, `nothing_yet`, `forget`) and `viewers`
(`for_viewers`, `whose`, `said`). Everything public is imported from here; names with a
leading underscore are shared between the package's modules only.
"""

from __future__ import annotations

from flows.disclosure.audit import cells
from flows.disclosure.markers import Markers, Points
from flows.disclosure.model import (
    FIELD_PROTECTION,
    MARKERS,
    QUESTION_FACTOR,
    QUESTION_PROTECTION,
    TOP,
    BandCount,
    Check,
    Frozen,
    Given,
    PerspectiveCount,
    PerspectiveNote,
    PublishedField,
    PublishedPerspective,
    PublishedQuestion,
    PublishedReport,
    PublishedSubtheme,
    PublishedUnclear,
    Reason,
    Release,
)
from flows.disclosure.releases import (
    build_release,
    changed_checks,
    forget,
    next_release,
    nothing_yet,
)
from flows.disclosure.viewers import for_viewers, said, whose

__all__ = [
    "FIELD_PROTECTION",
    "MARKERS",
    "QUESTION_FACTOR",
    "QUESTION_PROTECTION",
    "TOP",
    "BandCount",
    "Check",
    "Frozen",
    "Given",
    "Markers",
    "PerspectiveCount",
    "PerspectiveNote",
    "Points",
    "PublishedField",
    "PublishedPerspective",
    "PublishedQuestion",
    "PublishedReport",
    "PublishedSubtheme",
    "PublishedUnclear",
    "Reason",
    "Release",
    "build_release",
    "cells",
    "changed_checks",
    "for_viewers",
    "forget",
    "next_release",
    "nothing_yet",
    "said",
    "whose",
]
