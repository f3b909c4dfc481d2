"""musicnn on this machine: time and peak memory to tag the four Bensound clips, and the port's error.

    python benchmarks/musicnn.py [--out benchmarks/results/musicnn.json] [--audio DIR]

The wheel and its checkpoints are fetched and unpacked first (not timed). Then, each in a fresh
process (so that peak RSS is its own):

- tagging: load ``MTT_musicnn`` into Keras 3 (``ClipFeatures("musicnn", framing="musicnn")``, one
  patch per pass as musicnn does, no feature cache), then ``tag`` on the four clips (decoding,
  resampling to 16 kHz, log-mel, patches, network): seconds and peak resident memory, the best
  of ``--repeat`` fresh processes (the machine is shared, so the times are upper bounds);
- the check: every model of the wheel against its original TensorFlow 1 graph
  (:mod:`musicnn_original`) on the four clips' patches and on random patches: the
  largest absolute difference of the tags and, for the musicnn models, of the penultimate,
  max-pool and mean-pool features (with the largest value, for scale), and the seconds each
  side takes for the clips' patches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ("actionable", "cute", "dubstep", "thejazzpiano")

TAGGING = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from course_utils.features.clip_features import ClipFeatures
tagger = ClipFeatures("musicnn", layers="tags", framing="musicnn", batch_size=1, cache=False).fit()
t1 = time.perf_counter()
results = tagger.tag(sys.argv[1:], top=5)
t2 = time.perf_counter()
print(json.dumps({"import_and_load_s": round(t1 - t0, 2), "tag_four_clips_s": round(t2 - t1, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "top5": {p.rsplit("/", 1)[-1]: {t: round(s, 3) for t, s in r} for p, r in results}}))
"""

CHECK = r"""
import json, sys, time
import numpy as np
from course_utils.models import musicnn
from musicnn_original import OriginalGraph
clips = np.concatenate([musicnn._patches_of(f) for f in sys.argv[1:]])
noise = np.random.default_rng(0).uniform(0, 3, size=(16, 187, 96)).astype(np.float32)
rows = {}
for name in musicnn.MODELS:
    model, graph = musicnn.load_musicnn(name), OriginalGraph(name)
    outputs = ("tags", "penultimate", "max_pool", "mean_pool") if "musicnn" in name else ("tags",)
    row = {}
    for label, x in (("clips", clips), ("random", noise)):
        t = time.perf_counter(); want = graph.run(x, outputs); t_graph = time.perf_counter() - t
        t = time.perf_counter(); got = musicnn._run(model, x, outputs); t_port = time.perf_counter() - t
        row[label] = {o: {"max_abs_diff": float(np.abs(g - w).max()), "max_abs_value": float(np.abs(w).max())}
                      for o, g, w in zip(outputs, got, want)}
        if label == "clips":
            row.update(patches=len(x), original_graph_s=round(t_graph, 2), keras_port_s=round(t_port, 2))
    rows[name] = row
print(json.dumps(rows))
"""


def _worker(code: str, files: list[str]) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}  # tests/: the oracle musicnn_original
    run = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True, env=env, cwd=ROOT)
    if run.returncode != 0:
        raise SystemExit(run.stderr[-3000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "musicnn.json"))
    parser.add_argument("--audio", default=str(ROOT.parent / "shared" / "reference" / "audio"),
                        help="folder with the four bensound-*.mp3 clips (default ../shared/reference/audio)")
    parser.add_argument("--repeat", type=int, default=3, help="tagging runs, each in a fresh process (the best is kept)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from course_utils import audio
    from course_utils.models import musicnn

    files = [str(Path(args.audio) / f"bensound-{name}.mp3") for name in CLIPS]
    for name in musicnn.MODELS:  # fetch and unpack before timing anything
        musicnn.checkpoint_files(name)
    runs = [_worker(TAGGING, files) for _ in range(max(1, args.repeat))]
    tagging = min(runs, key=lambda r: r["tag_four_clips_s"])
    tagging["tag_four_clips_s_all_runs"] = [r["tag_four_clips_s"] for r in runs]
    print(f"MTT_musicnn: load {tagging['import_and_load_s']} s, tag the four clips {tagging['tag_four_clips_s']} s, "
          f"peak {tagging['peak_rss_mb']} MB", flush=True)
    check = _worker(CHECK, files)
    for name, row in check.items():
        diffs = ", ".join(f"{o} {d['max_abs_diff']:.1e}" for o, d in row["clips"].items())
        print(f"{name}: max |port - original| on {row['patches']} patches: {diffs}", flush=True)
    import keras
    import tensorflow as tf

    result = {
        "cpus": os.cpu_count(), "device": "cpu", "machine": platform.machine(), "python": platform.python_version(),
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "clips": {Path(f).name: round(audio.audio_info(f)["duration"], 2) for f in files},
        "tagging": tagging, "port_vs_original_graph": check,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
