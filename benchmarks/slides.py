"""Measure the slides: build time and size of every deck, and the browser check's time.

    python benchmarks/slides.py [--out benchmarks/results/slides.json]

Builds every deck (``course_utils.authoring.slides.build_decks``, what ``make slides`` runs) into
build/benchmark/slides, then renders each in headless Chromium (``check_in_browser``, what
``make slides-check`` runs). Needs reveal.js (``npm ci --prefix slides``), Chromium and Playwright.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from course_utils.authoring import slides

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "slides.json"))
    parser.add_argument("--build", default=str(ROOT / "build" / "benchmark" / "slides"))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    decks = slides.build_decks(ROOT / "slides", ROOT / "notebooks", args.build)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    reports = slides.check_in_browser([d.html_path for d in decks], args.build)
    check_s = time.perf_counter() - start

    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "chromium": slides.find_chromium()},
        "build_seconds": round(build_s, 2),
        "browser_check_seconds": round(check_s, 2),
        "decks": [{"deck": d.source.name, "slides": d.n_slides, "figures_and_players": len(d.media),
                   "html_mb": round(d.html_path.stat().st_size / 1e6, 2), "rendered_slides": r.n_slides,
                   "ok": r.ok} for d, r in zip(decks, reports)],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
