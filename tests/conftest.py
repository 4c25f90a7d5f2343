"""Shared fixtures: the course root, a built book, and headless Debian Chromium.

Chromium comes from Debian's ``chromium`` package (``/usr/bin/chromium``; ``.ci/run`` installs it) and is
driven by Playwright's Python package; no browser is ever downloaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

COURSE_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def course_root() -> Path:
    return COURSE_ROOT


@pytest.fixture(scope="session")
def built_book(course_root) -> Path:
    """The HTML book in ``_build/html``, built once per test run by the course's own command.

    Under pytest-xdist every worker asks for it: a file lock lets the first build it and the
    others reuse it (the run id is shared by all workers of one run). Notebook execution is
    cached (``_build/.jupyter_cache``), so a rebuild of unchanged chapters is quick.
    """
    import fcntl
    import os
    import subprocess

    build_dir = course_root / "_build"
    build_dir.mkdir(exist_ok=True)
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    stamp = build_dir / ".built-by-test-run"
    with open(build_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == run_id):
            result = subprocess.run(
                [sys.executable, "-m", "dlopt_course", "--root", str(course_root), "build-book"],
                cwd=course_root, capture_output=True, text=True,
            )
            assert result.returncode == 0, f"the book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            stamp.write_text(run_id)
    return build_dir / "html"


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (/usr/bin/chromium): .ci/run installs it with apt-get")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
