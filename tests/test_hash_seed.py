"""The mini datasets do not depend on Python's hash seed (issue 19).

The order in which a ``set`` of strings iterates depends on ``PYTHONHASHSEED``. A generator that
draws random numbers while iterating over such a set gives each draw to another item in another
process, so the same seed would build another dataset on Colab, Binder or a plain ``python``.
Each mini dataset is built here in two processes with different hash seeds, and every byte of
the two folders (annotations and manifests included) must agree.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.datasets import names

pytestmark = pytest.mark.slow

_BUILD = "import sys; from course_utils.datasets import synthesize; [synthesize(n, root=sys.argv[1] + '/' + n, progress=False) for n in sys.argv[2:]]"


def _digests(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root``."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_mini_dataset_is_byte_identical_under_two_hash_seeds(tmp_path):
    """Both builds run at once (one per core); each uses one worker to leave the other core free."""
    procs = {}
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, COURSE_WORKERS="1")
        procs[seed] = subprocess.Popen([sys.executable, "-c", _BUILD, str(tmp_path / seed), *names()], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for seed, proc in procs.items():
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"build with PYTHONHASHSEED={seed} failed:\n{out[-3000:]}"
    for name in names():
        a, b = _digests(tmp_path / "1" / name), _digests(tmp_path / "4242" / name)
        assert a.keys() == b.keys(), f"{name}: the two builds wrote different files"
        differ = sorted(k for k in a if a[k] != b[k])
        assert not differ, f"{name}: {len(differ)} files differ between hash seeds, e.g. {differ[:5]}"
        assert "MANIFEST.json" in a
