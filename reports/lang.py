"""The report languages and the choice of one from the locale.

Apart from :mod:`yzt.reports.i18n` (which re-exports them) because every command's ``--lang`` flag
needs them when the command line is parsed, and the catalogue's imports (the requirement registry,
the simulation's stages) cost a process that renders no report, such as ``yzt serve``, about
0.15 CPU-s.
"""

from __future__ import annotations

import os
from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")


def default_lang(environ: dict[str, str] | None = None) -> Lang:
    """``zh`` when the locale (LC_ALL, LC_MESSAGES or LANG, in POSIX order) is Chinese, else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
