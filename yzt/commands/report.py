"""``yzt report``: render one report from result directories, without running anything again.

Any mix of folders written by ``yzt check``, ``yzt conform --out``, ``yzt load --out`` and
``yzt sim --out`` goes into one report; on the folder of a ``yzt check`` run it renders the same
report that run wrote. The exit status is the report's verdict (:class:`yzt.verdict.Verdict`).

Rendered in place (one DIR, no ``--out``) in another language than the report already there, it
writes ``report.LANG.html`` (and ``.md``, ``.json``, ``junit.LANG.xml``) beside it: the report a
run wrote is replaced only when asked, with ``--out DIR``.

Each folder (or results file) is read by the ``kind`` its results file names (docs/results.md): a
file of unknown kind, without one, newer than this yzt or breaking its kind's schema is refused
with one line naming the file and the field (exit 2). A results file over
:data:`yzt.reports.readers.MAX_RESULTS_BYTES` (64 MiB) is refused before it is parsed (exit 2,
naming the file and the cap); docs/reports.md says what else is bounded.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from yzt.commands.common import add_lang_argument
from yzt.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="render one report (HTML, Markdown, JSON, JUnit) from result directories",
        description="Read the records in each DIR (written by yzt check, conform, load or sim with "
        "--out; or a results file itself) and write report.html, report.md, report.json and "
        "junit.xml to --out. Without --out, one DIR is rendered in place; when the report already "
        "there is in another language, the new one is written beside it as report.LANG.html (…md, "
        "…json, junit.LANG.xml). A results file of unknown kind (see docs/results.md) or over "
        "64 MiB is refused. Exit status is the report's verdict: 0 pass, 1 fail, 2 error, "
        "3 incomplete.",
    )
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR",
                   help="result directories (or results files, each read by its kind)")
    p.add_argument("--out", type=Path,
                   help="output folder (default: the DIR itself when there is one DIR, without "
                   "replacing a report in another language there; else out/report)")
    add_lang_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yzt.reports.readers import read_dirs
    from yzt.reports.render import write_report

    for directory in args.dirs:
        if not directory.exists():
            raise UserError(f"{directory}: no such directory (give folders that yzt check, conform, "
                            "load or sim wrote with --out)")
    first: Path = args.dirs[0] if args.dirs[0].is_dir() else args.dirs[0].parent
    out: Path = args.out or (first if len(args.dirs) == 1 else Path("out/report"))
    report = read_dirs(args.dirs, args.lang, out_dir=out)
    there = None if args.out else language_of(out / "report.html")
    stem = "report" if there in (None, args.lang) else f"report.{args.lang}"
    try:
        paths = write_report(report, out, stem=stem)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the report ({exc.strerror})") from None
    if stem != "report":
        print(f"yzt report: {out / 'report.html'} is in {there} and stays; the {args.lang} report is "
              f"written beside it (give --out {out} to replace it)", file=sys.stderr)
    print(f"yzt report: verdict {report.verdict.value.upper()} — {paths['html']}", file=sys.stderr)
    return report.verdict.exit_code


def language_of(page: Path) -> str | None:
    """The language of a report page yzt wrote (``en`` or ``zh``); None when there is none."""
    try:
        with page.open(encoding="utf-8", errors="replace") as f:
            head = f.read(2000)
    except OSError:
        return None
    found = re.search(r'<html lang="([A-Za-z-]+)"', head)
    if found is None:
        return None
    return "zh" if found.group(1).lower().startswith("zh") else "en"
