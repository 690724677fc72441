"""Scenario validation names the field and the fix; the CLI turns bad input into exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yzt.cli import main
from yzt.errors import InputFileError, UserError
from yzt.sim.scenario import load_scenario, shipped_scenarios


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text("version: 1\nextends: baseline\nname: bad\n" + body, encoding="utf-8")
    return p


def test_every_shipped_scenario_loads() -> None:
    names = set(shipped_scenarios())
    assert {"baseline", "launch-day", "reseller-outage", "understaffed-hotlines",
            "national-day"} <= names
    for name in names:
        sc = load_scenario(name)
        assert len(sc.operators) == 42


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("operators:\n  R07:\n    outages: [{start_h: -1, duration_h: 6}]\n",
         r"at operators\.R07\.outages\[0\]\.start_h: -1 is less than the minimum of 0"),
        ("operators:\n  R40:\n    failure_ratio: 0.1\n",
         r"at operators\.R40: unknown operator 'R40'"),
        ("operators:\n  R07:\n    hotline: {shifts: [{start_h: 18, end_h: 9, agents: 2}]}\n",
         r"at operators\.R07\.hotline\.shifts\[0\]\.end_h: 9 is not after start_h 18"),
        ("arrivals:\n  surges: [{start_h: 30, peak_multiplier: 2, decay_h: 1}]\n",
         r"at arrivals\.surges\[0\]\.start_h: 30 is not inside the horizon"),
        ("sms:\n  rate_per_s: 0\n",
         r"at sms\.rate_per_s: 0 is less than or equal to the minimum of 0"),
        ("operators:\n  R07:\n    retry: {max_atempts: 3}\n",
         r"at operators\.R07\.retry: Additional properties are not allowed \('max_atempts'"),
        ("arrivals:\n  diurnal: [1, 2]\n", r"at arrivals\.diurnal: \[1, 2\] is too short"),
    ],
    ids=["outage-start", "unknown-operator", "shift-order", "surge-outside", "sms-rate",
         "typo", "diurnal-length"],
)
def test_bad_scenarios_name_the_field(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        load_scenario(_write(tmp_path, body))


def test_missing_default_is_named(tmp_path: Path) -> None:
    p = tmp_path / "nodefaults.yaml"
    doc = load_scenario("baseline").document
    del doc["operators"]["defaults"]["reseller"]["timeout_s"]
    p.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"at operators\.defaults\.reseller: 'timeout_s' is a required"):
        load_scenario(p)


def test_unknown_scenario_name_lists_the_shipped_ones() -> None:
    with pytest.raises(UserError, match=r"scenario 'nope' not found: .*baseline"):
        load_scenario("nope")


def test_cli_bad_scenario_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write(tmp_path, "operators:\n  R07:\n    outages: [{start_h: -1, duration_h: 6}]\n")
    assert main(["sim", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "operators.R07.outages[0].start_h" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", [["--replications", "0"], ["--executor", "gpu"], ["--hours", "0"]])
def test_cli_bad_flags_exit_2(tmp_path: Path, flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "baseline", "--out", str(tmp_path), "--hours", "0.2", *flag]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_unknown_engine_is_a_usage_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sim", "baseline", "--out", str(tmp_path), "--engine", "gpu"])
    assert exc.value.code == 2
    assert "--engine" in capsys.readouterr().err


def test_cli_writes_results_and_exit_status_follows_slas(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ok = main(["sim", "baseline", "-n", "2", "--hours", "1", "--executor", "serial", "--quiet",
               "--out", str(tmp_path / "ok")])
    assert ok == 0
    data = json.loads((tmp_path / "ok" / "sim-results.json").read_text(encoding="utf-8"))
    assert data["seed"] == 1 and data["replications"] == 2
    assert data["metrics"]["platform"]["e2e_within_deadline_share"]["mean"] == 1.0
    assert set(data["metrics"]["operators"]) >= {"CMCC", "R07"}
    assert data["timeseries"]["t_hours"][0] == 0.0
    bad = main(["sim", "understaffed-hotlines", "-n", "2", "--hours", "6", "--executor", "serial",
                "--out", str(tmp_path / "bad")])
    assert bad == 1
    out = capsys.readouterr().out
    assert "SLA-HOT-1  R07" in out and "FAIL" in out


def test_cli_lists_shipped_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--list"]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "national-day" in out
