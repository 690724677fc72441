"""The twin section of a report without processes: a saturated machine's run is shown incomplete
in both languages, never as the model's failure, and says which signal saturated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from yzt.reports.readers import read_dirs
from yzt.reports.twin import read_twin
from yzt.verdict import Verdict


def _doc(saturated: list[str]) -> dict[str, Any]:
    row = {"metric": "fanout_p95_s", "scope": "fanout", "live": 2.0, "live_ci_low": 1.8,
           "live_ci_high": 2.2, "model": 1.0, "model_ci_low": 0.9, "model_ci_high": 1.1,
           "ci_level": 0.95, "error_pct": 100.0, "verdict": "fail"}
    signals = {"server_loop_lag_p99_s": {"value": 0.35 if saturated else 0.01, "limit": 0.1,
                                         "saturated": bool(saturated)}}
    return {"scenario": "baseline", "seed": 1, "start_h": 10.0, "window_s": 60.0, "scale": 10.0,
            "queries": 600, "requests": 25_000, "replications": 30, "windows": 3, "rows": [row],
            "verdict": "incomplete" if saturated else "fail",
            "verdict_reason": "…", "machine": {"signals": signals, "saturated": saturated,
                                                "cores": 2, "windows": []},
            "load_average": {"before": [9.5, 8.0, 7.0], "after": [11.0, 9.0, 7.5]},
            "qq": {"p": [1.0, 50.0, 99.0], "live": [0.5, 2.0, 4.0], "model": [0.4, 1.0, 3.0]}}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_saturated_run_is_incomplete_and_names_the_signal(lang: str) -> None:
    section = read_twin(_doc(["server_loop_lag_p99_s 0.35 > 0.1"]), lang)
    assert section.verdict is Verdict.INCOMPLETE
    assert [r.verdict for r in section.rows] == [Verdict.INCOMPLETE]  # not the model's failure
    assert any("server_loop_lag_p99_s 0.35 > 0.1" in n for n in section.notes)
    assert ("saturated" if lang == "en" else "饱和") in " ".join(section.notes)
    assert len(section.plots) == 1 and section.plots[0].png.startswith(b"\x89PNG")


def test_an_unsaturated_disagreement_fails_with_its_numbers() -> None:
    section = read_twin(_doc([]), "en")
    assert section.verdict is Verdict.FAIL
    (row,) = section.rows
    assert row.verdict is Verdict.FAIL and row.name == "fan-out answer time, p95"
    assert row.measured.startswith("live 2000 ms") and row.expected.startswith("model 1000 ms")
    assert row.message == "error +100.0%"
    assert section.tables[0].marks == ("warning",)


def test_yzt_report_reads_a_twin_file(tmp_path: Path) -> None:
    from yzt import resultfile

    path = tmp_path / "twin.json"
    resultfile.write(path, "twin", 1, _doc([]))
    report = read_dirs([path], "zh")
    assert report.verdict is Verdict.FAIL and report.sections[0].key == "twin"
    assert report.sections[0].title == "模型与在线联邦对照（baseline）"
