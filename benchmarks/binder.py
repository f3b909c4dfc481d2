"""What a Binder user waits for, on one core (issue 28): the synthesis of binder/postBuild, then the
first notebook's cold start.

    python benchmarks/binder.py [--out benchmarks/results/binder.json] [--notebook 01] [--skip-synth]

Pinned to CPU 0 (as ``taskset -c 0``; a Binder session has about one core), in a fresh data folder
(``build/benchmark/binder-data``), it measures:

1. **postBuild's synthesis**: ``python -m course_utils data synth all``, the step of
   ``binder/postBuild`` that takes time (its ``pip install -e .`` is left out: it would change the
   environment this runs in): wall and CPU seconds, peak memory, and the size of what it writes;
2. **the first notebook's cold start**: a kernel started from nothing (wall seconds until it
   answers), then the first notebook run top to bottom on that data folder, every cache cold, as
   `make course` runs it (wall and CPU seconds, peak memory).

``--skip-synth`` links the mini datasets of the data folder instead of synthesising them (step 2
only). Wall time depends on what else the machine runs: the load average is recorded with each step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebooks import machine, pin_to_one_core, resolve_notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _load() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _folder_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def measure_synthesis(data: Path) -> dict:
    """``python -m course_utils data synth all`` into ``data``: seconds, CPU seconds, peak MiB, MB written."""
    from course_utils.authoring.runner import PeakMemorySampler

    env = {**os.environ, "COURSE_DATA_DIR": str(data), "TF_CPP_MIN_LOG_LEVEL": "3"}
    load = _load()
    began = time.perf_counter()
    with PeakMemorySampler() as sampler:
        done = subprocess.run([sys.executable, "-m", "course_utils", "data", "synth", "all"], env=env,
                              capture_output=True, text=True)
    seconds = time.perf_counter() - began
    return {"command": "python -m course_utils data synth all", "ok": done.returncode == 0,
            "seconds": round(seconds, 1), "cpu_seconds": round(sampler.cpu_seconds, 1),
            "peak_rss_mb": round(sampler.peak_bytes / 2**20, 1), "written_mb": _folder_mb(data),
            "load_average_before": load, "load_average_after": _load(),
            "stderr_tail": done.stderr[-2000:] if done.returncode else ""}


def measure_kernel_start() -> dict:
    """Seconds from starting a python3 kernel until it answers ``kernel_info`` (with the course's profile)."""
    from jupyter_client.manager import KernelManager

    from course_utils.authoring.runner import kernel_manager_config

    load = _load()
    began = time.perf_counter()
    km = KernelManager(kernel_name="python3", config=kernel_manager_config())
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=300)
    seconds = time.perf_counter() - began
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {"seconds": round(seconds, 2), "load_average_before": load}


def measure_first_notebook(notebook: Path, data: Path, build: Path) -> dict:
    """The first notebook run headless on ``data`` (caches cold), as `make course` runs it."""
    from dataclasses import asdict

    from course_utils.authoring.runner import execute_notebook

    os.environ["COURSE_DATA_DIR"] = str(data)
    load = _load()
    run = execute_notebook(notebook, build, html=False)
    return {**asdict(run), "load_average_before": load, "load_average_after": _load()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "binder.json"))
    parser.add_argument("--notebook", default="01", help="the first notebook (number, name or path)")
    parser.add_argument("--build", default=str(ROOT / "build" / "benchmark"))
    parser.add_argument("--skip-synth", action="store_true", help="link the built minis instead of synthesising them")
    args = parser.parse_args(argv)
    pinned = pin_to_one_core()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("IPYTHONDIR", str(ROOT / "tests" / "ipython"))
    from course_utils.core import paths

    build = Path(args.build)
    data = build / "binder-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    result = {"machine": machine(pinned)}
    if args.skip_synth:
        from notebooks import fresh_data_folder

        fresh_data_folder(data, paths.data_dir())
        result["synthesis"] = None
    else:
        print("postBuild's synthesis on one core ...", flush=True)
        result["synthesis"] = measure_synthesis(data)
        print(f"  {result['synthesis']['seconds']} s, {result['synthesis']['cpu_seconds']} CPU s, "
              f"peak {result['synthesis']['peak_rss_mb']:.0f} MiB, {result['synthesis']['written_mb']} MB", flush=True)
    print("a kernel's cold start ...", flush=True)
    result["kernel_start"] = measure_kernel_start()
    print(f"  {result['kernel_start']['seconds']} s", flush=True)
    (notebook,) = resolve_notebooks([args.notebook])
    print(f"{notebook.name}, caches cold ...", flush=True)
    result["first_notebook"] = measure_first_notebook(notebook, data, build / "binder-run")
    print(f"  {result['first_notebook']['seconds']} s, {result['first_notebook']['cpu_seconds']} CPU s, "
          f"peak {result['first_notebook']['peak_rss_mb']:.0f} MiB", flush=True)
    shutil.rmtree(data, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    print(f"wrote {out}")
    ok = result["first_notebook"]["ok"] and (result["synthesis"] is None or result["synthesis"]["ok"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
