"""Each notebook's Colab install cell installs every extra that the notebook needs (issue 17).

The test reads each notebook's imports and, for every ``course_utils`` module it imports, that
module's imports, including the lazy ones inside functions, and the modules those import in turn.
Each third-party import maps to what provides it: the package's own dependencies
(``pyproject.toml [project] dependencies``), an extra (``[project.optional-dependencies]``), or
what Colab preinstalls. A notebook whose install cell lacks a needed extra fails with its name.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

#: Import name -> distribution name, where they differ.
DISTRIBUTION = {"sklearn": "scikit-learn", "faiss": "faiss-cpu", "yaml": "pyyaml", "IPython": "ipython",
                "PIL": "pillow"}
#: Authoring tools (slide decks, the headless notebook runner) live in this subpackage: the command
#: line reaches them, a notebook never does, so their imports (Playwright...) are not followed.
AUTHORING = "course_utils.authoring"
#: What a Colab runtime has without installing anything (the notebook front end and its kernel).
COLAB = {"ipython", "ipykernel", "ipywidgets", "nbformat", "nbclient", "nbconvert", "jupyterlab", "google"}


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~ ;\[@]", spec.strip(), maxsplit=1)[0].lower()


def _provider() -> dict[str, str]:
    """Distribution name -> ``"base"`` or the extra that installs it."""
    out = {_requirement_name(d): "base" for d in PYPROJECT["project"]["dependencies"]}
    for extra, deps in PYPROJECT["project"]["optional-dependencies"].items():
        for d in deps:
            out.setdefault(_requirement_name(d), extra)
    return out


def _authoring(name: str) -> bool:
    return name == AUTHORING or name.startswith(AUTHORING + ".")


def _module_file(name: str) -> Path | None:
    base = REPO / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _import_nodes(nodes):
    """(module, alias -> course module, names imported from course modules) of import statements."""
    modules, aliases, functions = set(), {}, set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                modules.add(a.name)
                if a.name.startswith("course_utils."):
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            for a in node.names:
                if node.module.startswith("course_utils") and _module_file(f"{node.module}.{a.name}"):
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"  # from course_utils.core import paths
                    modules.add(f"{node.module}.{a.name}")
                elif node.module.startswith("course_utils"):
                    functions.add((node.module, a.name))                    # from course_utils.x import f
    return modules, aliases, functions


def _references(body_nodes, aliases):
    """Names used, and (course module, attribute) pairs reached through a module alias."""
    names, attributes = set(), set()
    for node in ast.walk(ast.Module(body=list(body_nodes), type_ignores=[])):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            attributes.add((aliases[node.value.id], node.attr))
    return names, attributes


class _Module:
    """A course module: its import-time imports, and per top-level function its lazy imports and calls."""

    def __init__(self, name: str):
        tree = ast.parse(_module_file(name).read_text())
        self.imports, self.aliases, self.functions = _import_nodes(
            n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
        self.defs = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                imports, aliases, functions = _import_nodes(inner)
                names, attributes = _references(node.body, {**self.aliases, **aliases})
                self.defs[node.name] = (imports, functions, names, attributes)
        # module-level code outside functions (constants, tables of lambdas) runs at import time
        top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))]
        self.top_names, self.top_attributes = _references(top, self.aliases)


def third_party_imports(sources: list[str]) -> set[str]:
    """Top-level third-party modules that code needs: its own imports, the import-time imports of the
    course modules it imports, and the lazy imports of the course functions it calls (followed
    through the calls those functions make, by name)."""
    parsed: dict[str, _Module] = {}
    found, seen_modules, seen_functions = set(), set(), set()
    modules, functions = [], []

    def module(name):
        if name not in parsed:
            parsed[name] = _Module(name)
        return parsed[name]

    for source in ["\n".join(sources)]:  # one program: an alias imported in one cell is used in the next
        tree = ast.parse(source)
        imports, aliases, funcs = _import_nodes(n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
        modules.extend(imports)
        functions.extend(funcs)
        functions.extend(_references(tree.body, aliases)[1])
    while modules or functions:
        while modules:
            name = modules.pop()
            top = name.split(".")[0]
            if name in seen_modules or _authoring(name):
                continue
            seen_modules.add(name)
            if top != "course_utils":
                if top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
                continue
            if _module_file(name) is None:
                continue
            if "." in name:
                modules.append(name.rsplit(".", 1)[0])   # importing a.b imports a first
            m = module(name)
            modules.extend(m.imports)
            functions.extend(m.functions | m.top_attributes)
            functions.extend((name, n) for n in m.top_names if n in m.defs)
        while functions:
            mod, func = functions.pop()
            if (mod, func) in seen_functions or _authoring(mod) or _module_file(mod) is None:
                continue
            seen_functions.add((mod, func))
            modules.append(mod)
            m = module(mod)
            if func not in m.defs:
                continue
            imports, funcs, names, attributes = m.defs[func]
            modules.extend(imports)
            functions.extend(funcs | attributes)
            functions.extend((mod, n) for n in names if n in m.defs and n != func)
            functions.extend(f for f in m.functions if f[1] in names)
    return found


def _code_without_magics(cell) -> str:
    return "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))


def needed_extras(path: Path) -> dict[str, str]:
    """Extra -> an import that needs it, for one notebook (``"base"`` and Colab's own left out)."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    provider = _provider()
    needs = {}
    for module in sorted(third_party_imports([_code_without_magics(c) for c in cells[1:]])):
        dist = DISTRIBUTION.get(module, module).lower()
        if dist in COLAB:
            continue
        extra = provider.get(dist)
        assert extra is not None, f"{path.name} imports {module!r}, which no dependency or extra of pyproject.toml provides"
        if extra != "base":
            needs.setdefault(extra, module)
    return needs


def installed_extras(path: Path) -> set[str]:
    install = next(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    match = re.search(r"course-utils\[([^\]]*)\]", install)
    return {e.strip() for e in match.group(1).split(",")} if match else set()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_installs_every_extra_the_notebook_needs(path):
    missing = {extra: module for extra, module in needed_extras(path).items() if extra not in installed_extras(path)}
    assert not missing, (f"{path.name}: its Colab install cell lacks the extra(s) "
                         + ", ".join(f"[{e}] (for {m})" for e, m in sorted(missing.items())))


def test_notebook_05_needs_faiss_through_the_similarity_extra():
    assert needed_extras(REPO / "notebooks" / "05_similarity_search.ipynb").get("similarity") == "faiss"


def test_a_removed_extra_is_named(tmp_path):
    """Deliberately remove [similarity] from notebook 05's install cell: the check names it."""
    nb = nbformat.read(REPO / "notebooks" / "05_similarity_search.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = re.sub(r"course-utils\[[^\]]*\]", "course-utils[deep]", first.source)
    broken = tmp_path / "05_similarity_search.ipynb"
    nbformat.write(nb, broken)
    with pytest.raises(AssertionError, match=r"\[similarity\] \(for faiss\)"):
        test_install_cell_installs_every_extra_the_notebook_needs(broken)


def test_only_the_command_line_imports_the_authoring_tools():
    """A learner's modules never reach the authoring subpackage; only ``course_utils.cli`` does."""
    package = REPO / "course_utils"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        if _authoring(name) or name == "course_utils.cli":
            continue
        tree = ast.parse(path.read_text())
        modules, _, _ = _import_nodes(n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
        offenders += [f"{name} imports {m}" for m in sorted(modules) if _authoring(m)]
    assert not offenders, offenders
