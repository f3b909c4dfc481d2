"""Progress bars that read right live and stored: the course's one way to show progress.

In a Jupyter kernel with ipywidgets (JupyterLab, Notebook, Colab, VS Code, Binder) a bar is
tqdm's widget while it runs; when it finishes, or stops, the widget is replaced in place by its
final state as one line of text, for example ``convnet features: 100%|██████████| 260/260``,
without times or rates. A notebook therefore stores that line (the same on every run, so nbval
can compare it), which GitHub, nbviewer, Colab's preview and JupyterLab opening the notebook as
stored all show as it is, and never a widget view: without the kernel that made it, a widget view
shows its text fallback, the bar as it was drawn first ("0%| 0/260"), or nothing at all.

Everywhere else (a terminal, a script, ``jupyter console``) it is tqdm's usual text bar on stderr.
"""

from __future__ import annotations

import os
import sys

__all__ = ["tqdm", "final_line"]

_NOTEBOOK_BAR = []  # the widget-then-text class, made on first use in a kernel (it imports ipywidgets)


def final_line(bar) -> str:
    """A bar's state as one line without times or rates: ``desc: 100%|██████████| 260/260``.

    Args:
        bar: a tqdm bar.

    Returns:
        The line; ``desc: N`` where the total is unknown.
    """
    d = dict(bar.format_dict)
    unit = "{unit}" if d.get("unit_scale") else ""  # 2.00k/2.00kB, but 260/260
    d.update(ncols=None, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}" + unit if d.get("total") else "{desc}: {n_fmt}" + unit)
    return bar.format_meter(**d)


def _in_widget_kernel() -> bool:
    """Whether this is a Jupyter kernel whose front ends show widgets (as ``tqdm.auto`` decides)."""
    if "ipykernel.zmqshell" not in sys.modules:
        return False
    if any(k == "QT_API" or k.startswith("SPYDER") for k in os.environ):
        return False
    try:
        shell = sys.modules["IPython"].get_ipython().__class__.__name__.lower()
        from tqdm.notebook import IProgress
    except Exception:
        return False
    return IProgress is not None and "qt" not in shell and "spyder" not in shell


def _notebook_bar_class():
    if not _NOTEBOOK_BAR:
        from IPython.display import display
        from tqdm.notebook import tqdm as notebook_tqdm

        class WidgetThenText(notebook_tqdm):
            """tqdm's notebook bar, shown under a display id and replaced by text when closed."""

            def __init__(self, *args, **kwargs):
                self._handle = None
                super().__init__(*args, **{**kwargs, "display": False})
                if not self.disable:
                    self._handle = display(self.container, display_id=True)
                    self.displayed = True

            def close(self):
                handle, self._handle = getattr(self, "_handle", None), None
                super().close()
                if handle is not None:
                    handle.update({"text/plain": final_line(self) if self.leave else ""}, raw=True)
                    try:
                        self.container.close()  # its view is gone: drop the widget's model too
                    except Exception:
                        pass

        _NOTEBOOK_BAR.append(WidgetThenText)
    return _NOTEBOOK_BAR[0]


def tqdm(iterable=None, **kwargs):
    """A progress bar: ``tqdm.tqdm``'s arguments; see the module's docstring for where it shows.

    Args:
        iterable: what to iterate over (or ``None`` and call ``update``).
        **kwargs: passed to tqdm (``desc``, ``total``, ``unit``, ``disable``, ``leave``, ...).

    Returns:
        The bar (an iterable and a context manager, as tqdm's).
    """
    if not kwargs.get("disable") and _in_widget_kernel():
        return _notebook_bar_class()(iterable, **kwargs)
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm(iterable, **kwargs)
