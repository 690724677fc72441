"""The embedded topology and the errors a bad topology file gets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from yzt.domain.topology import default_topology_path, load_topology
from yzt.errors import InputFileError


def test_embedded_topology_has_3_carriers_and_39_resellers() -> None:
    topo = load_topology()
    assert [op.id for op in topo.carriers] == ["CMCC", "CUCC", "CTCC"]
    assert [op.id for op in topo.resellers] == [f"R{i:02d}" for i in range(1, 40)]
    assert all(op.host in {"CMCC", "CUCC", "CTCC"} for op in topo.resellers)
    assert topo.get("R07").sla.card_count.p95_ms == 300
    assert topo.get("CMCC").sla.hotline.answer_within_s == 15


def _write_modified(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load(default_topology_path().read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["operators"][5].update(host="CMTT"),
         r"at operators\[5\]\.host: 'CMTT' is not one of \['CMCC', 'CUCC', 'CTCC'\]"),
        (lambda d: d["operators"][4].pop("segments"),
         r"at operators\[4\]: 'segments' is a required property \(add it\)"),
        (lambda d: d["operators"][0].update(colour="red"),
         r"at operators\[0\]: Additional properties are not allowed \('colour' was unexpected\)"),
        (lambda d: d["operators"][4].update(id="R01"),
         r"at operators\[4\]\.id: duplicate operator id 'R01'"),
        (lambda d: d["operators"][3].update(sla_profile="gold"),
         r"at operators\[3\]\.sla_profile: unknown profile 'gold'"),
        (lambda d: d["operators"][3].update(segments=["138"]),
         r"at operators\[3\]\.segments\[0\]: '138' is not a segment of"),
        (lambda d: d["operators"][0].update(card_share=0.9),
         r"shares add up to 1\.32\d\d, must add up to 1"),
        (lambda d: d["sla_profiles"]["default"]["hotline"].update(answered_share_min=85),
         r"at sla_profiles\.default\.hotline\.answered_share_min: 85 is greater than the maximum of 1"),
    ],
)
def test_bad_topology_names_the_field(tmp_path: Path, change, message: str) -> None:
    path = _write_modified(tmp_path, change)
    with pytest.raises(InputFileError, match=message):
        load_topology(path)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("version: 1\noperators: [\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"line 3, column 1: not valid YAML"):
        load_topology(path)


def test_cli_bad_topology_exits_2_without_traceback(tmp_path: Path) -> None:
    path = _write_modified(tmp_path, lambda d: d["operators"][5].update(host="CMTT"))
    proc = subprocess.run(
        [sys.executable, "-m", "yzt", "fixtures", "--operator", "R07", "--topology", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "operators[5].host" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_shipped_topology_parses_the_same_by_libyaml_and_the_bounded_loader():
    """The embedded topology is parsed by libyaml for speed; the bounded loader users' files get
    must read it to the same operators."""
    from yzt.domain.topology import _embedded_topology, _load_topology, default_topology_path

    assert _embedded_topology() == _load_topology(default_topology_path())
