"""Execute the course's notebooks headless and measure them: the engine of ``make course``.

Each notebook runs in a fresh Jupyter kernel (nbclient); its executed copy and an HTML rendering
are written to the output folder, and a background thread samples the resident memory of the
kernel process so that the closing summary can report each notebook's peak memory.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass
class NotebookRun:
    """Outcome of one headless notebook run.

    Attributes:
        notebook: the notebook's file name.
        seconds: wall time of the execution, kernel start included.
        peak_rss_mb: the highest resident memory of the kernel and its children, in MiB.
        ok: whether every cell ran without error (a cell that calls ``sys.exit(0)`` ends the
            notebook successfully).
        error: one line, without colour codes, when ``ok`` is false: the exception, the time
            limit that was exceeded, or why the notebook could not be read.
        cpu_seconds: user + system CPU time of the kernel and its children (sampled, so the last
            tenth of a second may be missing): unlike wall time, it hardly depends on what else
            the machine is doing.
    """

    notebook: str
    seconds: float
    peak_rss_mb: float
    ok: bool
    error: str = ""
    cpu_seconds: float = 0.0


class PeakMemorySampler:
    """Sample the summed RSS of this process's child processes (the kernels) in a thread.

    Use as a context manager; read ``peak_bytes`` and ``cpu_seconds`` (the CPU time the child
    processes used while it ran, as last sampled) afterwards.

    Args:
        interval: seconds between samples.
    """

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peak_bytes = 0
        self._cpu_start: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for child in psutil.Process().children(recursive=True):
            try:
                total += child.memory_info().rss
                t = child.cpu_times()
                cpu = t.user + t.system
            except psutil.Error:
                continue
            self._cpu_start.setdefault(child.pid, 0.0 if self._started else cpu)
            self._cpu_last[child.pid] = cpu
        return total

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu_last[p] - self._cpu_start[p] for p in self._cpu_last)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemorySampler":
        self._started = False
        self._sample()  # children that exist already count from now on, new ones from their start
        self._started = True
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def kernel_manager_config(kernel_name: str = "python3"):
    """The kernel manager's settings for the runner's kernels: encrypted, or over local sockets.

    ipykernel 7 warns "Kernel is running over TCP without encryption" at every start on the
    default transport (TCP on 127.0.0.1, in plain text). Where jupyter_client can provision
    CurveZMQ keys, pyzmq supports them and the kernel declares it, the kernel runs encrypted;
    otherwise, on POSIX, over Unix domain sockets (``transport="ipc"``); elsewhere as before.

    Args:
        kernel_name: the kernel spec the notebooks run on.

    Returns:
        A :class:`traitlets.config.Config` for :class:`nbclient.NotebookClient`.
    """
    import os

    import zmq
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    try:
        declared = KernelSpecManager().get_kernel_spec(kernel_name).metadata.get("supported_encryption", [])
    except (NoSuchKernel, OSError, ValueError):
        declared = []
    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve") and "curve" in declared:
        return Config({"KernelManager": {"transport_encryption": "auto"}})
    if os.name == "posix":
        return Config({"KernelManager": {"transport": "ipc"}})
    return Config()


def execute_notebook(path, out_dir, *, timeout: int = 1800, html: bool = True, inplace: bool = False) -> NotebookRun:
    """Run one notebook top to bottom in a fresh kernel, save the executed copy (and HTML).

    Args:
        path: the notebook (``.ipynb``).
        out_dir: where ``NAME.ipynb`` and ``NAME.html`` are written.
        timeout: the longest a single cell may run, in seconds.
        html: also write an HTML rendering.
        inplace: also store the outputs in the notebook itself (how maintainers refresh the
            outputs that nbval compares); only when every cell ran.

    Returns:
        A :class:`NotebookRun` with wall time and peak kernel memory.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # missing, not JSON, not a notebook: this notebook fails, the run goes on
        return NotebookRun(path.name, 0.0, 0.0, False, _one_line(f"cannot read the notebook {path} ({exc})"))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                            config=kernel_manager_config())
    ok, error = True, ""
    start = time.perf_counter()
    with PeakMemorySampler() as sampler:
        try:
            client.execute()
        except CellTimeoutError:
            ok, error = False, f"a cell ran longer than the {timeout} s limit"
        except DeadKernelError as exc:
            ok, error = False, _one_line(f"the kernel died (out of memory?): {exc}")
        except CellExecutionError as exc:
            if exc.ename == "SystemExit" and _strip_ansi(str(exc.evalue)).strip() in ("", "0", "None"):
                ok = True  # sys.exit(0): the notebook chose to stop there, successfully
            else:
                ok, error = False, _one_line(f"{exc.ename}: {exc.evalue}")
    seconds = time.perf_counter() - start
    nbformat.write(nb, out_dir / path.name)
    if inplace and ok:
        nbformat.write(nb, path)
    if html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        (out_dir / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
    return NotebookRun(path.name, round(seconds, 1), round(sampler.peak_bytes / 2**20, 1), ok, error,
                       round(sampler.cpu_seconds, 1))


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


def _one_line(text: str) -> str:
    """The first meaningful line of an error, without colour codes (for the summary and its JSON)."""
    lines = [line.strip() for line in _strip_ansi(str(text)).splitlines()]
    return next((line for line in lines if any(c.isalnum() for c in line)), "unknown error")[:300]


def format_summary(runs: list[NotebookRun]) -> str:
    """A plain-text table of wall time and peak memory per notebook.

    Args:
        runs: the results of :func:`execute_notebook`.

    Returns:
        The table, one line per notebook and a total line.
    """
    width = max([len(r.notebook) for r in runs] + [8])
    lines = [f"{'notebook':<{width}}  {'status':>6}  {'wall s':>7}  {'peak MiB':>8}"]
    for r in runs:
        lines.append(f"{r.notebook:<{width}}  {'ok' if r.ok else 'FAILED':>6}  {r.seconds:>7.1f}  {r.peak_rss_mb:>8.0f}")
    total = sum(r.seconds for r in runs)
    peak = max((r.peak_rss_mb for r in runs), default=0.0)
    lines.append(f"{'total':<{width}}  {'':>6}  {total:>7.1f}  {peak:>8.0f}")
    return "\n".join(lines)


def run_notebooks(paths, out_dir="build", *, timeout: int = 1800, html: bool = True, json_path=None,
                  inplace: bool = False) -> list[NotebookRun]:
    """Execute notebooks in order with a progress line each and a closing summary.

    Args:
        paths: notebooks to run, in order.
        out_dir: output folder for executed notebooks, HTML and ``course_summary.json``.
        timeout: per-cell limit in seconds.
        html: also write HTML renderings.
        json_path: where to write the summary as JSON (default ``out_dir/course_summary.json``).
        inplace: also store the outputs in the notebooks themselves.

    Returns:
        One :class:`NotebookRun` per notebook.
    """
    from course_utils.core.files import atomic_write_text

    paths = [Path(p) for p in paths]
    runs = []
    try:
        for i, path in enumerate(paths, 1):
            print(f"[{i}/{len(paths)}] {path.name} ...", flush=True)
            run = execute_notebook(path, out_dir, timeout=timeout, html=html, inplace=inplace)
            status = "ok" if run.ok else f"FAILED: {run.error}"
            print(f"[{i}/{len(paths)}] {path.name}: {status} in {run.seconds:.1f} s, peak {run.peak_rss_mb:.0f} MiB", flush=True)
            runs.append(run)
    finally:  # the summary of the notebooks that ran is written even if the run is interrupted
        print()
        print(format_summary(runs))
        json_path = Path(json_path) if json_path else Path(out_dir) / "course_summary.json"
        atomic_write_text(json_path, json.dumps([asdict(r) for r in runs], indent=2) + "\n")
    return runs
