"""Shared fixtures: a private clock memory, a reference operator, a real headless Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session", autouse=True)
def _clock_memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """yzt remembers sandbox clocks under YZT_STATE_DIR (yzt.clock): the tests' memory is theirs,
    shared by one test process and its children, never the user's."""
    saved = {k: os.environ.get(k) for k in ("YZT_STATE_DIR", "YZT_CLOCK_OFFSET")}
    os.environ["YZT_STATE_DIR"] = str(tmp_path_factory.mktemp("yzt-state"))
    os.environ.pop("YZT_CLOCK_OFFSET", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A clean reference operator (R07, seed 7) for one test module, on a free loopback port."""
    from yzt.server.testing import running_server

    with running_server() as url:
        yield url


@pytest.fixture
def c(base_url: str) -> Iterator[Any]:
    """A platform client for ``base_url`` (signs with the reference's test key)."""
    from server_helpers import client

    with client(base_url) as platform:
        yield platform


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright; skipped without it unless YZT_REQUIRE_CHROMIUM=1."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("YZT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required (YZT_REQUIRE_CHROMIUM=1) but not installed: "
                        "apt-get install chromium")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
