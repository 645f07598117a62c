"""Redraw docs/pack-page-one.png, the README's picture of page one of a pack.

    LSRP_HOME=/tmp/lsrp-doc uv run lsrp run --sample small --no-pdf
    uv run python docs/pack_page_one.py /tmp/lsrp-doc/packs/2026-27-Q2/la/301-barking-and-dagenham.html

Screenshots the pack in chromium from the top to the end of page one (the contents list and download links
hidden), then shrinks it with pngquant when that is installed (the committed picture is kept under 300 KB).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).with_name("pack-page-one.png")


def main(pack: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(Path(pack).resolve().as_uri())
        page.wait_for_load_state("load")
        page.add_style_tag(content="nav.contents, .downloads { display: none; }")
        page.wait_for_timeout(300)
        end = page.evaluate("document.getElementById('areas').getBoundingClientRect().top + window.scrollY")
        page.screenshot(path=str(OUT), full_page=True, clip={"x": 0, "y": 0, "width": 1000, "height": end - 10})
        browser.close()
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--quality", "60-85", "--force", "--output", str(OUT), str(OUT)], check=True)
    print(OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main(sys.argv[1])
