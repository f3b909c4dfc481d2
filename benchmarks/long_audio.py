"""Peak memory of `course-utils features` and `tag` on one hour of 44.1 kHz stereo audio.

    python benchmarks/long_audio.py [--out benchmarks/results/long_audio.json] [--seconds 3600]

Writes an hour of 44.1 kHz stereo 16-bit WAV (635 MB) into a temporary folder, block by block,
then runs each command in its own process and reads that process's peak resident memory from
the kernel (``os.wait4``'s ``ru_maxrss``). The same commands on a 1 s file give the baseline (the
Python, NumPy, librosa and, for ``tag``, TensorFlow imports), so the difference is what the
long file costs. ``tag`` uses an untrained compact convnet (memory does not depend on the
weights) and, for ``--model choi2017``, the authors' weights from ``../shared/reference`` when
present, and ``--model musicnn`` when musicnn's wheel is in the data folder or the reference folder.
The whole file is analysed: a file of more than ``course_utils.features.clip_features.STREAM_SECONDS`` is
decoded and analysed a segment at a time (issue 26), so the peak stays near the 1 s file's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_WEIGHTS = ROOT.parent / "shared" / "reference" / "choi2017" / "models" / "transfer_convnet_keras2.hdf5"
WHEEL = "musicnn-0.1.0-py3-none-any.whl"
WHEELS = [ROOT / "data" / "models" / WHEEL, ROOT.parent / "shared" / "reference" / WHEEL,
          ROOT.parent / "shared" / "reference" / "musicnn" / WHEEL]


def write_long_wav(path: Path, seconds: float, sr: int = 44100, block_seconds: float = 60.0) -> None:
    """A stereo 16-bit WAV of quiet noise and a slow chord, written a minute at a time."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=sr, channels=2, subtype="PCM_16") as f:
        done = 0
        total = int(seconds * sr)
        while done < total:
            n = min(int(block_seconds * sr), total - done)
            t = (done + np.arange(n)) / sr
            tone = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)
            noise = 0.02 * rng.standard_normal((n, 2))
            f.write((tone[:, None] + noise).astype(np.float32))
            done += n


# An untrained tagger, made in its own process so that TensorFlow never enters this one.
MAKE_TAGGER = """
import sys
from course_utils.datasets.magnatagatune import TOP50_TAGS
from course_utils.models import convnet, training
training.save_tagger(convnet.compact_convnet(n_frames=256, n_tags=50), sys.argv[1],
                    {"tags": list(TOP50_TAGS), "crop_frames": 256})
"""


def peak_rss_mb(args: list[str], env: dict) -> tuple[float, float, int]:
    """Run ``python -m course_utils ARGS``; return (peak RSS in MiB, seconds, exit status).

    The kernel's high-water mark of a child counts the pages it shared with this process between
    fork and exec, so this process imports nothing heavy (no TensorFlow) to keep it below the
    children's own peaks.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "course_utils", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace").strip()
    if proc.returncode:
        print(f"  exit {proc.returncode}: {err[-300:]}", file=sys.stderr)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, proc.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "long_audio.json"))
    parser.add_argument("--seconds", type=float, default=3600.0, help="length of the long file (default one hour)")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "COURSE_DATA_DIR": str(tmp / "data"), "TF_CPP_MIN_LOG_LEVEL": "3",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        long_wav, short_wav = tmp / "hour.wav", tmp / "second.wav"
        write_long_wav(long_wav, args.seconds)
        write_long_wav(short_wav, 1.0)
        model = tmp / "tagger.keras"
        subprocess.run([sys.executable, "-c", MAKE_TAGGER, str(model)], env=env, check=True, stderr=subprocess.DEVNULL)
        commands = {"features": ["features"], "tag": ["tag", "--model", str(model)]}
        if REFERENCE_WEIGHTS.is_file():
            (tmp / "data" / "models").mkdir(parents=True)
            shutil.copy(REFERENCE_WEIGHTS, tmp / "data" / "models" / "choi2017_transfer_convnet_keras2.hdf5")
            commands["tag --model choi2017"] = ["tag", "--model", "choi2017"]
        wheel = next((w for w in WHEELS if w.is_file()), None)
        if wheel is not None:
            (tmp / "data" / "models").mkdir(parents=True, exist_ok=True)
            shutil.copy(wheel, tmp / "data" / "models" / WHEEL)
            commands["tag --model musicnn"] = ["tag", "--model", "musicnn"]
        for name, command in commands.items():
            base, _, _ = peak_rss_mb([*command, str(short_wav)], env)
            peak, seconds, status = peak_rss_mb([*command, str(long_wav)], env)
            rows.append({"command": f"course-utils {name}", "peak_rss_mib": round(peak), "baseline_1s_mib": round(base),
                         "long_file_costs_mib": round(peak - base), "seconds": round(seconds, 1), "exit_status": status})
            print(f"{name:24s} peak {peak:6.0f} MiB (1 s file: {base:5.0f} MiB, +{peak - base:4.0f}) in {seconds:5.1f} s",
                  flush=True)
        size = long_wav.stat().st_size
    result = {"audio": {"seconds": args.seconds, "sample_rate": 44100, "channels": 2, "format": "WAV PCM_16",
                        "mebibytes": round(size / 2**20)},
              "analysed": "the whole file, a segment at a time above 600 s (clip_features.STREAM_SECONDS)",
              "cpus": os.cpu_count(), "commands": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
