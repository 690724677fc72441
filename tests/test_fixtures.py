"""Fixture files: reproducible generation, the protocol's rules, and line/field-naming checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from yzt.domain.idnumber import id_number_problem
from yzt.domain.segments import in_segments
from yzt.domain.topology import load_topology
from yzt.errors import InputFileError
from yzt.fixtures import MAX_LIVE_CARDS, generate_fixtures, load_fixtures, write_fixtures


def _yzt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yzt", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_output_is_byte_identical_and_passes_check(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (a, b):
        proc = _yzt("fixtures", "--operator", "R07", "--seed", "7", "--subjects", "500", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    check = _yzt("fixtures", "--check", str(a))
    assert check.returncode == 0, check.stderr
    assert "500 subjects at R07" in check.stdout


def test_another_seed_gives_another_file(tmp_path: Path) -> None:
    op = load_topology().get("R07")
    assert generate_fixtures(op, 7, 50).cards != generate_fixtures(op, 8, 50).cards


@pytest.mark.parametrize("operator_id", ["R07", "R20", "CMCC", "CTCC"])
def test_generated_fixtures_follow_the_protocol(operator_id: str) -> None:
    op = load_topology().get(operator_id)
    fixtures = generate_fixtures(op, seed=3, subjects=400)
    subjects = fixtures.subjects()
    assert len(subjects) == 400
    assert all(id_number_problem(s.id_number) is None for s in subjects.values())
    assert all(in_segments(c.msisdn, op.segments) for c in fixtures.cards)
    assert len({c.msisdn for c in fixtures.cards}) == len(fixtures.cards)
    live = [len(s.live_cards) for s in subjects.values()]
    assert max(live) == MAX_LIVE_CARDS
    assert 0 in live, "some subjects must hold only cancelled cards (count 0)"
    assert any(s.cards and not s.live_cards for s in subjects.values())
    statuses = {c.status for c in fixtures.cards}
    assert statuses == {"active", "suspended", "cancelled"}
    assert any(not c.genuine for c in fixtures.cards)
    assert any(s.id_number.endswith("X") for s in subjects.values())
    names = [s.name for s in subjects.values()]
    assert any(len(n) == 2 for n in names)
    assert any("·" in n for n in names)
    assert any(len(n) > 15 for n in names)


def _lines(tmp_path: Path) -> list[dict]:
    path = tmp_path / "f.jsonl"
    write_fixtures(generate_fixtures(load_topology().get("R07"), 1, 30), path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(tmp_path: Path, rows: list[dict | str]) -> Path:
    path = tmp_path / "edited.jsonl"
    text = "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows)
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows[2].update(status="closed"), r"line 3, field status: 'closed' must be one of"),
        (lambda rows: rows[1].update(msisdn="13812345678"),
         r"line 2, field msisdn: 138\*\*\*\*5678 is not an 11-digit number in R07's segments"),
        (lambda rows: rows[0].update(id_number=rows[0]["id_number"][:17] + "x"),
         r"line 1, field id_number: \d{6}\*{11}x check character must be upper-case X"),
        (lambda rows: rows[0].pop("genuine"), r"line 1, field genuine: is missing \(add it\)"),
        (lambda rows: rows[0].update(colour=1), r"line 1, field colour: is not a fixture field"),
        (lambda rows: rows[3].update(activated_on="2021-02-30"),
         r"line 4, field activated_on: '2021-02-30' is not a date"),
        (lambda rows: rows[4].update(operator_id="R08"), r"line 5, field operator_id: 'R08' differs"),
        (lambda rows: rows.insert(3, "{not json"), r"line 4: not valid JSON"),
        (lambda rows: rows[5].update(msisdn=rows[0]["msisdn"]),
         r"line 6, field msisdn: .* already on line 1"),
    ],
)
def test_check_names_line_and_field(tmp_path: Path, edit, message: str) -> None:
    rows: list = _lines(tmp_path)
    edit(rows)
    with pytest.raises(InputFileError, match=message):
        load_fixtures(_write(tmp_path, rows))


def test_more_than_five_live_cards_is_rejected(tmp_path: Path) -> None:
    rows = _lines(tmp_path)
    template = rows[0]
    extra = [dict(template, msisdn=f"165{n:08d}", status="active") for n in range(6)]
    path = _write(tmp_path, [*extra])
    with pytest.raises(InputFileError, match=r"line 6, field status: .* more than 5 live cards"):
        load_fixtures(path)


def test_check_cli_exits_nonzero_and_masks(tmp_path: Path) -> None:
    rows = _lines(tmp_path)
    rows[1]["msisdn"] = "13812345678"
    proc = _yzt("fixtures", "--check", str(_write(tmp_path, rows)))
    assert proc.returncode == 1
    assert "line 2, field msisdn" in proc.stderr
    assert "13812345678" not in proc.stderr and "Traceback" not in proc.stderr
