"""Time the paper's SVM table (Choi et al. 2017) with the fast method, and check it against GridSearchCV.

    python benchmarks/svm_protocol.py [--out benchmarks/results/svm_protocol.json]
                                      [--tasks gtzan_genre,...] [--compare gtzan_genre:01234,emoMusic_arousal:01234]
                                      [--no-compare] [--n-jobs 2]

Runs every cell of the table (each task of ``course_utils.tasks.registry.names()`` with the ``01234`` and
``mfcc`` feature sets, protocol "paper", no nested estimate) with ``method="fast"`` on the
authors' released features in ``../shared/reference/choi2017``, and records per cell the wall and
CPU seconds, the best score, the published score and their difference, and which solver scored
each setting. Then, for a few cells, runs the straightforward ``method="gridsearch"`` and records
its time and the largest difference between the two methods, per setting and for the best score.
The machine's load average is recorded too: on a shared machine, wall times are only comparable
at equal load, CPU seconds more so.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from course_utils.core import paths
from course_utils.core.errors import DatasetError
from course_utils.svm import protocol, report
from course_utils.tasks import registry

ROOT = Path(__file__).resolve().parent.parent
SHARED_RELEASE = ROOT.parent / "shared" / "reference" / "choi2017"
# The reference copy beside a course checkout if there is one, else where `course-utils paper-table`
# fetches it ($COURSE_CHOI2017_RELEASE or data/full/choi2017_release); --release overrides both.
RELEASE = SHARED_RELEASE if SHARED_RELEASE.is_dir() else paths.release_dir()


def _cell(task: str, layers: str, method: str, n_jobs: int) -> dict:
    """One cell of the table, as a JSON-ready record (None scores for missing files)."""
    load = os.getloadavg()[0]
    try:
        res = protocol.evaluate_release(RELEASE, task, layers, "paper", method, nested=False, n_jobs=n_jobs)
    except DatasetError as exc:
        return {"task": task, "layers": layers, "method": method, "missing": str(exc).replace(str(ROOT.parent), "..")}
    table = res["scores_per_param"]
    published = registry.get(task).published.get(layers)
    return {"task": task, "layers": layers, "method": method, "seconds": round(res["seconds"], 2),
            "cpu_seconds": round(res["cpu_seconds"], 2), "load_before": round(load, 2),
            "best_score": round(res["best_score"], 4), "published": published,
            "difference": round(res["best_score"] - published, 4) if published is not None else None,
            "best_params": report.describe_params(res["best_params"]),
            "solvers": {k: int(v) for k, v in table["solver"].value_counts().items()},
            "mean_scores": [round(float(v), 5) for v in table["mean_score"]]}


def main(argv=None) -> int:
    global RELEASE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "svm_protocol.json"))
    parser.add_argument("--tasks", default=",".join(registry.names()))
    parser.add_argument("--layer-sets", default="01234,mfcc")
    parser.add_argument("--compare", default="gtzan_genre:01234,emoMusic_arousal:01234",
                        help="cells also run with method='gridsearch' (task:layers, comma-separated)")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--release", default=None, help=f"the authors' released features (default {RELEASE})")
    args = parser.parse_args(argv)
    if args.release:
        RELEASE = Path(args.release).resolve()
    if not (RELEASE / "features").is_dir():
        print(f"released features not found at {RELEASE}; nothing to measure")
        return 1

    cells = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for task in args.tasks.split(","):
        for layers in args.layer_sets.split(","):
            rec = _cell(task, layers, "fast", args.n_jobs)
            cells.append(rec)
            if "missing" in rec:
                print(f"{task:18s} {layers:6s} missing: {rec['missing']}", flush=True)
            else:
                print(f"{task:18s} {layers:6s} {rec['seconds']:7.1f} s (cpu {rec['cpu_seconds']:6.1f} s, load {rec['load_before']:.1f})"
                      f"  score {rec['best_score']:.4f}  published {rec['published'] or float('nan'):.3f}"
                      f"  diff {rec['difference'] if rec['difference'] is not None else float('nan'):+.4f}"
                      f"  {rec['best_params']}  {rec['solvers']}", flush=True)
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{'full table (fast)':25s} {total:7.1f} s wall, {total_cpu:.1f} s CPU, on {os.cpu_count()} CPUs", flush=True)

    comparisons = []
    if not args.no_compare:
        for spec in filter(None, args.compare.split(",")):
            task, layers = spec.split(":")
            fast = next((c for c in cells if c["task"] == task and c["layers"] == layers and "missing" not in c), None)
            if fast is None:
                fast = _cell(task, layers, "fast", args.n_jobs)
            slow = _cell(task, layers, "gridsearch", args.n_jobs)
            diffs = [abs(a - b) for a, b in zip(fast["mean_scores"], slow["mean_scores"])]
            comp = {"task": task, "layers": layers, "fast_seconds": fast["seconds"], "gridsearch_seconds": slow["seconds"],
                    "fast_best": fast["best_score"], "gridsearch_best": slow["best_score"],
                    "best_difference": round(fast["best_score"] - slow["best_score"], 4),
                    "max_setting_difference": round(max(diffs), 4), "fast_solvers": fast["solvers"],
                    "gridsearch_best_params": slow["best_params"], "fast_best_params": fast["best_params"]}
            comparisons.append(comp)
            print(f"{task:18s} {layers:6s} gridsearch {slow['seconds']:7.1f} s vs fast {fast['seconds']:6.1f} s;"
                  f" best {slow['best_score']:.4f} vs {fast['best_score']:.4f};"
                  f" largest difference of one setting {comp['max_setting_difference']:.4f}", flush=True)

    out = {"cpus": os.cpu_count(), "n_jobs": args.n_jobs, "protocol": "paper", "method": "fast",
           "total_seconds": round(total, 1), "total_cpu_seconds": round(total_cpu, 1),
           "cells": [{k: v for k, v in c.items() if k != "mean_scores"} for c in cells], "gridsearch_comparison": comparisons}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
