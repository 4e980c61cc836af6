"""Report on a built book: execution time per chapter and figures/animations per page.

Run after ``make book``::

    .venv/bin/python benchmarks/book_report.py            # table of the current build
    .venv/bin/python benchmarks/book_report.py --rebuild  # also time a clean and a cached build

Execution times come from the book's execution cache (``_build/.jupyter_cache``), so they are the
kernel time of each chapter as the build measured it. Figures are ``<img>`` elements in the
rendered article (static images and the first frame of each animation); animations are the
``div.animation`` players that matplotlib's ``to_jshtml`` embeds.
"""

from __future__ import annotations

import argparse
import html.parser
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
JB = [str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", str(ROOT), "-W", "-n", "--keep-going"]


class _Counter(html.parser.HTMLParser):
    """Counts images and animation players inside the page's <article>."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.images = 0
        self.animations = 0
        self.animation_images = 0
        self._in_animation = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "article":
            self.depth += 1
        if not self.depth:
            return
        if tag == "div" and "animation" in classes:
            self.animations += 1
            self._in_animation += 1
        if tag == "img":
            if self._in_animation:
                self.animation_images += 1
            else:
                self.images += 1

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1
        if tag == "div" and self._in_animation:
            # the player's frames are <img> in the first div; any closing div ends our interest
            self._in_animation -= 1


def page_counts(page: Path) -> tuple[int, int, float]:
    parser = _Counter()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.images, parser.animations, page.stat().st_size / 1e6


def execution_times() -> dict[str, float]:
    from jupyter_cache import get_cache

    cache_dir = BUILD / ".jupyter_cache"
    if not cache_dir.exists():
        return {}
    times = {}
    for record in get_cache(str(cache_dir)).list_cache_records():
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            times[Path(record.uri).stem] = max(seconds, times.get(Path(record.uri).stem, 0.0))
    return times


def timed_build() -> float:
    start = time.perf_counter()
    # as `make book` builds it: printed progress lines, not a notebook bar widget
    env = {**os.environ, "CONVLAB_PROGRESS": "print"}
    subprocess.run(JB, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rebuild", action="store_true", help="time a clean build and a cached rebuild")
    args = parser.parse_args(argv)
    if args.rebuild:
        shutil.rmtree(BUILD, ignore_errors=True)
        clean = timed_build()
        cached = timed_build()
        print(f"clean build with execution: {clean:6.1f} s (target <= 300 s)")
        print(f"cached rebuild:             {cached:6.1f} s (target <= 30 s)")
    html_dir = BUILD / "html" / "chapters"
    if not html_dir.exists():
        print("no built book: run `make book` first", file=sys.stderr)
        return 1
    times = execution_times()
    print(f"{'chapter':<20} {'exec s':>7} {'figures':>8} {'animations':>10} {'page MB':>8}")
    for page in sorted(html_dir.glob("*.html")):
        images, animations, size = page_counts(page)
        exec_s = times.get(page.stem)
        shown = f"{exec_s:7.1f}" if exec_s is not None else f"{'-':>7}"
        print(f"{page.stem:<20} {shown} {images:8d} {animations:10d} {size:8.2f}")
    if times:
        slowest = max(times, key=times.get)
        print(f"slowest chapter: {slowest} ({times[slowest]:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
