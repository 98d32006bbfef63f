"""Render a run's Snakemake report in headless Chromium: a screenshot, and its categories.

Usage (after a run, from the folder it ran in):

    segpipe run config/config.yaml --report report.html
    python benchmarks/report_screenshot.py report.html shots/

Needs Chromium (Debian: `apt-get install chromium`); the test suite does not, it checks the
report's contents instead. Exit status 1 when Chromium is missing or draws nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: the result categories segpipe's rules give the report (rules/*.smk, report(...))
CATEGORIES = ("Metrics", "Test images", "Training")


def chromium(browser: str, report: Path, *options: str) -> str:
    """Run headless Chromium on ``report`` with ``options``; its standard output."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--window-size=1400,1000",
                "--virtual-time-budget=8000",
                *options,
                report.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout


def main(report: str, folder: str) -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    from PIL import Image  # matplotlib's dependency

    Path(folder).mkdir(parents=True, exist_ok=True)
    shot = Path(folder) / "report.png"
    chromium(browser, Path(report), f"--screenshot={shot}")
    pixels = Image.open(shot).convert("L")
    low, high = pixels.getextrema()
    print(f"{shot}: {pixels.size[0]}x{pixels.size[1]}, grey levels {low}-{high}")
    # the page is drawn by JavaScript: the DOM after it ran must hold every category
    dom = chromium(browser, Path(report), "--dump-dom")
    missing = [name for name in CATEGORIES if name not in dom]
    print(f"rendered DOM: {len(dom)} characters; categories missing: {missing or 'none'}")
    if high - low < 50 or missing:
        print(f"{report}: the report did not render", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
