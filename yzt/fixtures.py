"""Test fixtures that operators load into their sandbox: generated from a seed, checked line by line.

A fixture file is JSON Lines, one card a line, in the shape of the protocol's "Test fixtures"
section. Generation draws from one ``random.Random`` seeded by operator and seed, and from a Faker
instance seeded the same way, so the same arguments give a byte-identical file (for a given Faker
version: Faker's name lists are part of its data).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from yzt.domain.idnumber import generate_id_number, id_number_problem, name_problem
from yzt.domain.masking import mask_id_number, mask_msisdn, scrub
from yzt.domain.segments import generate_msisdn, in_segments
from yzt.domain.topology import Operator, Topology, load_topology
from yzt.errors import InputFileError, UserError
from yzt.validation import parse_json

STATUSES = ("active", "suspended", "cancelled")
MAX_LIVE_CARDS = 5
FIELDS = ("operator_id", "name", "id_number", "msisdn", "status", "activated_on", "home_region",
          "genuine")
#: Province-level regions for ``home_region`` (31 mainland provinces).
REGIONS = (
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州",
    "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆",
)  # fmt: skip
#: Synthetic names in the style of minority names written with the interpunct ``·``.
MINORITY_GIVEN = ("阿依古丽", "买买提", "古丽娜扎", "热依拉", "艾力", "帕尔哈提", "迪丽努尔", "吐尔逊")
MINORITY_FAMILY = ("艾买提", "依明", "吾买尔", "阿不都", "沙吾提", "托合提", "玉素甫", "克里木")
#: Fixtures never depend on the wall clock: dates are drawn before this day.
FIXTURE_EPOCH = date(2026, 6, 30)


#: The default number of fixture subjects, for every command that generates fixtures from a seed
#: (``yzt fixtures``, ``serve``, ``conform``, ``load``, ``check``): the same seed then means the
#: same cards everywhere.
DEFAULT_SUBJECTS = 200


@dataclass(frozen=True)
class FixtureCard:
    """One line of a fixture file: a card and the truth about it."""

    operator_id: str
    name: str
    id_number: str
    msisdn: str
    status: str
    activated_on: str
    home_region: str
    genuine: bool

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(", ", ": "))


@dataclass
class Subject:
    """A person in the fixtures, with their cards at one operator."""

    name: str
    id_number: str
    cards: list[FixtureCard] = field(default_factory=list)

    @property
    def live_cards(self) -> list[FixtureCard]:
        """Cards that count (OIF-CNT-1): not cancelled."""
        return [c for c in self.cards if c.status != "cancelled"]


@dataclass(frozen=True)
class FixtureSet:
    """All cards of a fixture file, grouped by subject."""

    operator_id: str
    cards: tuple[FixtureCard, ...]

    def subjects(self) -> dict[str, Subject]:
        """Subjects by ID number, in file order."""
        out: dict[str, Subject] = {}
        for card in self.cards:
            subject = out.setdefault(card.id_number, Subject(card.name, card.id_number))
            subject.cards.append(card)
        return out


def _name(rng: random.Random, fake: Any) -> str:
    kind = rng.random()
    if kind < 0.10:  # two characters: family name + one character
        return str(fake.last_name()) + str(fake.first_name())[:1]
    if kind < 0.18:
        return f"{rng.choice(MINORITY_GIVEN)}·{rng.choice(MINORITY_FAMILY)}"
    if kind < 0.21:  # long names, up to the 30-character limit
        parts = [rng.choice(MINORITY_GIVEN) for _ in range(rng.randint(4, 6))]
        return "·".join(parts)[:30]
    return str(fake.name())


def generate_fixtures(
    operator: Operator, seed: int, subjects: int, *, nongenuine_share: float = 0.08
) -> FixtureSet:
    """Generate ``subjects`` synthetic subjects and their cards at ``operator``.

    Every subject has 0-5 live cards (some only cancelled ones, so their count is 0); about one ID
    number in ten ends in ``X``; ``nongenuine_share`` of cards are marked ``genuine: false``.
    """
    from faker import Faker

    if subjects < 1:
        raise UserError("--subjects must be at least 1")
    rng = random.Random(f"yzt-fixtures|{operator.id}|{seed}")
    fake = Faker("zh_CN")
    fake.seed_instance(rng.getrandbits(64))
    used_msisdn: set[str] = set()
    used_ids: set[str] = set()
    cards: list[FixtureCard] = []
    for _ in range(subjects):
        name = _name(rng, fake)
        while True:
            id_number = generate_id_number(rng, want_x=rng.random() < 0.1, today=FIXTURE_EPOCH)
            if id_number not in used_ids:
                used_ids.add(id_number)
                break
        r = rng.random()
        live = 0 if r < 0.06 else 1 if r < 0.55 else 2 if r < 0.78 else 3 if r < 0.90 else (
            4 if r < 0.96 else MAX_LIVE_CARDS)
        cancelled = rng.choice((0, 0, 0, 1, 2)) if live else rng.randint(1, 2)
        statuses = ["suspended" if rng.random() < 0.1 else "active" for _ in range(live)]
        statuses += ["cancelled"] * cancelled
        rng.shuffle(statuses)
        for status in statuses:
            while True:
                msisdn = generate_msisdn(rng, operator.segments)
                if msisdn not in used_msisdn:
                    used_msisdn.add(msisdn)
                    break
            activated = FIXTURE_EPOCH - timedelta(days=rng.randint(1, 15 * 365))
            cards.append(FixtureCard(
                operator_id=operator.id, name=name, id_number=id_number, msisdn=msisdn,
                status=status, activated_on=activated.isoformat(),
                home_region=rng.choice(REGIONS), genuine=rng.random() >= nongenuine_share,
            ))
    return FixtureSet(operator.id, tuple(cards))


def write_fixtures(fixtures: FixtureSet, path: Path) -> None:
    """Write JSON Lines, UTF-8, ``\\n`` line ends (byte-identical for identical input)."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for card in fixtures.cards:
            fh.write(card.to_json() + "\n")


def _masked(field_name: str, value: object) -> str:
    if field_name == "id_number" and isinstance(value, str):
        return mask_id_number(value)
    if field_name == "msisdn" and isinstance(value, str):
        return mask_msisdn(value)
    if field_name == "name":
        return "(name)"
    return scrub(repr(value))


def _line_problems(raw: Any, operator: Operator | None) -> Iterator[tuple[str, str]]:
    """(field, problem) pairs for one decoded line."""
    if not isinstance(raw, dict):
        yield "(line)", "must be a JSON object"
        return
    for name in FIELDS:
        if name not in raw:
            yield name, "is missing (add it)"
    for name in raw:
        if name not in FIELDS:
            yield name, f"is not a fixture field (remove it; fields are {', '.join(FIELDS)})"
    if "name" in raw and (p := name_problem(raw["name"])):
        yield "name", p
    if "id_number" in raw and (p := id_number_problem(raw["id_number"])):
        yield "id_number", f"{_masked('id_number', raw['id_number'])} {p}"
    if "status" in raw and raw["status"] not in STATUSES:
        yield "status", f"{raw['status']!r} must be one of {', '.join(STATUSES)}"
    if "genuine" in raw and not isinstance(raw["genuine"], bool):
        yield "genuine", "must be true or false"
    if "home_region" in raw and (not isinstance(raw["home_region"], str) or not raw["home_region"]):
        yield "home_region", "must be a non-empty string"
    if "activated_on" in raw:
        try:
            day = date.fromisoformat(str(raw["activated_on"]))
            if len(str(raw["activated_on"])) != 10:
                raise ValueError
            if day > date.today():
                yield "activated_on", f"{day} is in the future"
        except ValueError:
            yield "activated_on", f"{_masked('activated_on', raw['activated_on'])} is not a date YYYY-MM-DD"
    if operator is not None:
        if "operator_id" in raw and raw["operator_id"] != operator.id:
            yield "operator_id", f"{raw['operator_id']!r} differs from the file's operator {operator.id}"
        msisdn = raw.get("msisdn")
        if isinstance(msisdn, str) and not in_segments(msisdn, operator.segments):
            yield "msisdn", (f"{mask_msisdn(msisdn)} is not an 11-digit number in {operator.id}'s "
                             f"segments ({', '.join(operator.segments)})")
    elif not isinstance(raw.get("msisdn"), str):
        yield "msisdn", "must be a string of 11 digits"


def check_fixture_lines(lines: Iterable[str], topology: Topology | None = None,
                        operator_id: str | None = None) -> tuple[list[str], list[FixtureCard]]:
    """Check fixture lines; return (problems naming line and field, the cards that were good)."""
    topology = topology or load_topology()
    problems: list[str] = []
    cards: list[FixtureCard] = []
    operator = topology.get(operator_id) if operator_id else None
    seen_msisdn: dict[str, int] = {}
    names_by_id: dict[str, tuple[str, int]] = {}
    live_by_id: dict[str, list[int]] = defaultdict(list)
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = parse_json(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError as exc:
            problems.append(f"line {lineno}: {exc}")
            continue
        if operator is None and isinstance(raw, dict) and isinstance(raw.get("operator_id"), str):
            try:
                operator = topology.get(raw["operator_id"])
            except UserError:
                problems.append(f"line {lineno}, field operator_id: unknown operator "
                                f"{raw['operator_id']!r} (use CMCC, CUCC, CTCC or R01…R39)")
                continue
        found = [f"line {lineno}, field {f}: {p}" for f, p in _line_problems(raw, operator)]
        if found:
            problems.extend(found)
            continue
        card = FixtureCard(**raw)
        if (first := seen_msisdn.get(card.msisdn)) is not None:
            problems.append(f"line {lineno}, field msisdn: {mask_msisdn(card.msisdn)} already on "
                            f"line {first} (each number once)")
            continue
        seen_msisdn[card.msisdn] = lineno
        known = names_by_id.setdefault(card.id_number, (card.name, lineno))
        if known[0] != card.name:
            problems.append(f"line {lineno}, field name: differs from the name given for "
                            f"{mask_id_number(card.id_number)} on line {known[1]} (one name per ID)")
            continue
        if card.status != "cancelled":
            live_by_id[card.id_number].append(lineno)
            if len(live_by_id[card.id_number]) == MAX_LIVE_CARDS + 1:
                problems.append(
                    f"line {lineno}, field status: {mask_id_number(card.id_number)} has more than "
                    f"{MAX_LIVE_CARDS} live cards at {card.operator_id} (lines "
                    f"{', '.join(map(str, live_by_id[card.id_number]))}); cancel or remove some")
                continue
        cards.append(card)
    if not cards and not problems:
        problems.append("line 1: the file holds no cards")
    return problems, cards


def load_fixtures(path: Path, topology: Topology | None = None,
                  operator_id: str | None = None) -> FixtureSet:
    """Load a fixture file; raise :class:`InputFileError` naming each bad line and field."""
    if path.is_dir():
        raise InputFileError(str(path), ["is a directory (give the path of a fixture file)"])
    try:
        with path.open(encoding="utf-8") as fh:
            problems, cards = check_fixture_lines(fh, topology, operator_id)
    except FileNotFoundError:
        raise InputFileError(str(path), ["file not found (check the path)"]) from None
    except PermissionError:
        raise InputFileError(str(path), ["cannot read: permission denied (check its mode)"]) from None
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), [f"not UTF-8 text ({exc.reason}): is it a binary file?"]) from None
    except OSError as exc:
        raise InputFileError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    if problems:
        raise InputFileError(str(path), problems)
    if not cards:
        raise InputFileError(str(path), ["holds no cards (generate one with yzt fixtures)"])
    return FixtureSet(cards[0].operator_id, tuple(cards))


@dataclass(frozen=True)
class FixtureSelection:
    """Which fixtures a run judges against: the file the operator loaded, or a seed (and subject
    count) to generate them from.

    The one place the flags that pick fixtures are spelled: a child command's arguments, a
    reproduce command and a preflight note all come from :meth:`flags`, and :meth:`shown` quotes
    them for a shell once. The file is named by its absolute path there, so that the command works
    from any folder; :meth:`load` reads it by the path as given, which is how its errors name it.
    """

    file: Path | None = None
    seed: int | None = None
    subjects: int = DEFAULT_SUBJECTS

    def flags(self) -> list[str]:
        """``--fixtures /abs/FILE``, or ``--seed N --subjects M``."""
        if self.file is not None:
            return ["--fixtures", str(self.file.resolve())]
        return ["--seed", str(self.seed), "--subjects", str(self.subjects)]

    def shown(self) -> str:
        """:meth:`flags` as a shell would take them (a path with spaces is quoted)."""
        import shlex

        return shlex.join(self.flags())

    def load(self, operator: Operator, topology: Topology | None = None) -> FixtureSet:
        """The fixture set: the file checked line by line against ``operator``, or generated."""
        if self.file is not None:
            return load_fixtures(self.file, topology or load_topology(), operator.id)
        if self.seed is None:
            raise UserError("the fixture truth is needed: --fixtures FILE, or --seed N [--subjects M]")
        return generate_fixtures(operator, self.seed, self.subjects)
