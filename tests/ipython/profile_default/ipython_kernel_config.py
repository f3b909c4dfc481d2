# IPython kernel profile used by `make course` and `make test` (IPYTHONDIR=tests/ipython).
# TensorFlow and numba write log lines straight to the process's stderr file descriptor; by
# default ipykernel captures those into the running cell, where they differ between runs and
# break nbval's comparison of stored outputs. Leave them on the terminal instead.
c = get_config()  # noqa: F821
c.IPKernelApp.capture_fd_output = False
c.InlineBackend.figure_formats = {"png"}
c.HistoryManager.enabled = False


# ... and keep TensorFlow's start-up chatter off that terminal. TF_CPP_MIN_LOG_LEVEL=3 does not
# reach the lines absl writes before it is initialised: importing TensorFlow prints, twice,
# "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR" and an
# INFO line "oneDNN custom operations are on ...". While the `tensorflow` package is first
# imported, fd 2 goes to a temporary file; afterwards every line but absl's INFO lines and that
# notice is written back to stderr, so TensorFlow's warnings and errors still show.
def _quiet_tensorflow_import():
    import importlib.abc
    import os
    import re
    import sys
    import tempfile

    chatter = re.compile(rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                         rb"|I\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*"
                         rb"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.)\s*$")

    class QuietLoader(importlib.abc.Loader):
        def __init__(self, loader):
            self.loader = loader

        def create_module(self, spec):
            return self.loader.create_module(spec)

        def exec_module(self, module):
            if finder in sys.meta_path:  # once: the first import is the one that logs
                sys.meta_path.remove(finder)
            module.__spec__.loader = module.__loader__ = self.loader
            with tempfile.TemporaryFile() as capture:
                saved = os.dup(2)
                os.dup2(capture.fileno(), 2)
                try:
                    self.loader.exec_module(module)
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)
                    capture.seek(0)
                    kept = b"".join(line for line in capture.read().splitlines(keepends=True) if not chatter.match(line))
                    if kept:
                        os.write(2, kept)

    class QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname != "tensorflow":
                return None
            for other in sys.meta_path:
                if other is self:
                    continue
                spec = other.find_spec(fullname, path, target) if hasattr(other, "find_spec") else None
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = QuietLoader(spec.loader)
                    return spec
            return None

    finder = QuietTensorFlowFinder()
    sys.meta_path.insert(0, finder)


_quiet_tensorflow_import()
