"""Time the synthesis of each mini dataset (the issue's budget: all seven in under 2 minutes on 2 cores).

    python benchmarks/datasets.py [--out benchmarks/results/datasets.json]

Generates every mini dataset into a temporary folder (forcing regeneration), and records the
seconds, clip count and megabytes of each.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from course_utils import datasets
from course_utils.core import paths

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "datasets.json"))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in datasets.names():
            start = time.perf_counter()
            folder = datasets.synthesize(name, Path(tmp) / name, force=True, progress=False)
            seconds = time.perf_counter() - start
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            rows.append({"dataset": name, "seconds": round(seconds, 1), "rows": len(datasets.load_dataset(name, root=folder)),
                         "megabytes": round(size / 2**20, 1)})
            print(f"{name:18s} {seconds:6.1f} s  {rows[-1]['rows']:5d} rows  {rows[-1]['megabytes']:6.1f} MB", flush=True)
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':18s} {total:6.1f} s with {paths.workers()} worker processes on {os.cpu_count()} CPUs")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpus": os.cpu_count(), "workers": paths.workers(), "total_seconds": round(total, 1),
                                          "datasets": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
