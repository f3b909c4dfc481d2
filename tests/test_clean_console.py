"""A successful `make course` prints its per-notebook lines and the closing table, nothing that says
"error" or "warning" (issue 28): each source of native noise is silenced where it starts, and a
real message still reaches stderr."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_utils.audio import io
from course_utils.audio.io import encode_mp3

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "tests" / "ipython"
RESERVOIR_LINE = (b"[src/libmpg123/layer3.c:INT123_do_layer3():1774] error: part2_3_length (1216) too large "
                  b"for available bit count (1152)\n")


def _mp3_with_a_busy_bit_reservoir(path: Path, sr: int = 22050, seconds: float = 8.0) -> Path:
    """A mini MP3 whose frames borrow bits from one another: a tone with bursts of noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 2 * t) > 0)
    path.write_bytes(encode_mp3(y.astype(np.float32), sr))
    return path


OFFSETS = [float(o) for o in np.arange(0.1, 7.5, 0.37)]


def test_mp3_read_at_an_offset_writes_nothing_to_stderr(tmp_path, capfd):
    import soundfile as sf

    mp3 = _mp3_with_a_busy_bit_reservoir(tmp_path / "busy.mp3")
    capfd.readouterr()
    for offset in OFFSETS:  # soundfile alone: libmpg123 complains at some of these offsets
        with sf.SoundFile(str(mp3)) as f:
            f.seek(int(offset * f.samplerate))
            f.read(1000)
    raw = capfd.readouterr().err
    for offset in OFFSETS:
        y = io.load_audio(mp3, offset=offset, duration=0.5)
        assert len(y) == 6000 and np.abs(y).max() > 0.05
    assert capfd.readouterr().err == ""
    # the file does provoke the decoder (where a later libsndfile stops complaining, this says so)
    assert "part2_3_length" in raw, "libmpg123 no longer complains on a seek: the filter in audio.py may go"


def test_only_the_decoders_complaint_is_dropped(capfd):
    with io._without_mpg123_reservoir_lines():
        os.write(2, RESERVOIR_LINE + b"a real problem\n" + RESERVOIR_LINE)
    assert capfd.readouterr().err == "a real problem\n"
    with io._without_mpg123_reservoir_lines(active=False):
        os.write(2, RESERVOIR_LINE)
    assert "part2_3_length" in capfd.readouterr().err


def test_a_wav_read_at_an_offset_leaves_stderr_alone(tmp_path, capfd, monkeypatch):
    import soundfile as sf

    wav = tmp_path / "a.wav"
    sf.write(wav, np.sin(np.arange(22050) / 5.0).astype(np.float32), 22050)
    used = []
    monkeypatch.setattr(io, "_without_mpg123_reservoir_lines",
                        lambda active=True: used.append(active) or contextlib.nullcontext())
    io.load_audio(wav, offset=0.5)
    assert used == [False]


def test_runner_kernels_start_without_the_tcp_warning(tmp_path, capfd):
    """The kernels of `make course` run encrypted (CurveZMQ) or over ipc: ipykernel does not warn."""
    import nbformat

    from course_utils.authoring.runner import kernel_manager_config, run_notebooks

    config = kernel_manager_config()
    assert config.KernelManager.get("transport_encryption") == "auto" or config.KernelManager.get("transport") == "ipc"
    nb = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), nb)
    (run,) = run_notebooks([nb], tmp_path / "build", html=False)
    assert run.ok and run.cpu_seconds > 0  # the kernel's CPU time is measured too (benchmarks on a shared machine)
    out, err = capfd.readouterr()
    assert "without encryption" not in err and "WARNING" not in err, err
    assert "error" not in (out + err).lower() and "warning" not in (out + err).lower(), out + err


def test_kernels_fall_back_to_ipc_where_curve_encryption_is_unavailable(monkeypatch):
    import zmq

    from course_utils.authoring.runner import kernel_manager_config

    monkeypatch.setattr(zmq, "has", lambda capability: False)
    config = kernel_manager_config()
    if os.name == "posix":
        assert config.KernelManager.transport == "ipc" and "transport_encryption" not in config.KernelManager
    else:
        assert "KernelManager" not in config
    monkeypatch.undo()  # curve available, but a kernel that does not declare it: ipc as well
    if os.name == "posix":
        assert kernel_manager_config("no-such-kernel").KernelManager.transport == "ipc"


@pytest.mark.slow
def test_tensorflow_import_under_the_course_profile_is_quiet(tmp_path):
    """The kernel profile drops absl's pre-initialisation lines when TensorFlow is imported."""
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed (the 'deep' extra)")
    script = (
        "import os\n"
        "from traitlets.config import Config\n"
        f"exec(open({str(PROFILE / 'profile_default' / 'ipython_kernel_config.py')!r}).read(), {{'get_config': Config}})\n"
        "import tensorflow as tf\n"
        "assert type(tf.__spec__.loader).__name__ != 'QuietLoader'\n"
        "os.write(2, b'a real problem\\n')\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode() == "a real problem\n"
