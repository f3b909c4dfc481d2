"""Measure each notebook's headless run: wall time, CPU time and peak memory of its kernel.

    python benchmarks/notebooks.py [NOTEBOOK ...] [--out benchmarks/results/notebooks.json]
    python benchmarks/notebooks.py --one-core --runs 2 --cold-caches     # issue 28's figures (make benchmarks-one-core)

Runs every notebook under notebooks/ (or those given, by path, number or name) in a fresh kernel
with course_utils.authoring.runner (the engine of `make course`), and writes JSON: the machine (CPUs,
the cores the run was pinned to, load average before and after), the settings, every run of every
notebook ({notebook, seconds, cpu_seconds, peak_rss_mb, ok}), and per notebook the minimum, median
and maximum wall time over the runs with their spread, against the budget (issue 28: each notebook
at most 120 s and all of them at most 360 s on one core, under 1.5 GB).

--one-core     pin this process, and so every kernel it starts, to CPU 0 (as `taskset -c 0 make
               course`; Binder gives a session about one core). Thread pools still size themselves
               by the machine's CPU count, as they do on Binder.
--runs N       run the whole set N times (default 1); several runs give the spread.
--cold-caches  each run on a fresh data folder holding only the built mini datasets (hard links to
               data/mini), so that every feature, log-mel and model cache is computed as in a fresh
               clone after `make data`; without it the data folder's caches are used (warm after a
               first run).

Wall time depends on what else the machine runs: read `cpu_seconds` beside it, and quote the
load average and the *steal* recorded with each run (on a virtual machine, the seconds the host
gave the CPU to other guests: wall time that no change to the course can save).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import psutil

from course_utils.authoring.runner import run_notebooks

ROOT = Path(__file__).resolve().parent.parent
BUDGET = {"notebook_seconds": 120, "total_seconds": 360, "peak_rss_mb": 1536}


def pin_to_one_core(cpu: int = 0) -> list[int]:
    """Pin this process (and every process it starts afterwards) to one CPU, as ``taskset -c 0``.

    Returns:
        The CPUs the process may run on now.

    Raises:
        SystemExit: the platform cannot pin (no ``sched_setaffinity``): run under ``taskset -c 0``.
    """
    if not hasattr(os, "sched_setaffinity"):
        raise SystemExit("--one-core needs Linux's sched_setaffinity; run the benchmark under `taskset -c 0` instead")
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu if cpu in allowed else min(allowed)})  # a container may not offer CPU 0
    return sorted(os.sched_getaffinity(0))


def resolve_notebooks(names: list[str]) -> list[Path]:
    """Notebook paths from paths, numbers (``01``) or stems (``01_audio_basics``); all when empty."""
    every = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            chosen.append(path.resolve())
            continue
        found = [p for p in every if name in (p.stem, p.stem.split("_", 1)[0])]
        if not found:
            raise SystemExit(f"no notebook matches {name!r}")
        chosen += found
    return chosen


def fresh_data_folder(folder: Path, source: Path) -> Path:
    """``folder`` holding only ``source/mini`` (hard links; copies across file systems): caches cold."""
    shutil.rmtree(folder, ignore_errors=True)
    mini = source / "mini"
    if not mini.is_dir():
        raise SystemExit(f"no built mini datasets in {mini}: run `make data` first")

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(mini, folder / "mini", copy_function=link)
    return folder


def spread(values: list[float]) -> dict:
    """min, median, max and the spread (max - min, and relative to the median) of some timings."""
    if not values:
        return {}
    med = statistics.median(values)
    return {"min": round(min(values), 1), "median": round(med, 1), "max": round(max(values), 1),
            "spread": round(max(values) - min(values), 1),
            "spread_pct": round(100 * (max(values) - min(values)) / med, 1) if med else 0.0}


def summarise(runs: list[dict]) -> dict:
    """Per notebook and for the total: the spread of wall time, CPU time and peak memory over runs."""
    names = [r["notebook"] for r in runs[0]["notebooks"]] if runs else []
    per = {}
    for name in names:
        rows = [n for r in runs for n in r["notebooks"] if n["notebook"] == name]
        per[name] = {"seconds": spread([n["seconds"] for n in rows]),
                     "cpu_seconds": spread([n.get("cpu_seconds", 0.0) for n in rows]),
                     "peak_rss_mb": spread([n["peak_rss_mb"] for n in rows]),
                     "all_ok": all(n["ok"] for n in rows)}
    return {"notebooks": per, "total_seconds": spread([r["total_seconds"] for r in runs])}


def verdict(summary: dict, budget: dict = BUDGET) -> list[str]:
    """The budget's breaches, judged on each notebook's median run, one line each."""
    lines = []
    for name, s in summary["notebooks"].items():
        if not s["all_ok"]:
            lines.append(f"{name}: failed in at least one run")
        if s["seconds"] and s["seconds"]["median"] > budget["notebook_seconds"]:
            lines.append(f"{name}: {s['seconds']['median']:.0f} s (median) > {budget['notebook_seconds']} s")
        if s["peak_rss_mb"] and s["peak_rss_mb"]["max"] > budget["peak_rss_mb"]:
            lines.append(f"{name}: peak {s['peak_rss_mb']['max']:.0f} MiB > {budget['peak_rss_mb']} MiB")
    total = summary["total_seconds"]
    if total and total["median"] > budget["total_seconds"]:
        lines.append(f"total: {total['median']:.0f} s (median) > {budget['total_seconds']} s")
    return lines


def steal_seconds(cpus: list[int] | None = None) -> float | None:
    """CPU time the hypervisor gave to other guests so far, on ``cpus`` (all when ``None``), in seconds.

    A virtual machine's wall time includes *steal*: moments its virtual CPU was ready but the host
    ran someone else. ``/proc/stat`` counts it per CPU (the eighth value); measured over a run, it
    tells a slow host from a slow notebook. ``None`` where there is no ``/proc/stat``.
    """
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    names = {"cpu"} if cpus is None else {f"cpu{c}" for c in cpus}
    ticks = sum(int(line.split()[8]) for line in lines if line.split() and line.split()[0] in names)
    return round(ticks / os.sysconf("SC_CLK_TCK"), 1)


def machine(pinned: list[int] | None) -> dict:
    return {"cpus": os.cpu_count(), "pinned_to_cpus": pinned,
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": sys.version.split()[0], "platform": platform.platform(),
            "git_commit": _git_commit()}


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="paths, numbers (01) or names; default: all")
    parser.add_argument("--out", default=None, help="the JSON to write (default benchmarks/results/notebooks.json, "
                        "or notebooks_one_core.json with --one-core)")
    parser.add_argument("--build", default=str(ROOT / "build" / "benchmark"))
    parser.add_argument("--one-core", action="store_true", help="pin to CPU 0 (taskset -c 0)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cold-caches", action="store_true", help="each run on a data folder with only the mini datasets")
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "benchmarks" / "results" / ("notebooks_one_core.json" if args.one_core else "notebooks.json"))
    notebooks = [str(p) for p in resolve_notebooks(args.notebooks)]
    pinned = pin_to_one_core() if args.one_core else None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("IPYTHONDIR", str(ROOT / "tests" / "ipython"))  # the profile of `make course`
    from course_utils.core import paths

    source = paths.data_dir()
    build = Path(args.build)
    runs = []
    for k in range(1, max(1, args.runs) + 1):
        print(f"run {k} of {args.runs}{' on one core' if pinned else ''}"
              f"{', feature caches cold' if args.cold_caches else ''}", flush=True)
        if args.cold_caches:
            os.environ["COURSE_DATA_DIR"] = str(fresh_data_folder(build / f"data-run{k}", source))
        load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
        steal_before = steal_seconds(pinned)
        began = time.time()
        results = run_notebooks(notebooks, build / f"run{k}", html=False, json_path=build / f"run{k}" / "summary.json")
        runs.append({"run": k, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(began)),
                     "load_average_before": load_before,
                     "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
                     "total_seconds": round(sum(r.seconds for r in results), 1),
                     "total_cpu_seconds": round(sum(r.cpu_seconds for r in results), 1),
                     "steal_seconds": (None if steal_before is None
                                       else round(steal_seconds(pinned) - steal_before, 1)),
                     "notebooks": [asdict(r) for r in results]})
        if args.cold_caches:
            shutil.rmtree(build / f"data-run{k}", ignore_errors=True)
    summary = summarise(runs)
    result = {"machine": machine(pinned),
              "settings": {"one_core": args.one_core, "runs": len(runs), "cold_caches": args.cold_caches},
              "budget": BUDGET, "summary": summary, "over_budget": verdict(summary), "runs": runs}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    print(f"\n{'notebook':<32} {'median s':>8} {'min':>6} {'max':>6} {'cpu s':>6} {'peak MiB':>8}")
    for name, s in summary["notebooks"].items():
        print(f"{name:<32} {s['seconds']['median']:>8.1f} {s['seconds']['min']:>6.1f} {s['seconds']['max']:>6.1f} "
              f"{s['cpu_seconds']['median']:>6.1f} {s['peak_rss_mb']['max']:>8.0f}")
    t = summary["total_seconds"]
    print(f"{'total':<32} {t['median']:>8.1f} {t['min']:>6.1f} {t['max']:>6.1f}")
    for r in runs:
        print(f"run {r['run']}: {r['total_seconds']:.1f} s wall, {r['total_cpu_seconds']:.1f} s CPU, "
              f"{r['steal_seconds']} s stolen by the host on the CPUs used")
    print(f"\nwrote {out}")
    for line in result["over_budget"]:
        print(f"over budget: {line}")
    return 0 if all(s["all_ok"] for s in summary["notebooks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
