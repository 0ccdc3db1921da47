"""Groups: the independent calculation and the chat drivers, and the Telegram side end to end.

Here over real HTTP: a new group's deep links and its QR code photo. The behaviour (joining,
reports figure by figure, rounds, refusals) runs in-process in `test_groups.py` with these same
drivers and this same calculation.

Every figure in the report is checked against a calculation done here from the answer patterns
and the questionnaire file (not with the bot's own scoring code):

    field score = round-half-up(100 * sum(points) / (3 * answered)) over the answered questions
    field mean  = mean of the participants' field scores, one decimal, half up, decimal comma
    band        = band of the mean rounded half up to a whole number
    band counts = how many participants' field scores fall into each band

and a curious coordinator's attacks (inversion, differencing between reports, subtracting one's
own answers, isolating a perspective) are run on the figures exactly as the chat shows them.

Each participant answers question number k (0-based, over the whole questionnaire) with the
option index `choice(seed, k)`, which is (seed + k) % 4 for most questions, skips some, and puts
a field-dependent answer on every third question so the fields land in different bands.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import segno
import yaml

from tests.harness import InProcessBot
from tests.stored import query
from tests.telegram_server import SimulatedUser, StoredMessage

ROOT = Path(__file__).resolve().parent.parent
SOURCE = yaml.safe_load(
    (ROOT / "questionnaires" / "weltoffene-kommune.de.yaml").read_text(encoding="utf-8")
)
FIELDS: list[dict] = SOURCE["fields"]
DEFAULT_TYPE = SOURCE["default_municipality_type"]
# The bot asks what the default municipality type sees: questions without `applies_to` or with it.
QUESTIONS: list[dict] = [
    question
    for question in SOURCE["questions"]
    if DEFAULT_TYPE in question.get("applies_to", [DEFAULT_TYPE])
]
TOTAL = len(QUESTIONS)
# The default type's wording for `{council}` and the like, as the bot shows the texts.
TERMS = {name: wording[DEFAULT_TYPE] for name, wording in SOURCE.get("terms", {}).items()}
FIRST_FIELD_SIZE = sum(1 for question in QUESTIONS if question["field"] == FIELDS[0]["id"])
MIN_PERCENT = SOURCE["result_rules"]["min_answered_percent"]
FIELD_INDEX = {field["id"]: i for i, field in enumerate(FIELDS)}
POINTS = [option["points"] for option in SOURCE["scale"]["options"]]  # by option index
MAX_POINTS = max(POINTS)
BANDS = [(band["min"], band["max"], band["label"]) for band in SOURCE["bands"]]

LINK = re.compile(r"https://t\.me/selbstcheck_test_bot\?start=(\S+)")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
NAME = "Stadt Musterstadt"

Choice = Callable[[int], int | None]


def choice(seed: int, k: int) -> int | None:
    """Option index for question number k of participant `seed`; None means skip."""
    if (k + 4 * seed) % 9 == 0:
        return None
    field = FIELD_INDEX[QUESTIONS[k]["field"]]
    # Field 1 mostly "trifft voll zu", field 2 mostly "trifft nicht zu": every band appears.
    if field == 0:
        return 0 if (seed + k) % 5 else 1
    if field == 1:
        return 3 if (seed + k) % 5 else 2
    if (seed + k + field) % 3:
        return (seed + k) % 4
    return field % 4 if field < 4 else 0


def pattern(seed: int) -> Choice:
    return lambda k: choice(seed, k)


# -- the independent calculation -------------------------------------------------------------


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def german(value: Fraction) -> str:
    """One decimal, half up, decimal comma: Fraction(698, 10) -> '69,8'."""
    tenths = half_up(value * 10)
    return f"{tenths // 10},{tenths % 10}"


def band_label(score: int) -> str:
    return next(label for low, high, label in BANDS if low <= score <= high)


def field_scores(seed: int) -> list[int]:
    """The participant's score per field (every field has enough answers with these patterns)."""
    scores = []
    for field in FIELDS:
        points = [
            POINTS[option]
            for k, question in enumerate(QUESTIONS)
            if question["field"] == field["id"] and (option := choice(seed, k)) is not None
        ]
        in_field = sum(1 for question in QUESTIONS if question["field"] == field["id"])
        minimum = math.ceil(in_field * MIN_PERCENT / 100)
        assert len(points) >= minimum, "pattern leaves a field without a score"
        scores.append(half_up(Fraction(100 * sum(points), MAX_POINTS * len(points))))
    return scores


@dataclass(frozen=True)
class FieldLine:
    number: int
    title: str
    mean: Fraction
    counts: tuple[int, ...]  # per band, in the questionnaire's order
    n: int

    @property
    def text(self) -> str:
        band = band_label(half_up(self.mean))
        return (
            f"{self.number}. {self.title}\nØ {german(self.mean)} – {band} · {self.n} Selbstchecks"
        )

    @property
    def distribution(self) -> str:
        return "Verteilung: " + " · ".join(
            f"{label} {count}" for (_, _, label), count in zip(BANDS, self.counts, strict=True)
        )


def expected_fields(seeds: list[int]) -> list[FieldLine]:
    per_person = [field_scores(seed) for seed in seeds]
    lines = []
    for i, field in enumerate(FIELDS):
        scores = [person[i] for person in per_person]
        mean = Fraction(sum(scores), len(scores))
        counts = tuple(sum(1 for s in scores if low <= s <= high) for low, high, _ in BANDS)
        lines.append(FieldLine(i + 1, field["title"], mean, counts, len(scores)))
    return lines


def assert_field_shown(report: str, line: FieldLine) -> None:
    """Mean, band and n as computed here; the distribution, where shown, as computed here."""
    assert line.text in report, line.text
    after = report.split(line.text, 1)[1].split("\n\n", 1)[0]
    shown = after.split("\n")[1]
    assert shown in (line.distribution, "Verteilung: hier nicht ausgewiesen"), (line.text, shown)
    if shown == line.distribution:
        # Counts only where two bands hold two people each (nobody's band follows).
        assert sum(1 for c in line.counts if c >= 2) >= 2


# -- the attacker, on the chat's text --------------------------------------------------------

FIELD_FIGURES = re.compile(
    r"(\d+)\. [^\n]+\nØ (\d+),(\d) – [^·\n]+ · (\d+) Selbstchecks[^\n]*"
    r"(?:\nVerteilung: (?:hier nicht ausgewiesen|am Anfang (\d+) · auf dem Weg (\d+) · "
    r"gut aufgestellt (\d+)))?"
)


def shown_figures(report: str) -> dict[int, tuple[int, int, tuple[int, ...] | None]]:
    """field index -> (n, mean in tenths, band counts or None), read from the chat text."""
    figures = {}
    for match in FIELD_FIGURES.finditer(report):
        counts = tuple(int(c) for c in match.groups()[4:]) if match[5] else None
        figures[int(match[1]) - 1] = (int(match[4]), int(match[2]) * 10 + int(match[3]), counts)
    return figures


def sums_for(n: int, mean_tenths: int) -> list[int]:
    """Whole score sums of n people whose shown mean (one decimal, half up) is this."""
    return [s for s in range(100 * n + 1) if half_up(Fraction(10 * s, n)) == mean_tenths]


def possible(sums: list[int], others: list[tuple[int, int]], own: tuple[int, int]) -> set[int]:
    low, high = sum(a for a, _ in others), sum(b for _, b in others)
    return {v for v in range(own[0], own[1] + 1) if any(low <= s - v <= high for s in sums)}


def band_range(score: int) -> tuple[int, int]:
    return next((low, high) for low, high, _ in BANDS if low <= score <= high)


def attack(
    reports: list[str], members: list[list[int]], known: list[int] = ()
) -> list[tuple[str, int, set[int]]]:
    """Run inversion and differencing on consecutive reports; `members[i]` are report i's seeds.

    `known` are seeds whose answers the attacker knows (its own); returns what it learns about
    everyone else per field: (attack, seed, possible scores), each asserted to hold the truth.
    """
    learned = []
    for index, report in enumerate(reports):
        figures = shown_figures(report)
        groups = [("inversion", members[index], figures, {})]
        if index:
            before = shown_figures(reports[index - 1])
            new = [s for s in members[index] if s not in members[index - 1]]
            diff = {}
            for f, (n, mean, counts) in figures.items():
                if f in before and new:
                    n0, mean0, counts0 = before[f]
                    sums = sorted({a - b for a in sums_for(n, mean) for b in sums_for(n0, mean0)})
                    delta = (
                        tuple(a - b for a, b in zip(counts, counts0, strict=True))
                        if counts and counts0
                        else None
                    )
                    diff[f] = (n - n0, sums, delta)
            groups.append(("differencing", new, diff, {}))
        for name, seeds, table, _ in groups:
            for f, (n, mean_or_sums, counts) in table.items():
                sums = mean_or_sums if isinstance(mean_or_sums, list) else sums_for(n, mean_or_sums)
                scores = {s: field_scores(s)[f] for s in seeds}
                assert len(scores) == n
                ranges = {s: band_range(v) if counts else (0, 100) for s, v in scores.items()}
                for own in known:
                    if own in scores:
                        value = scores.pop(own)
                        sums = [x - value for x in sums]
                        ranges.pop(own)
                for seed, true in scores.items():
                    others = [r for s, r in ranges.items() if s != seed]
                    found = possible(sums, others, ranges[seed])
                    assert true in found, (name, f, seed)
                    learned.append((name, seed, found))
    return learned


def expected_question_lists(seeds: list[int]) -> tuple[list[str], list[str]]:
    """(discussion points, priorities) as rendered: five each, by variance / by mean.

    A statement needs six answers, and none whose answers (or all but one of them) are all
    "trifft voll zu" or all "trifft nicht zu": the mean would tell each of those answers.
    """
    stats = []
    for k, question in enumerate(QUESTIONS):
        points = [POINTS[option] for seed in seeds if (option := choice(seed, k)) is not None]
        if len(points) < 6:
            continue
        subsets = [points] + [points[:i] + points[i + 1 :] for i in range(len(points))]
        if any(len(set(sub)) == 1 and sub[0] in (0, MAX_POINTS) for sub in subsets):
            continue
        values = [Fraction(p * 100, MAX_POINTS) for p in points]
        mean = sum(values, Fraction(0)) / len(values)
        variance = sum((v - mean) ** 2 for v in values) / len(values)
        stats.append((k, question, mean, variance))

    def line(stat: tuple[int, dict, Fraction, Fraction]) -> str:
        _, question, mean, _ = stat
        text, suggestion = (
            re.sub(r"\{([a-z0-9_]+)\}", lambda m: TERMS.get(m[1], m[0]), question[key])
            for key in ("text", "suggestion")
        )
        return f"• {text} (Ø {german(mean)})\n  ➜ {suggestion}"

    divergent = sorted((s for s in stats if s[3] > 0), key=lambda s: (-s[3], s[0]))
    priorities = sorted(stats, key=lambda s: (s[2], s[0]))
    return [line(s) for s in divergent[:5]], [line(s) for s in priorities[:5]]


# -- driving the chat ------------------------------------------------------------------------


def text_of(message: StoredMessage) -> str:
    return message.visible_text or ""


def live(user: SimulatedUser) -> StoredMessage:
    """The newest bot message with an inline keyboard."""
    return [m for m in user.messages if m.inline_buttons][-1]


def data_of(message: StoredMessage) -> list[str]:
    return [b.get("callback_data", "") for b in message.inline_buttons]


async def answer_questions(user: SimulatedUser, choose: Choice, limit: int | None = None) -> int:
    """Press through the check from wherever the person is, with the answer buttons' own data.

    Answers `limit` questions (all, if None) and returns how many it answered. Between questions
    it presses the "▶️" button (Los geht’s / Weitermachen / Weiter: <next field>).
    """
    given = 0
    user.mark_seen()
    while True:
        message = live(user)
        data = data_of(message)
        answers = [d for d in data if d.startswith("a:")]
        if answers:
            if limit is not None and given >= limit:
                return given
            _, revision, number, _ = answers[0].split(":")
            option = choose(int(number))
            wanted = f"s:{revision}:{number}" if option is None else answers[option]
            assert wanted in data and wanted.startswith(("a:", "s:"))
            if option is not None:
                assert wanted == f"a:{revision}:{number}:{option}"
            given += 1
        else:
            onward = [b for b in message.inline_buttons if b["text"].startswith("▶️")]
            if onward:
                wanted = onward[0]["callback_data"]
            elif "t:0" in data:  # on one's own, the municipality type comes first: the default
                wanted = "t:0"
            else:
                await user.wait_until_idle()
                return given
        before = message.reply_markup
        await user.press_data(message.message_id, wanted)
        await user.wait_for_message(
            lambda m, mid=message.message_id, old=before: (
                m.message_id == mid and m.reply_markup != old
            )
        )


async def reply_text(user: SimulatedUser, command: str, payload: str = "") -> str:
    """Everything the bot sends in answer to one command, joined like one long message."""
    before = len(user.messages)
    await user.send_command(command, payload)
    await user.wait_for_message()
    await user.wait_until_idle()
    user.mark_seen()
    return "\n\n".join(text_of(m) for m in user.messages[before:])


async def press_text(user: SimulatedUser, button: str | re.Pattern[str]) -> str:
    """Press a button; the texts of new or edited messages after it."""
    before = {m.message_id: text_of(m) for m in user.messages}
    await user.press(button)
    await user.wait_for_message()
    await user.wait_until_idle()
    user.mark_seen()
    return "\n\n".join(text_of(m) for m in user.messages if before.get(m.message_id) != text_of(m))


async def forged_press(user: SimulatedUser, data: str) -> str:
    before = len(user.messages)
    await user.press_data(user.messages[-1].message_id, data)
    await user.wait_until_idle()
    user.mark_seen()
    return "\n\n".join(text_of(m) for m in user.messages[before:])


async def create_group(coordinator: SimulatedUser, name: str = NAME) -> tuple[str, str, int]:
    """/newgroup; returns (join token, coordinator token, group id)."""
    text = await reply_text(coordinator, "/newgroup", name)
    join, coordinate = LINK.findall(text)[:2]
    photo = next(m for m in reversed(coordinator.messages) if m.photo)
    report = next(d for d in data_of(photo) if d.startswith("g:r:"))
    return join, coordinate, int(report.split(":")[2])


async def join(user: SimulatedUser, token: str, perspective: str) -> str:
    consent = await reply_text(user, "/start", token)
    assert "Ihre einzelnen Antworten sieht niemand" in consent
    perspective_text = await press_text(user, "✅ Einverstanden, teilnehmen")
    assert "Aus welcher Perspektive" in perspective_text
    return await press_text(user, perspective)


# -- PNG / QR ----------------------------------------------------------------------------------


def png_chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos = 8
    while pos < len(png):
        (length, kind) = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        yield kind, body
        pos += 12 + length


def png_pixels(png: bytes) -> list[list[int]]:
    """Decode a greyscale PNG (bit depth 1 or 8, no interlace) to rows of 0 = black, 1 = white."""
    chunks = list(png_chunks(png))
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert colour == 0 and depth in (1, 8) and interlace == 0, (colour, depth, interlace)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width * depth + 7) // 8
    bpp = max(1, depth // 8)
    assert len(raw) == height * (stride + 1)
    rows: list[list[int]] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            else:
                assert kind == 0, f"unknown PNG filter {kind}"
        previous = line
        if depth == 1:
            rows.append([(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        else:
            rows.append([int(v > 127) for v in line[:width]])
    return rows


def qr_modules(pixels: list[list[int]]) -> list[list[int]]:
    """Read the module grid (1 = dark) from a rendered QR code: find the top-left finder
    pattern (7 modules wide) to learn the quiet zone and the module size, then sample centres."""
    size = len(pixels)
    top = next(y for y in range(size) if 0 in pixels[y])
    left = pixels[top].index(0)
    run = next(x for x in range(left, size) if pixels[top][x] == 1) - left
    assert run % 7 == 0, "finder pattern is not 7 modules wide"
    scale = run // 7
    count = (size - 2 * left) // scale
    assert count * scale == size - 2 * left and top == left, "QR code is not centred"
    return [
        [
            1 - pixels[left + r * scale + scale // 2][left + c * scale + scale // 2]
            for c in range(count)
        ]
        for r in range(count)
    ]


def encodes(modules: list[list[int]], text: str) -> bool:
    """True if the grid is exactly the QR symbol segno makes for `text` at some error level."""
    for error in ("l", "m", "q", "h"):
        symbol = segno.make(text, error=error, boost_error=False)
        if [list(row) for row in symbol.matrix] == modules:
            return True
    return False


# -- tests ---------------------------------------------------------------------------------------


async def test_new_group_gives_deep_link_coordinator_link_and_qr_code(
    bot: InProcessBot, database: Path
) -> None:
    coordinator = bot.user(100, "Kim")
    assert "Namen Ihrer Kommune" in await reply_text(coordinator, "/newgroup")
    assert "zu lang" in await reply_text(coordinator, "/newgroup", "X" * 81)

    text = await reply_text(coordinator, "/newgroup", "  Stadt   Musterstadt ")
    assert f"Gruppe „{NAME}“ angelegt." in text
    assert "Zahlen erst ab 3 abgeschlossenen Selbstchecks" in text
    join_token, coordinator_token = LINK.findall(text)[:2]
    for token in (join_token, coordinator_token):
        assert TOKEN.match(token), token
        assert len(token) * 6 >= 128  # base64url: six bits per character
    assert join_token != coordinator_token
    assert (
        text.index(join_token)
        < text.index("Weitere Koordinator*innen")
        < text.index(coordinator_token)
    )
    link = f"https://t.me/selbstcheck_test_bot?start={join_token}"
    assert query(database, "SELECT name, join_token, coordinator_token FROM groups") == [
        (NAME, join_token, coordinator_token)
    ]

    (photo_message,) = [m for m in coordinator.messages if m.photo]
    assert link in text_of(photo_message) and "QR-Code" in text_of(photo_message)
    assert coordinator.buttons(photo_message) == [
        "📊 Bericht",
        "🔒 Schließen",
        "🔁 Neue Runde",
        "🏛 Art der Kommune",
        "🖼 Workshop-Seite",
    ]
    # Right after creating it, the coordinator is asked for the group's municipality type.
    ask = coordinator.messages[-1]
    assert "Für welche Art von Kommune ist die Gruppe" in text_of(ask)
    assert coordinator.buttons(ask) == [
        "kreisfreie Stadt",
        "Landkreis",
        "kreisangehörige Stadt / Gemeinde",
    ]
    await press_text(coordinator, "Landkreis")
    assert "Art der Kommune Landkreis" in text_of(coordinator.messages[-1])
    assert query(database, "SELECT municipality_type FROM groups") == [("district",)]
    png = photo_message.photo.content
    width, height = struct.unpack(">II", png[16:24])
    assert width == height and 200 <= width <= 2000, (width, height)
    modules = qr_modules(png_pixels(png))
    assert encodes(modules, link), "the QR code does not encode the invitation link"

    # A second group gets fresh tokens.
    again = await reply_text(coordinator, "/newgroup", "Gemeinde Beispielheim")
    assert not {join_token, coordinator_token} & set(LINK.findall(again))


def test_every_withheld_reason_has_its_sentences() -> None:
    """A report may withhold a figure for any reason; each has a field and a perspective text
    (the neutral one for every reason that does not rest on counts, see `said`)."""
    from bot.ui.texts import load_texts
    from flows.disclosure import Reason, said

    texts = load_texts()
    for reason in Reason:
        assert texts(f"report_withheld_{said(reason)}", min_group=3)
        assert texts(
            f"report_note_{said(reason, perspective=True)}", label="Politik", min_group=3, others=2
        )
