"""Headless Chromium for the report tests: Debian's ``chromium`` (scripts/install-browser.sh installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    found = os.environ.get("SLOKIT_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: run scripts/install-browser.sh (make test does)")
    return found


def _run(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def chromium_dump_dom(page: Path, profile: Path) -> str:
    return _run(profile, "--dump-dom", page.resolve().as_uri()).stdout


def chromium_screenshot(page: Path, profile: Path, png: Path) -> Path:
    _run(profile, f"--screenshot={png}", "--window-size=1200,2400", page.resolve().as_uri())
    return png


def distinct_colours(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ())
