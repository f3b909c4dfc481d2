"""Measure GTZAN genre on the fault-filtered split against the random 10 folds, on the authors' release.

    python benchmarks/gtzan_filtered.py [--out benchmarks/results/gtzan_filtered.json]
                                        [--protocols paper,corrected] [--n-jobs 2]

Runs ``course_utils.svm.gtzan_filtered.gtzan_filtered_table`` (the convnet feature, layers 01234, and
the MFCC baseline: published and reproduced random 10-fold scores, the fault-filtered test
accuracy with its Wilson 95% interval, and the public results on the same split) once per
protocol, and records every row, the chosen settings, the wall and CPU seconds of the whole table
and the wall seconds of the fault-filtered evaluations alone (``random_cv=False``). The release and
the split lists are found as the course finds them (data folder, ``../shared/reference``, network).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from course_utils.svm import gtzan_filtered

ROOT = Path(__file__).resolve().parent.parent


def _measure(protocol: str, n_jobs: int) -> dict:
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    table = gtzan_filtered.gtzan_filtered_table(protocol=protocol, n_jobs=n_jobs)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(gtzan_filtered.format_gtzan_table(table), flush=True)
    filtered_start = time.perf_counter()  # the fault-filtered evaluations alone, without the random 10 folds
    gtzan_filtered.gtzan_filtered_table(protocol=protocol, n_jobs=n_jobs, random_cv=False)
    filtered_seconds = time.perf_counter() - filtered_start
    rows = json.loads(table.reset_index().to_json(orient="records"))
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = int(value) if key == "n_tied" else round(value, 4)
    return {"protocol": protocol, "note": table.attrs["note"], "n_test": table.attrs["n_test"],
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
            "filtered_only_seconds": round(filtered_seconds, 1), "load_before": round(load, 2),
            "rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gtzan_filtered.json"))
    parser.add_argument("--protocols", default="paper,corrected")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    tables = [_measure(p, args.n_jobs) for p in args.protocols.split(",")]
    out = {"cpus": os.cpu_count(), "n_jobs": args.n_jobs, "interval": "Wilson 95% over the test tracks",
           "selection": "grid scored on train vs valid (ties: first in grid order), refit on train+valid, test once",
           "tables": tables}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
