"""Benchmark yzt's load generator against a plain Locust FastHttpUser on the same endpoint.

Both generators send signed card-count requests with valid tickets to one reference operator
(``yzt serve``) in the same run, alternating, each for ``--seconds``. The figure of merit is requests
per generator CPU-second: CPU is the Locust process's own user + system time (``RUSAGE_CHILDREN``
around each run, so Locust's start-up is counted for both), requests are the completed ones. Target:
yzt / plain ≥ 0.8 — the open-model scheduler, raw records and schema sampling may cost at most 20 %.

    YZT_SECRET is not needed: the benchmark starts its own server with the test secret.
    python benchmarks/load_bench.py --seconds 15 --rounds 2 [--append docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from yzt.loadtests import runner, shapes
from yzt.loadtests.results import load_raw
from yzt.loadtests.traffic import Mix, RunConfig
from yzt.server.testing import DEFAULT_SECRET, running_server

PLAIN_LOCUSTFILE = textwrap.dedent('''
    """Plain Locust: closed-loop FastHttpUser, no wait, signed card-count requests."""
    import json, os, uuid
    from datetime import UTC, datetime, timedelta
    from locust import FastHttpUser, constant, task
    from yzt.domain.topology import load_topology
    from yzt.fixtures import generate_fixtures
    from yzt.signing import format_time, make_ticket, signed_headers

    SECRET = os.environ["YZT_SECRET"].encode()
    PEOPLE = [(s.name, s.id_number) for s in generate_fixtures(
        load_topology().get("R07"), 7, 200).subjects().values()]

    class Plain(FastHttpUser):
        wait_time = constant(0)

        @task
        def count(self):
            name, id_number = PEOPLE[uuid.uuid4().int % len(PEOPLE)]
            now = datetime.now(UTC)
            at = format_time(now - timedelta(seconds=60))
            ticket = make_ticket(SECRET, "sms_code", id_number, name, at)
            subject = {"name": name, "id_type": "resident_id", "id_number": id_number}
            body = json.dumps({"query_id": str(uuid.uuid4()), "subject": subject,
                               "verification": {"method": "sms_code", "verified_at": at,
                                                "ticket": ticket}},
                              ensure_ascii=False, separators=(",", ":")).encode()
            headers = signed_headers("k1", SECRET, "POST", "/v1/card-count", body,
                                     timestamp=int(now.timestamp()))
            headers["Content-Type"] = "application/json"
            self.client.post("/v1/card-count", data=body, headers=headers, name="card-count")
''')


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_plain(url: str, seconds: float, users: int, work: Path) -> tuple[int, float]:
    locustfile = work / "plain_locustfile.py"
    locustfile.write_text(PLAIN_LOCUSTFILE, encoding="utf-8")
    out = work / "plain.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["YZT_SECRET"] = DEFAULT_SECRET.decode()
    before = child_cpu()
    subprocess.run([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-H", url,
                    "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s", "--only-summary",
                    "--loglevel", "WARNING", "--json-file", str(out.with_suffix(""))],
                   cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=seconds + 60, check=False)
    cpu = child_cpu() - before
    stats = json.loads(out.read_text(encoding="utf-8"))
    return sum(int(e["num_requests"]) for e in stats), cpu


def run_yzt(url: str, seconds: float, users: int, rate: float, work: Path) -> tuple[int, float, int]:
    out = work / "yzt"
    config = RunConfig(target=url, operator="R07", key_id="k1", shape=shapes.steady(rate, seconds),
                       out_dir=str(out), seed=7, subjects=200, users_per_process=users,
                       mix=Mix(card_count=1, card_details=0, disputes=0, cancellations=0),
                       grace_s=7.0)
    before = child_cpu()
    outcome = runner.run_locust(config, DEFAULT_SECRET, runner.Launch())
    cpu = child_cpu() - before
    if outcome.exit_code != 0:
        raise SystemExit(f"yzt generator failed: {runner.tail(outcome.console_log)}")
    rows, _ = load_raw(out / "raw")
    errors = int((rows[:, 4] != 0).sum())
    return int(rows.shape[0]), cpu, errors


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {model}, Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rate", type=float, default=5000, help="yzt's target rate (above what it can send)")
    ap.add_argument("--append", type=Path, help="append the result table to this Markdown file")
    args = ap.parse_args()
    if not 1 <= args.rounds <= 10 or not 1 <= args.seconds <= 120:
        ap.error("--rounds 1-10 and --seconds 1-120")
    plain_n = plain_cpu = yzt_n = yzt_cpu = 0.0
    lines = []
    with running_server() as url, tempfile.TemporaryDirectory(prefix="yzt-load-bench-") as tmp:
        for i in range(args.rounds):
            n, cpu = run_plain(url, args.seconds, args.users, Path(tmp))
            plain_n += n
            plain_cpu += cpu
            lines.append(f"| {i + 1} | plain FastHttpUser | {n} | {cpu:.2f} | {n / cpu:.0f} | |")
            n2, cpu2, errors = run_yzt(url, args.seconds, args.users, args.rate, Path(tmp))
            yzt_n += n2
            yzt_cpu += cpu2
            lines.append(f"| {i + 1} | yzt open model | {n2} | {cpu2:.2f} | {n2 / cpu2:.0f} | "
                         f"{errors} errors |")
            print(lines[-2], lines[-1], sep="\n", flush=True)
    ratio = (yzt_n / yzt_cpu) / (plain_n / plain_cpu)
    verdict = "meets" if ratio >= 0.8 else "misses"
    command = (f"python benchmarks/load_bench.py --seconds {args.seconds:g} --rounds {args.rounds} "
               f"--users {args.users} --rate {args.rate:g}")
    text = "\n".join([
        "", f"### Run: `{command}`", "", f"Machine: {machine()}.", "",
        "| round | generator | requests | CPU s | requests / CPU s | note |",
        "|---|---|---|---|---|---|", *lines, "",
        f"Ratio yzt / plain: **{ratio:.2f}** ({verdict} the ≥ 0.8 target). Same endpoint, same run, "
        "alternating; the server shares the 2 cores, so absolute numbers are noisy.", ""])
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
