"""Measure each notebook's headless run: wall time and peak memory of its kernel.

    python benchmarks/notebooks.py [NOTEBOOK ...] [--out benchmarks/results/notebooks.json]

Runs every notebook under notebooks/ (or those given) in a fresh kernel with
course_utils.authoring.runner (the engine of `make course`), and writes a JSON list of
{notebook, seconds, peak_rss_mb, ok} plus the machine it ran on. Run it twice to measure a warm
data cache (the first run also synthesises the mini datasets and compiles librosa's numba code).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import psutil

from course_utils.authoring.runner import run_notebooks

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "notebooks.json"))
    parser.add_argument("--build", default=str(ROOT / "build" / "benchmark"))
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    runs = run_notebooks(notebooks, args.build, html=False, json_path=Path(args.build) / "summary.json")
    result = {
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": sys.version.split()[0], "platform": platform.platform()},
        "budget": {"peak_rss_mb": 1536},
        "runs": [asdict(r) for r in runs],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    over = [r.notebook for r in runs if r.peak_rss_mb > 1536]
    if over:
        print(f"over the 1.5 GB budget: {over}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
