"""The check registry: every OIF requirement has a check, names are unique, --list shows them."""

from __future__ import annotations

import pytest

from yzt.cli import main
from yzt.conformance.registry import CheckSpec, Registry, load_checks
from yzt.conformance.requirements import load_requirements


def test_every_oif_requirement_has_a_check():
    registry = load_checks()
    mapping = registry.by_requirement()
    missing = [r for r in load_requirements() if r.startswith("OIF-") and not mapping.get(r)]
    assert missing == []


def test_checks_cite_only_catalogued_requirements():
    assert set(load_checks().by_requirement()) <= set(load_requirements())


def test_registry_refuses_duplicates_and_bad_ids():
    registry = Registry()
    registry.add(CheckSpec("OIF-AUTH-3", "replayed_nonce", lambda ctx: (), frozenset(), "", "main", ""))
    with pytest.raises(ValueError, match="duplicate check name 'replayed_nonce'"):
        registry.add(CheckSpec("OIF-AUTH-1", "replayed_nonce", lambda ctx: (), frozenset(), "", "main",
                               ""))
    with pytest.raises(ValueError, match="is not a requirement id"):
        registry.add(CheckSpec("AUTH3", "other", lambda ctx: (), frozenset(), "", "main", ""))
    with pytest.raises(ValueError, match="unknown needs"):
        registry.add(CheckSpec("OIF-AUTH-3", "third", lambda ctx: (), frozenset({"x"}), "", "main", ""))


def test_sweeps_run_last():
    phases = [spec.phase for spec in load_checks()]
    assert phases == sorted(phases, key=("main", "late", "sweep").index)
    assert phases[-1] == "sweep"


def test_list_prints_requirement_to_checks(capsys):
    assert main(["conform", "--list"]) == 0
    out = capsys.readouterr().out
    assert "OIF-AUTH-3\n  replayed_nonce" in out
    for requirement in (r for r in load_requirements() if r.startswith("OIF-")):
        assert f"\n{requirement}\n" in "\n" + out


def test_every_check_has_a_docstring():
    assert [s.name for s in load_checks() if len(s.doc) < 20] == []


def test_docs_list_every_check_under_its_requirement():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "conformance.md").read_text("utf-8")
    missing = [f"{s.requirement} {s.name}" for s in load_checks()
               if f"| {s.requirement} | `{s.name}`" not in text]
    assert missing == []


def test_catalogue_check_lists_are_the_registry():
    """The catalogue's ``checks`` lists are exactly what the registry says (none for SLAs)."""
    mapping = load_checks().by_requirement()
    for req_id, req in load_requirements().items():
        assert req.checks == tuple(mapping.get(req_id, ())), req_id


@pytest.mark.parametrize("first", ["pii", "details", "errors", "cancellations"])
def test_run_order_does_not_depend_on_which_check_module_was_imported_first(first):
    """A replay draws request ids in run order: a process (a test worker) that imported one check
    module early must run the checks in the same order as ``yzt conform`` does."""
    import subprocess
    import sys

    code = ("import importlib, sys\n"
            "if sys.argv[1]: importlib.import_module('yzt.conformance.checks.' + sys.argv[1])\n"
            "from yzt.conformance.registry import load_checks\n"
            "print(','.join(s.name for s in load_checks()))\n")
    orders = [subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True,
                             check=True, timeout=120).stdout for module in ("", first)]
    assert orders[0] == orders[1] and orders[0].count(",") > 50
