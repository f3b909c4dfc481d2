"""Training throughput of the compact convnet on this machine: what it costs, and what helps.

    python benchmarks/training.py [--out benchmarks/results/training.json] [--repeats 2]

Each configuration runs in a fresh process (so that its peak RSS, page faults and CPU times are
its own): random log-mel inputs through :class:`course_utils.models.training.LogMelSequence` (the way
notebook 02 feeds the network), one warm-up epoch, then one timed epoch of training. Reported per
run: clips per second, minor page faults, user and system CPU seconds per timed epoch, and peak
resident memory. Configurations:

- the notebook's mini setting (96 x 128 crops, batch 16) against the older one (96 x 256, batch
  16) and batch sizes around it;
- the same with glibc's allocator told to keep freed memory (``MALLOC_*`` below), which removes
  most minor page faults (TensorFlow allocates and frees large buffers on every step);
- TensorFlow's other CPU kernels (``TF_ENABLE_ONEDNN_OPTS=0``) and one thread, which stand in
  for other machines in ``make test-portable``;
- the full-size input (96 x 1360) for reference.

Every configuration runs ``--repeats`` times; the JSON keeps every run, so the spread is visible.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: glibc settings that keep freed memory instead of returning it to the system on every step.
MALLOC_KEEP = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824",
               "MALLOC_TOP_PAD_": "536870912"}

#: (label, n_frames, batch, extra environment)
CONFIGS = [
    ("mini, notebook 02 (128 frames, batch 16)", 128, 16, {}),
    ("mini, 128 frames, batch 32", 128, 32, {}),
    ("mini, 128 frames, batch 32, malloc keep", 128, 32, MALLOC_KEEP),
    ("mini, 128 frames, batch 64", 128, 64, {}),
    ("mini, 256-frame crops, batch 16 (before)", 256, 16, {}),
    ("mini, 256-frame crops, batch 32", 256, 32, {}),
    ("mini, 128 frames, batch 32, TF_ENABLE_ONEDNN_OPTS=0", 128, 32, {"TF_ENABLE_ONEDNN_OPTS": "0"}),
    ("mini, 128 frames, batch 32, one thread", 128, 32, {"COURSE_THREADS": "1"}),
    ("full, 96x1360", 1360, 16, {}),
]

WORKER = r"""
import json, os, resource, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("COURSE_THREADS"):
    import tensorflow as tf
    n = int(os.environ["COURSE_THREADS"])
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)
import numpy as np
import keras
from course_utils.models import convnet, training
n_frames, batch, clips = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
convnet.set_seed(0)
rng = np.random.default_rng(0)
x = rng.uniform(-80, 10, size=(clips, 96, max(n_frames, 376))).astype(np.float16)
y = (rng.random((clips, 50)) < 0.1).astype(np.float32)
model = convnet.compact_convnet(n_frames=n_frames)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
seq = training.LogMelSequence(x, y, batch_size=batch, crop_frames=n_frames, training=True)
model.fit(seq, epochs=1, verbose=0)
r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
model.fit(seq, epochs=1, verbose=0)
wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"train_clips_per_s": round(clips / wall, 1), "epoch_s": round(wall, 1),
                  "minor_faults": r1.ru_minflt - r0.ru_minflt,
                  "user_s": round(r1.ru_utime - r0.ru_utime, 1), "sys_s": round(r1.ru_stime - r0.ru_stime, 1),
                  "peak_rss_mb": round(r1.ru_maxrss / 1024)}))
"""


def run_one(frames: int, batch: int, clips: int, extra: dict) -> dict:
    """One configuration in a fresh process; returns its JSON line."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    result = subprocess.run([sys.executable, "-c", WORKER, str(frames), str(batch), str(clips)],
                            capture_output=True, text=True, check=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "training.json"))
    parser.add_argument("--clips", type=int, default=640, help="clips per timed epoch (mini scale)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", default="", help="run only configurations whose label contains this")
    args = parser.parse_args(argv)
    rows = []
    for label, frames, batch, extra in CONFIGS:
        if args.only and args.only not in label:
            continue
        clips = args.clips if frames < 1000 else max(batch * 4, args.clips // 8)
        for repeat in range(args.repeats):
            row = {"config": label, "input": f"96x{frames}", "batch": batch, "env": extra, "repeat": repeat,
                   **run_one(frames, batch, clips, extra)}
            rows.append(row)
            print(f"{label:45s} {row['train_clips_per_s']:6.1f} clips/s  faults {row['minor_faults']:>9,d}  "
                  f"user {row['user_s']:5.1f} s  sys {row['sys_s']:5.1f} s  peak {row['peak_rss_mb']} MB", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpus": os.cpu_count(), "device": "cpu", "clips_per_epoch": args.clips,
                                          "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
