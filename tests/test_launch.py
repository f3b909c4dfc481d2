"""Launching the course without installing anything: Binder's configuration, the Colab install
cell and the launch badges all name the repository of ``pyproject.toml`` and existing notebooks."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
SLUG = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", REPOSITORY).group(1)

BINDER = re.compile(r"https://mybinder\.org/v2/gh/(?P<slug>[^/]+/[^/]+)/(?P<ref>[^?)\s]+)\?labpath=(?P<path>[^)\s]+)")
COLAB = re.compile(r"https://colab\.research\.google\.com/github/(?P<slug>[^/]+/[^/]+)/blob/(?P<ref>[^/]+)/(?P<path>[^)\s]+)")


def _launch_links(text: str) -> list[tuple[str, str, str]]:
    """(kind, slug, repository path) of every Binder and Colab link in a text."""
    links = [("binder", m["slug"], unquote(m["path"])) for m in BINDER.finditer(text)]
    return links + [("colab", m["slug"], m["path"]) for m in COLAB.finditer(text)]


def test_readme_badges_name_the_repository_and_existing_notebooks():
    links = _launch_links((REPO / "README.md").read_text())
    assert {kind for kind, _, _ in links} == {"binder", "colab"}
    for kind, slug, path in links:
        assert slug == SLUG, f"README's {kind} badge names {slug}, pyproject.toml says {SLUG}"
        assert (REPO / path).is_file(), f"README's {kind} badge points at missing {path}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_badges_and_install_cell_name_the_repository(path):
    cells = nbformat.read(path, as_version=4).cells
    links = _launch_links(cells[0].source)
    assert sorted(kind for kind, _, _ in links) == ["binder", "colab"]
    assert all(slug == SLUG for _, slug, _ in links)
    install = next(c.source for c in cells if c.cell_type == "code")
    assert f"git+{REPOSITORY}" in install, "the Colab cell installs course_utils from the repository"


def test_colab_install_cell_does_nothing_elsewhere(monkeypatch, capsys):
    """Run the install cell here: outside Colab it must not install or print anything."""
    import subprocess
    import sys

    install = next(c.source for c in nbformat.read(NOTEBOOKS[0], as_version=4).cells if c.cell_type == "code")
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(compile(install, "install-cell", "exec"), {"__name__": "__main__"})
    assert calls == [] and capsys.readouterr().out == ""
    # ... and on Colab it pip-installs the package from the repository
    monkeypatch.setitem(sys.modules, "google.colab", object())
    exec(compile(install, "install-cell", "exec"), {"__name__": "__main__"})
    assert len(calls) == 1 and "pip" in calls[0][0] and f"git+{REPOSITORY}" in calls[0][0][-1]


def test_binder_installs_exactly_the_course_requirements():
    lines = [line.split("#")[0].strip() for line in (REPO / "binder" / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line] == ["-r ../requirements.txt"]
    runtime = (REPO / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.1[0-3]", runtime)
    env_python = re.search(r"- python=(\S+)", (REPO / "environment.yml").read_text()).group(1)
    assert runtime == f"python-{env_python}", "Binder and environment.yml use the same Python"


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_binder_scripts_are_executable_bash(script):
    path = REPO / "binder" / script
    assert path.read_text().startswith("#!/bin/bash\n")
    assert os.access(path, os.X_OK), f"binder/{script} must be executable (git update-index --chmod=+x)"


def test_binder_postbuild_installs_the_package_and_the_mini_data():
    text = (REPO / "binder" / "postBuild").read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in text
    assert "course_utils data synth all" in text
    assert "exec \"$@\"" in (REPO / "binder" / "start").read_text()


def _pins(lines):
    pins = {}
    for line in lines:
        m = re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)\s*(==|=)\s*([0-9][^\s;#]*)", line)
        if m:
            pins[m.group(1).lower()] = m.group(3)
    return pins


def test_environment_yml_pins_the_same_versions_as_requirements():
    req = _pins((REPO / "requirements.txt").read_text().splitlines())
    env = _pins((REPO / "environment.yml").read_text().splitlines())
    env.pop("python")
    shared = sorted(set(req) & set(env))
    assert len(shared) >= 20
    assert {k: env[k] for k in shared} == {k: req[k] for k in shared}


def test_readme_relative_links_exist():
    """The outline's notebook and slide links, and every other relative link of the README."""
    links = re.findall(r"\]\((?!https?:|#)([^)\s]+)\)", (REPO / "README.md").read_text())
    assert any(link.startswith("slides/") for link in links) and any(link.startswith("notebooks/") for link in links)
    missing = [link for link in links if not (REPO / unquote(link.split("#")[0])).exists()]
    assert missing == []
