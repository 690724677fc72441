"""The CI templates under docs/ci/ run as written and never install yzt from the public index.

The name ``yzt`` on the public package index belongs to an unrelated project that also installs a
``yzt`` command: a CI job that ran ``pip install yzt`` would run a stranger's program with
``YZT_SECRET`` in its environment. So (1) no doc, template or script in this repository installs a
distribution called ``yzt`` (or ``yzt-harness``) by bare name from an index, and (2) both
templates, run as written in a clean virtual environment with the variables a CI would set, install
yzt from a tagged clone of this repository and judge a reference operator on loopback with exit 0.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from yzt.fixtures import generate_fixtures, write_fixtures
from yzt.server.testing import DEFAULT_SECRET, running_server

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".md", ".yml", ".yaml", ".py", ".toml", ".sh", ".txt", ".cfg", ".html", ".ini"}

#: Distribution names that mean yzt: none of them may come from an index by bare name.
_OUR_NAMES = {"yzt", "yzt-harness"}
_PIP = re.compile(r"\bpip3?\s+install\b(?P<args>[^\n]*)")


def _bare_requirement(token: str) -> bool:
    """A requirement token that names yzt without a direct reference or a local path."""
    token = token.strip("\"'")
    if "@" in token or "/" in token or token.startswith(".") or token.endswith(".whl"):
        return False
    name = re.match(r"[A-Za-z0-9_.-]+", token)
    return bool(name) and re.sub(r"[-_.]+", "-", name.group(0)).lower() in _OUR_NAMES


def _tracked_text_files() -> list[Path]:
    proc = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:  # not a git checkout (an sdist): walk the tree instead
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                 and ".venv" not in p.parts and ".git" not in p.parts]
    else:
        names = proc.stdout.splitlines()
    files = [ROOT / n for n in names if Path(n).suffix in TEXT_SUFFIXES or n == ".ci/run"]
    return [f for f in files if f.is_file()]


def bare_installs(text: str) -> list[str]:
    """The lines of ``text`` that install yzt's distribution by bare name from an index."""
    found = []
    for line in text.splitlines():
        for match in _PIP.finditer(line):
            command = re.split(r"&&|\|\||;|\|", match.group("args"))[0]
            try:
                words = shlex.split(command)
            except ValueError:
                words = command.split()
            requirements = [w for w in words if not w.startswith("-")]
            if any(_bare_requirement(w) for w in requirements):
                found.append(line.strip())
                break
    return found


@pytest.mark.parametrize("line", [
    "pip install yzt",
    "python -m pip install yzt",
    "pip install -U yzt==0.2.0",
    "pip install 'yzt[dask]'",
    "    - pip install yzt-harness",
    'pip install "yzt-harness>=0.2"',
    "pip3 install --user yzt_harness",
])
def test_a_bare_install_is_found(line):
    assert bare_installs(line) == [line.strip()]


@pytest.mark.parametrize("line", [
    'pip install "yzt-harness @ $YZT_SOURCE"',
    "pip install 'yzt-harness @ git+https://example.org/yzt.git@v0.2.0'",
    'pip install -e ".[dev]"',
    "pip install -e .",
    "pip install dist/yzt_harness-0.2.0-py3-none-any.whl",
    "pip install ./yzt",
    'pip install "dask[distributed]>=2024.8"',
])
def test_a_pinned_or_local_install_is_allowed(line):
    assert bare_installs(line) == []


def test_no_file_installs_yzt_from_the_index():
    found = {str(f.relative_to(ROOT)): hits for f in _tracked_text_files()
             if f.name != Path(__file__).name
             and (hits := bare_installs(f.read_text(encoding="utf-8", errors="replace")))}
    assert not found, ("these install a distribution named yzt from the public index, where the "
                       f"name belongs to an unrelated project: {found}")


def test_the_distribution_is_not_called_yzt():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["name"] == "yzt-harness"
    assert meta["scripts"] == {"yzt": "yzt.cli:main"}


# -- the templates, run as written -------------------------------------------------------------

OPERATOR, KEY_ID = "R07", "ci-key"


def _clean_env(state: Path, wheelhouse: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a fresh CI job: no virtualenv of ours on PATH, yzt's state in ``state``,
    and pip and numba set up as a CI runner with a package cache would be (see :func:`_runner`)."""
    ours = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and p != ours and ".venv" not in p)
    keep = {k: v for k, v in os.environ.items()
            if k in {"HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_CONFIG_FILE", "PIP_CONSTRAINT", "PYENV_ROOT",
                     "PYENV_VERSION", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}}
    return {**keep, **_runner(wheelhouse), "PATH": path, "CI": "true", "YZT_STATE_DIR": str(state),
            **extra}


def _runner(wheelhouse: Path) -> dict[str, str]:
    """What a CI runner with a package cache sets, so that the two jobs cost what they must.

    - The dependencies come from one local wheelhouse (``--no-index --find-links``, as a runner's
      wheel cache or a mirror would serve them): no index is asked and nothing is downloaded
      twice. yzt-harness itself is still built from the tagged clone in each job, as written.
    - ``--no-compile``: pip byte-compiles none of the ~6,000 modules it installs (about 15 CPU-s
      a job); Python compiles the few hundred that run, on import. pip reads a negative option
      from the environment as the option's value, so ``PIP_NO_COMPILE=0`` is ``--no-compile``.
    - numba optimises the kernels less (``NUMBA_OPT=0``): they compile afresh in each new
      virtualenv, and a 2-replication simulation spends far longer compiling than running."""
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PIP_NO_COMPILE": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "NUMBA_OPT": "0"}


@pytest.fixture(scope="module")
def tagged_source(tmp_path_factory) -> str:
    """A clone of this checkout's HEAD with a release tag: the ``YZT_SOURCE`` a CI variable holds."""
    if not (ROOT / ".git").exists():
        pytest.fail("the CI templates are tested from a git checkout")
    src = tmp_path_factory.mktemp("yzt-src") / "yzt"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(src)], check=True, timeout=120)
    subprocess.run(["git", "-C", str(src), "-c", "user.name=yzt", "-c", "user.email=yzt@localhost",
                    "tag", "v0.0.0-ci-test"], check=True)
    # pip parses a direct reference to file:///… as a path; file://localhost/… is the same URL
    return f"git+file://localhost{src}@v0.0.0-ci-test"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """yzt-harness's dependencies and build requirements as wheels, fetched once with this
    interpreter's pip and its configured index: the jobs install from here without an index."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*meta["project"]["dependencies"], *meta["build-system"]["requires"]]
    house = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--dest", str(house), *wanted],
                   check=True, timeout=900, stdin=subprocess.DEVNULL,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return house


@pytest.fixture(scope="module")
def job_files(tmp_path_factory) -> Path:
    """What a reseller's repository holds for the job: the fixture file and the waiver file."""
    from yzt.domain.topology import load_topology

    job = tmp_path_factory.mktemp("job")
    write_fixtures(generate_fixtures(load_topology().get(OPERATOR), 11, 200), job / "yzt-fixtures.jsonl")
    shutil.copy(ROOT / "docs/ci/yzt-waivers.yaml", job / "yzt-waivers.yaml")
    return job


@contextmanager
def _sandbox(job: Path) -> Iterator[str]:
    """A reference operator with a rate limit that loaded the job's fixture file."""
    with running_server(operator=OPERATOR, key_id=KEY_ID,
                        extra_args=["--fixtures", str(job / "yzt-fixtures.jsonl"),
                                    "--rate-limit", "150", "--no-access-log"]) as url:
        yield url


#: The templates' optional extra flags, set as a user may: every step still runs (conform, load,
#: capacity, simulation), the capacity finder with two load runs (1 and 2 req/s: 42 requests, what the
#: simulation's calibration needs, at least 30) and the simulation with the fewest replications,
#: which is what a CI job costs here.
CHECK_ARGS = "--capacity-runs 2 --capacity-duration 14 --replications 2 --load-duration 5"


def _variables(url: str, source: str) -> dict[str, str]:
    return {"YZT_SOURCE": source, "YZT_TARGET_URL": url, "YZT_OPERATOR": OPERATOR,
            "YZT_KEY_ID": KEY_ID, "YZT_SECRET": DEFAULT_SECRET.decode(), "YZT_CHECK_ARGS": CHECK_ARGS}


def _run(script: str, cwd: Path, env: dict[str, str], log: Path) -> int:
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                              cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=1200, check=False)
    return proc.returncode


def _installed_from_source(python: Path, env: dict[str, str]) -> None:
    """yzt-harness came from the tagged clone (a direct URL), and nothing called yzt is installed."""
    probe = ("import importlib.metadata as m, json\n"
             "d = m.distribution('yzt-harness')\n"
             "print(json.dumps({'url': json.loads(d.read_text('direct_url.json') or '{}'),"
             " 'names': sorted(x.metadata['Name'].lower() for x in m.distributions())}))\n")
    # -I: not the current folder first on sys.path (a checkout's egg-info would answer instead)
    out = subprocess.run([str(python), "-I", "-c", probe], env=env, capture_output=True, text=True,
                         check=True, timeout=60, cwd=python.parent).stdout
    import json

    facts = json.loads(out)
    assert facts["url"].get("vcs_info", {}).get("requested_revision") == "v0.0.0-ci-test", facts["url"]
    assert "yzt" not in facts["names"], "a distribution called yzt was installed"


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-4000:]


def _extra_flags_reached_yzt(out: Path) -> None:
    """Every step ran (none skipped), and the template passed ``YZT_CHECK_ARGS`` on: the
    capacity finder made the runs and the simulation the replications it asks."""
    steps = json.loads((out / "check.json").read_text(encoding="utf-8"))["steps"]
    assert {name: step["state"] for name, step in steps.items()} == dict.fromkeys(
        ("capacity", "conform", "load", "sim"), "ran"), steps
    capacity = json.loads((out / "capacity" / "capacity.json").read_text(encoding="utf-8"))
    assert len(capacity["steps"]) == 2, capacity["steps"]
    # Locust's own report of the search lands in the step's folder, though --out is relative
    assert (out / "capacity" / "locust" / "report.html").is_file(), sorted(out.rglob("report.html"))
    sim = json.loads((out / "sim" / "sim-results.json").read_text(encoding="utf-8"))
    assert sim["replications"] == 2, sim["replications"]


def _gitlab(source: str, wheelhouse: Path, job: Path, tmp: Path) -> str:
    """Run the GitLab job's script as written; '' when it exited 0, else why not."""
    doc = yaml.safe_load((ROOT / "docs/ci/gitlab-ci.yml").read_text(encoding="utf-8"))["yzt-check"]
    workdir = tmp / "gitlab"
    shutil.copytree(job, workdir)  # the job's checkout of the reseller's repository
    with _sandbox(job) as url:
        env = _clean_env(tmp / "gitlab-state", wheelhouse, _variables(url, source))
        env.update({k: str(v).replace("$CI_PROJECT_DIR", str(workdir))
                    for k, v in (doc.get("variables") or {}).items()})
        log = tmp / "gitlab.log"
        status = _run("\n".join(doc["script"]), workdir, env, log)
    if status != 0:
        return f"GitLab job exited {status}:\n{_tail(log)}"
    _installed_from_source(workdir / ".venv/bin/python", env)
    assert (workdir / doc["artifacts"]["reports"]["junit"]).is_file()
    _extra_flags_reached_yzt(workdir / "out/check")
    # the clock the conformance step moved is remembered in the folder the job caches
    assert list((workdir / ".yzt-state").iterdir()), "nothing remembered in the cached state folder"
    return ""


def _github(source: str, wheelhouse: Path, job: Path, tmp: Path) -> str:
    """Run the GitHub workflow's steps as written; '' when every step exited 0, else why not."""
    doc = yaml.safe_load((ROOT / "docs/ci/github-actions.yml").read_text(encoding="utf-8"))
    steps = doc["jobs"]["yzt-check"]["steps"]
    workdir = tmp / "github"
    shutil.copytree(job, workdir)  # actions/checkout: the reseller's repository
    venv = tmp / "setup-python"  # actions/setup-python: a fresh interpreter first on PATH
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    with _sandbox(job) as url:
        values = _variables(url, source)
        base = _clean_env(tmp / "github-state", wheelhouse, {})
        base["PATH"] = f"{venv / 'bin'}{os.pathsep}{base['PATH']}"
        for index, step in enumerate(s for s in steps if "run" in s):
            step_env = {k: re.sub(r"\$\{\{\s*(?:vars|secrets|github)\.(\w+)\s*\}\}",
                                  lambda m: {**values, "workspace": str(workdir)}[m.group(1)], str(v))
                        for k, v in (step.get("env") or {}).items()}
            log = tmp / f"github-{index}.log"
            status = _run(step["run"], workdir, {**base, **step_env}, log)
            if status != 0:
                return f"GitHub step {step.get('name')!r} exited {status}:\n{_tail(log)}"
    _installed_from_source(venv / "bin/python", base)
    assert (workdir / "out/check/junit.xml").is_file()
    _extra_flags_reached_yzt(workdir / "out/check")
    assert list((workdir / ".yzt-state").iterdir()), "nothing remembered in the cached state folder"
    return ""


@pytest.mark.integration
@pytest.mark.timeout(1500)
def test_both_templates_run_as_written(tagged_source, wheelhouse, job_files, tmp_path):
    """Both at once, each on its own sandbox (they are independent jobs; this halves the wait)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        gitlab = pool.submit(_gitlab, tagged_source, wheelhouse, job_files, tmp_path)
        github = pool.submit(_github, tagged_source, wheelhouse, job_files, tmp_path)
        problems = [p for p in (gitlab.result(), github.result()) if p]
    assert not problems, "\n\n".join(problems)
