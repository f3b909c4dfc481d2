"""The learner's own screen: every notebook opened and run in JupyterLab, in headless Chromium.

    python tests/lab_check.py [--notebooks 01,04] [--out build/lab] [--timeout 1200]
    LAB_CHECK_NOTEBOOKS="01 04" make lab-check

Starts JupyterLab on 127.0.0.1 (a free port, a random token) over a copy of the notebooks in
``build/lab/copies/`` (so nothing the browser does touches ``notebooks/``), drives Debian's Chromium
with Playwright for Python, and for each notebook:

1. opens it **as stored**, takes a full-page screenshot (``build/lab/NN_name-stored.png``) and checks
   that no output shows "Error displaying widget", "model not found", a traceback or a bar at 0%;
2. runs it with **Restart Kernel and Run All Cells**, waits for every cell to run and the kernel to
   go idle, and checks that no cell shows an error or a traceback, that every ``<audio>`` has loaded
   its media with a positive duration, and every ``<img>`` a positive natural width; records the
   wall time in the browser and a full-page screenshot (``build/lab/NN_name-run.png``).

Writes ``build/lab/summary.json`` (one entry per notebook: the problems found, the wall time of the
run, the counts of players and images, the screenshots) and the server's log,
``build/lab/server.log``. Exits 0 when every notebook passes, 1 otherwise, 2 when Chromium, Playwright
or JupyterLab is missing. ``tests/test_lab_check.py`` runs it under pytest (marked slow).

Which notebooks: all of ``notebooks/NN_*.ipynb``, or those whose number or name is given with
``--notebooks`` or ``LAB_CHECK_NOTEBOOKS`` (comma- or space-separated: ``01``, ``01,06``,
``03_transfer_features``). The browser is found as for the slide check: ``$CHROMIUM``, then
``chromium`` on the PATH; Playwright never downloads one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
ENV_SELECTION = "LAB_CHECK_NOTEBOOKS"

#: Text that must not appear in any output, as stored or after the run.
BAD_TEXT = ("Error displaying widget", "model not found", "Traceback (most recent call last)")

#: A progress bar drawn at 0 % ("desc:   0%|", not the "100%|" of a finished one): what a stored
#: widget bar shows without its kernel, read as an extraction that never ran.
ZERO_BAR = re.compile(r"(?<![\d.])0%\|")

#: JupyterLab's settings for the check (a private settings folder; the user's are not touched):
#: every cell in the page (no windowing), so that every player and image can be checked and the
#: screenshot holds the whole notebook; no news, update check or restart dialog.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension/sessionDialogs.jupyterlab-settings": {"skipKernelRestartDialog": True},
}

#: The tallest full-page screenshot, in CSS pixels (Chromium's limit is about 16k device pixels per side
#: for one capture; Playwright stitches taller ones, this keeps the files reasonable).
MAX_SHOT_HEIGHT = 30000


@dataclass
class NotebookCheck:
    """What the browser saw of one notebook."""

    notebook: str
    stored_problems: list[str] = field(default_factory=list)
    run_problems: list[str] = field(default_factory=list)
    seconds: float | None = None
    cells: int = 0
    audio: int = 0
    images: int = 0
    screenshots: list[str] = field(default_factory=list)
    remote_images: list[str] = field(default_factory=list)  # not checked: the check runs offline
    blocked: list[str] = field(default_factory=list)  # requests that left the server, refused

    run: bool = True  # False: opened as stored only

    @property
    def ok(self) -> bool:
        return not self.stored_problems and not self.run_problems and (self.seconds is not None or not self.run)


class LabCheckUnavailable(RuntimeError):
    """Chromium, Playwright or JupyterLab is missing: the check cannot run here."""


def select_notebooks(selection: str | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """The notebooks to check: all, or those named by number or name (comma- or space-separated).

    Raises:
        SystemExit: a name matches no notebook.
    """
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    selection = (selection if selection is not None else os.environ.get(ENV_SELECTION, "")).replace(",", " ").split()
    if not selection:
        return every
    chosen = []
    for want in selection:
        want = want.removesuffix(".ipynb")
        found = [p for p in every if p.stem == want or p.stem.split("_", 1)[0] == want]
        if not found:
            raise SystemExit(f"lab-check: no notebook matches {want!r} (have {', '.join(p.stem for p in every)})")
        chosen += [p for p in found if p not in chosen]
    return chosen


def find_chromium() -> str | None:
    """``$CHROMIUM`` or Chromium on the PATH (as the slide check finds it)."""
    from course_utils.authoring.slides import find_chromium as find

    return find()


def requirements_missing() -> str | None:
    """Why the check cannot run here, or ``None``."""
    if find_chromium() is None:
        return "no Chromium for the JupyterLab check: `apt-get install chromium` (as root; `make test` does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: pip install -r requirements-test.txt"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed: pip install -r requirements.txt"
    return None


def link_tree(src: Path, dst: Path) -> int:
    """``dst`` as a copy of ``src`` made of hard links (copies across file systems); the number of files.

    The course replaces the files it writes atomically, so the kernels of the check can write their
    caches into ``dst`` without changing a byte of ``src``.
    """
    n = 0
    for dirpath, _dirs, files in os.walk(src):
        target = dst / Path(dirpath).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(Path(dirpath) / name, target / name)
            except OSError:
                shutil.copy2(Path(dirpath) / name, target / name)
            n += 1
    return n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """JupyterLab on 127.0.0.1 over ``root``, with a token, private settings, its log in ``log``."""

    def __init__(self, root: Path, state: Path, log: Path, data_dir: Path | None = None, startup_timeout: float = 180):
        self.root, self.state, self.log_path, self.data_dir = root, state, log, data_dir
        self.port, self.token = _free_port(), secrets.token_hex(24)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LabServer":
        settings = self.state / "settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values, indent=1))
        env = {**os.environ,
               "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(self.state / "workspaces"),
               "JUPYTER_RUNTIME_DIR": str(self.state / "runtime"),
               # the kernels as `make course` runs them: the course's IPython profile, TensorFlow quiet
               "IPYTHONDIR": os.environ.get("IPYTHONDIR") or str(REPO / "tests" / "ipython"),
               "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               # this checkout's course_utils, wherever the notebooks' copies are
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        if self.data_dir is not None:
            env["COURSE_DATA_DIR"] = str(self.data_dir)
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
               "--ServerApp.open_browser=False", "--ServerApp.terminals_enabled=False",
               "--LabApp.extension_manager=readonly"]  # no PyPI queries from the extension manager
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container's root: Jupyter asks to be told
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                                     start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"JupyterLab did not answer within {self.startup_timeout:.0f} s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Jupyter asks; a second SIGINT shuts down without asking
            time.sleep(0.5)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


# JavaScript run in the page (the app is exposed as window.jupyterapp by --LabApp.expose_app_in_browser).
_JS_READY = """(n) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.context || !w.context.isReady) return false;
  return w.content.widgets.length === n;
}"""
_JS_KERNEL = "() => { const w = window.jupyterapp.shell.currentWidget; return !!(w.sessionContext.session && w.sessionContext.session.kernel); }"
_JS_CLEAR_COUNTS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  w.content.widgets.forEach(c => { if (c.model.type === 'code') c.model.executionCount = null; });
  return w.content.widgets.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim()).length;
}"""
_JS_RUN_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const code = w.content.widgets.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim());
  const errors = [];
  w.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    for (const o of c.model.outputs.toJSON()) if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
  });
  return {status: kernel ? kernel.status : 'none', done: code.filter(c => c.model.executionCount !== null).length,
          total: code.length, running: document.querySelectorAll('.jp-InputPrompt').length ?
            [...document.querySelectorAll('.jp-InputPrompt')].filter(p => p.innerText.includes('*')).length : 0,
          errors};
}"""
_JS_MEDIA = """async (timeoutMs) => {
  const audio = [...document.querySelectorAll('.jp-Notebook audio')];
  const remote = (i) => /^(https?:)?\\/\\//.test(i.getAttribute('src') || '');
  const images = [...document.querySelectorAll('.jp-Notebook img')].filter(i => !remote(i));
  const t0 = Date.now();
  const settled = () => audio.every(a => a.error || (a.readyState >= 1 && a.duration > 0)) && images.every(i => i.complete);
  audio.forEach(a => { if (a.readyState === 0 && !a.error) { a.preload = 'metadata'; a.load(); } });
  while (!settled() && Date.now() - t0 < timeoutMs) await new Promise(r => setTimeout(r, 200));
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const where = (el) => cells.indexOf(el.closest('.jp-Cell'));
  return {
    audio: audio.length, images: images.length,
    remote: [...document.querySelectorAll('.jp-Notebook img')].filter(remote).map(i => i.getAttribute('src')),
    badAudio: audio.filter(a => a.error || !(a.readyState >= 1 && isFinite(a.duration) && a.duration > 0))
                   .map(a => `cell ${where(a)}: <audio> ` + (a.error ? `error ${a.error.code}` : `readyState ${a.readyState}, duration ${a.duration}`)),
    badImages: images.filter(i => !i.complete || !(i.naturalWidth > 0))
                     .map(i => `cell ${where(i)}: <img alt="${i.alt}"> naturalWidth ${i.naturalWidth}`),
  };
}"""
_JS_CONTENT_HEIGHT = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const scroller = w.content.node.querySelector('.jp-WindowedPanel-outer') || w.content.node;
  const top = w.content.node.getBoundingClientRect().top;
  return Math.ceil(top + scroller.scrollHeight + 40);
}"""


def _bad_text(page) -> list[str]:
    """What the outputs on the page show that they must not: BAD_TEXT, and a progress bar at 0%."""
    problems = []
    for cell, text in page.evaluate("""() => { const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
        return [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')].map(o => [cells.indexOf(o.closest('.jp-Cell')), o.innerText]); }"""):
        for bad in BAD_TEXT:
            if bad in text:
                line = next((ln.strip() for ln in text.splitlines() if bad in ln), bad)
                problems.append(f"cell {cell}: an output shows {bad!r}: {line[:160]}")
        zero = ZERO_BAR.search(text)
        if zero:
            problems.append(f"cell {cell}: an output shows a progress bar at 0%: {text[max(0, zero.start() - 40):zero.end() + 20].strip()!r}")
    return problems


def _accept_kernel_dialog(page, wait_ms: int = 2000) -> None:
    """A notebook without kernel metadata asks which kernel to start: take the one offered."""
    try:
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=wait_ms)
    except Exception:
        pass


def _screenshot(page, path: Path, width: int) -> str:
    """A screenshot of the whole notebook: the viewport is made as tall as the notebook first."""
    height = min(max(int(page.evaluate(_JS_CONTENT_HEIGHT)), 720), MAX_SHOT_HEIGHT)
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})
    return _relative(path)


def _relative(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def check_notebook(browser, server: LabServer, name: str, out: Path, n_cells: int, timeout_s: float,
                   width: int = 1280, log=print, run: bool = True) -> NotebookCheck:
    """Open one notebook as stored, then (``run``) restart and run it all; see the module's docstring."""
    result = NotebookCheck(name, cells=n_cells, run=run)
    stem = Path(name).stem
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught in the page: {exc}"))

    def offline(route):  # the check runs offline: only the server and data: URLs are reached
        url = route.request.url
        if url.startswith((server.url, "data:", "blob:")):
            return route.continue_()
        if url not in result.blocked:
            result.blocked.append(url)
        return route.abort()

    page.route("**/*", offline)
    try:
        page.goto(f"{server.url}/lab/tree/{name}?reset&token={server.token}", wait_until="domcontentloaded", timeout=180_000)
        page.wait_for_function(_JS_READY, arg=n_cells, timeout=180_000, polling=250)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the notebook, not the file browser
        _accept_kernel_dialog(page)
        # as stored: give widget views and images time to render, then look
        page.wait_for_timeout(3000)
        media = page.evaluate(_JS_MEDIA, 15_000)
        result.stored_problems += _bad_text(page) + media["badImages"]
        result.remote_images = media["remote"]
        result.screenshots.append(_screenshot(page, out / f"{stem}-stored.png", width))
        log(f"  {name}: as stored: {len(result.stored_problems)} problem(s), {media['audio']} players, {media['images']} images")

        if not run:
            return result
        # Restart Kernel and Run All Cells (the restart dialog is switched off in the settings)
        page.wait_for_function(_JS_KERNEL, timeout=180_000, polling=500)
        total = page.evaluate(_JS_CLEAR_COUNTS)
        start = time.perf_counter()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:restart-run-all')")
        deadline = start + timeout_s
        state = None
        while time.perf_counter() < deadline:
            page.wait_for_timeout(1000)
            state = page.evaluate(_JS_RUN_STATE)
            if state["status"] == "idle" and (state["errors"] or (state["done"] == total and not state["running"])):
                break
        seconds = time.perf_counter() - start
        if state is None or state["errors"]:
            result.run_problems += (state or {}).get("errors", ["no state"])
        elif state["done"] < total or state["status"] != "idle" or state["running"]:
            result.run_problems.append(f"not finished after {timeout_s:.0f} s: {state['done']}/{total} cells ran, "
                                       f"kernel {state['status']}")
        else:
            result.seconds = round(seconds, 1)
        media = page.evaluate(_JS_MEDIA, 30_000)
        result.audio, result.images = media["audio"], media["images"]
        result.run_problems += _bad_text(page) + media["badAudio"] + media["badImages"]
        result.screenshots.append(_screenshot(page, out / f"{stem}-run.png", width))
        log(f"  {name}: run all: {seconds:.1f} s, {len(result.run_problems)} problem(s), "
            f"{result.audio} players, {result.images} images")
    except Exception as exc:  # a time-out or a page that broke: this notebook fails, the next runs
        result.run_problems.append(f"the check stopped: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        try:
            page.screenshot(path=str(out / f"{stem}-failed.png"))
            result.screenshots.append(_relative(out / f"{stem}-failed.png"))
        except Exception:
            pass
    finally:
        result.run_problems += console_errors
        try:  # free the kernel's memory before the next notebook
            page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        except Exception:
            pass
        context.close()
    return result


def run_lab_check(notebooks: list[Path], out: Path, timeout_s: float = 1200, log=print,
                  private_data: bool = True, run: bool = True) -> list[NotebookCheck]:
    """Check ``notebooks`` in JupyterLab in headless Chromium; write screenshots and ``summary.json`` to ``out``.

    With ``private_data`` (the default) the kernels read and write ``out/data``, a copy of the course's
    data folder made of hard links, so the check never changes the data folder (the unit tests' rule);
    without it they use the data folder itself, and keep the caches they compute.

    Raises:
        LabCheckUnavailable: Chromium, Playwright or JupyterLab is missing.
    """
    why = requirements_missing()
    if why:
        raise LabCheckUnavailable(why)
    from playwright.sync_api import sync_playwright

    from course_utils.authoring.slides import CHROMIUM_ARGS

    out = Path(out)
    work, state, data = out / "copies", out / "state", out / "data"
    for folder in (work, state, data):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for old in out.glob("*.png"):
        old.unlink()
    for nb in notebooks:
        shutil.copy2(nb, work / nb.name)
    results: list[NotebookCheck] = []
    began = time.perf_counter()
    data_dir = None
    if private_data:
        from course_utils.core import paths

        data_dir = data.resolve()
        log(f"lab-check: {link_tree(paths.data_dir(), data_dir)} files of the data folder linked into {_relative(data_dir)}")
    with LabServer(work, state, out / "server.log", data_dir) as server, sync_playwright() as pw:
        log(f"lab-check: JupyterLab at {server.url}, {len(notebooks)} notebook(s), screenshots in {out}")
        browser = pw.chromium.launch(executable_path=find_chromium(), args=list(CHROMIUM_ARGS))
        try:
            for nb in notebooks:
                n_cells = len(json.loads(nb.read_text(encoding="utf-8"))["cells"])
                results.append(check_notebook(browser, server, nb.name, out, n_cells, timeout_s, log=log, run=run))
        finally:
            browser.close()
    summary = {"notebooks": [{**asdict(r), "ok": r.ok} for r in results],
               "total_seconds": round(time.perf_counter() - began, 1),
               "ok": all(r.ok for r in results)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return results


def format_table(results: list[NotebookCheck]) -> str:
    """One line per notebook: status, browser wall time of the run, players, images."""
    width = max([len(r.notebook) for r in results] + [8])
    lines = [f"{'notebook':<{width}}  {'status':>6}  {'run s':>7}  {'audio':>5}  {'images':>6}"]
    for r in results:
        secs = f"{r.seconds:7.1f}" if r.seconds is not None else f"{'-':>7}"
        lines.append(f"{r.notebook:<{width}}  {'ok' if r.ok else 'FAILED':>6}  {secs}  {r.audio:>5}  {r.images:>6}")
        lines += [f"    {p}" for p in r.stored_problems + r.run_problems]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", default=None, help=f"numbers or names, e.g. 01,06 (default: ${ENV_SELECTION} or all)")
    parser.add_argument("--out", default=str(REPO / "build" / "lab"))
    parser.add_argument("--timeout", type=float, default=1200, help="seconds one notebook's run may take")
    parser.add_argument("--stored-only", action="store_true", help="only open each notebook as stored (no run)")
    parser.add_argument("--shared-data", action="store_true",
                        help="let the kernels use the data folder itself (and keep their caches) instead of a linked copy")
    args = parser.parse_args(argv)
    notebooks = select_notebooks(args.notebooks)
    try:
        results = run_lab_check(notebooks, Path(args.out), args.timeout, private_data=not args.shared_data,
                                run=not args.stored_only)
    except LabCheckUnavailable as exc:
        print(f"lab-check skipped: {exc}")
        return 2
    print()
    print(format_table(results))
    print(f"\nscreenshots and summary.json in {args.out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
