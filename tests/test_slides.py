"""The slide decks: their sources, the build into self-contained reveal.js HTML, and a real browser.

The source tests need nothing but the repository. The build tests need reveal.js from the npm
registry (``make slides`` / ``npm ci --prefix slides``); the browser tests also need Chromium
(Debian's ``chromium``) and Playwright (``requirements-test.txt``). ``make test`` installs all three
where it can; where one is missing the tests that need it skip and say why.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

from course_utils.authoring import slides
from course_utils.authoring.slides import SlidesError

REPO = Path(__file__).resolve().parent.parent
SLIDES = REPO / "slides"
NOTEBOOKS = REPO / "notebooks"
DECKS = slides.deck_sources(SLIDES)
REVEAL = SLIDES / "node_modules" / "reveal.js"
SCREENSHOTS = REPO / "build" / "slides"


def _notebook(deck: Path) -> dict:
    return json.loads((NOTEBOOKS / f"{deck.stem}.ipynb").read_text())


@pytest.fixture(scope="module")
def reveal_dist() -> Path:
    """reveal.js's dist folder; skips when the npm package is not installed."""
    try:
        return slides.reveal_dist(REVEAL)
    except SlidesError:
        pytest.skip(f"reveal.js is not installed in {REVEAL.relative_to(REPO)}: `make slides` "
                    "(npm ci --prefix slides) installs it from the npm registry")


@pytest.fixture(scope="module")
def built(reveal_dist, tmp_path_factory) -> list[slides.Deck]:
    """Every deck, built once for this module."""
    return slides.build_decks(SLIDES, NOTEBOOKS, tmp_path_factory.mktemp("slides"), REVEAL)


# --- the sources ---------------------------------------------------------------------------------

def test_one_deck_per_notebook():
    assert [d.stem for d in DECKS] == sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_has_goals_figures_exercises_takeaways_and_next(deck):
    text = deck.read_text()
    assert slides.check_deck(text, deck.name) == []
    assert 8 <= slides.count_slides(text) <= 30
    assert len([m for m in slides.MEDIA_REFERENCE.finditer(text) if m["kind"] == "figure"]) >= 3


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_figures_are_the_notebooks_stored_outputs(deck):
    """Every reference resolves, and to the very PNG the notebook stored (slides agree with it)."""
    text, notebook = deck.read_text(), _notebook(deck)
    resolved, used = slides.resolve_media(text, notebook, deck.name, f"{deck.stem}.ipynb")
    assert len(used) == len(slides.MEDIA_REFERENCE.findall(text))
    assert "](figure:" not in resolved and "](audio:" not in resolved
    for m in slides.MEDIA_REFERENCE.finditer(text):
        if m["kind"] == "figure":
            png = slides.notebook_pngs(notebook, m["tag"])[int(m["index"] or 1) - 1]
            assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
            assert f"data:image/png;base64,{png})" in resolved


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_links_point_at_existing_files(deck):
    for target in re.findall(r"\]\(((?:\.\./)?[\w./-]+\.(?:html|ipynb|md))\)", deck.read_text()):
        source = SLIDES / (target[:-5] + ".md") if target.endswith(".html") else SLIDES / target
        assert source.resolve().is_file(), f"{deck.name} links to {target}, which does not exist"


# --- the parts of the build, on small inputs -----------------------------------------------------

def test_split_slides_follows_reveals_separators():
    text = "# T\n\n---\n\n## A\n\n--\n\n## A.2\n\n---\n\n## B\nNote: say B\n"
    parts = slides.split_slides(text)
    assert [len(p) for p in parts] == [1, 2, 1]
    assert slides.count_slides(text) == 4
    assert slides.count_slides("# T\n\ntext --- not a separator\n") == 1


def test_check_deck_names_what_is_missing():
    problems = slides.check_deck("## No title\n\n![x](https://cdn.example/x.png)\n</textarea>\n"
                                 "Note: one\nNote: two\n", "bad.md")
    joined = "\n".join(problems)
    for expected in ("title", "Learning goals", "Exercises", "Take-aways", "## Next", "no figure", "network",
                     "</textarea", "slide 1 has more than one 'Note:'"):
        assert expected in joined
    assert all(p.startswith("bad.md: ") for p in problems)


def _nb_with(tag: str, outputs: list) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {"tags": ["other"]}, "outputs": []},
                      {"cell_type": "code", "metadata": {"tags": [tag]}, "outputs": outputs}]}


def test_resolve_media_figures_and_audio_by_tag_and_index():
    png1, png2 = base64.b64encode(b"\x89PNG\r\n\x1a\n1").decode(), base64.b64encode(b"\x89PNG\r\n\x1a\n2").decode()
    player = '<audio controls="controls">\n <source src="data:audio/wav;base64,UklGRg==" type="audio/wav" />\n</audio>'
    nb = _nb_with("fig-a", [{"output_type": "display_data", "data": {"image/png": png1 + "\n"}},
                            {"output_type": "display_data", "data": {"text/html": player}},
                            {"output_type": "display_data", "data": {"image/png": png2}}])
    text = "![first](figure:fig-a) ![second](figure:fig-a:2) ![hear <it>](audio:fig-a)"
    resolved, used = slides.resolve_media(text, nb)
    assert used == ["figure:fig-a", "figure:fig-a:2", "audio:fig-a"]
    assert f"![first](data:image/png;base64,{png1})" in resolved
    assert f"![second](data:image/png;base64,{png2})" in resolved
    assert 'src="data:audio/wav;base64,UklGRg=="' in resolved and "hear &lt;it&gt;" in resolved


def test_resolve_media_reports_every_broken_reference_by_name():
    nb = _nb_with("fig-a", [{"output_type": "display_data", "data": {"image/png": "iVBORw=="}}])
    with pytest.raises(SlidesError) as info:
        slides.resolve_media("![x](figure:fig-missing) ![y](figure:fig-a:3) ![z](audio:fig-a)", nb,
                             "02_deck.md", "02_deck.ipynb")
    message = str(info.value)
    assert "02_deck.md: 3 broken reference(s)" in message
    assert "figure:fig-missing: no cell of 02_deck.ipynb has the tag 'fig-missing'" in message
    assert "figure:fig-a:3: the cell tagged 'fig-a' in 02_deck.ipynb has 1 image(s)" in message
    assert "audio:fig-a: the cell tagged 'fig-a' in 02_deck.ipynb has 0 audio player(s)" in message


def test_inline_css_inlines_local_files_and_refuses_the_network(tmp_path):
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "f.woff").write_bytes(b"wOFF-data")
    (tmp_path / "fonts" / "f.css").write_text("@font-face { src: url('f.woff') format('woff'); }")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    css = "@import url(./fonts/f.css);\n.a { background: url(logo.png); } .b { background: url(data:,x); }"
    out = slides.inline_css(css, tmp_path)
    assert "@import" not in out and "f.woff" not in out and "logo.png" not in out
    assert base64.b64encode(b"wOFF-data").decode() in out and "url(data:,x)" in out
    with pytest.raises(SlidesError, match="network"):
        slides.inline_css('@import "https://fonts.example.com/css?family=Lato";', tmp_path)
    with pytest.raises(SlidesError, match="network"):
        slides.inline_css(".c { background: url(//cdn.example.com/x.png); }", tmp_path)
    with pytest.raises(SlidesError, match="does not exist"):
        slides.inline_css(".c { background: url(missing.png); }", tmp_path)


def test_missing_reveal_says_how_to_install_it(tmp_path):
    with pytest.raises(SlidesError, match=r"npm ci --prefix slides"):
        slides.reveal_dist(tmp_path / "node_modules" / "reveal.js")


def test_deck_without_its_notebook_is_refused(tmp_path):
    deck = tmp_path / "09_nothing.md"
    deck.write_text("# T\n")
    with pytest.raises(SlidesError, match="needs its notebook"):
        slides.build_deck(deck, NOTEBOOKS, tmp_path / "out", tmp_path)
    assert not (tmp_path / "out").exists()


# --- the build -----------------------------------------------------------------------------------

def test_built_decks_are_self_contained(built):
    assert [d.html_path.stem for d in built] == [d.stem for d in DECKS]
    for deck in built:
        page = deck.html_path.read_text()
        # nothing is loaded from anywhere: no <link>, every script and stylesheet inline
        assert "<link" not in page
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.split("<textarea")[0])
        assert all(src.startswith("data:text/javascript;base64,")
                   for src in re.findall(r'<script src="([^"]+)"', page))
        css = page.split("<style>")[1].split("</style>")[0]
        assert not re.search(r"url\(\s*[\"']?(https?:)?//", css) and "@import" not in css
        assert f"<title>{html.escape(deck.title)}</title>" in page
    assert not list(built[0].html_path.parent.glob("*.tmp*")), "no half-written file is left"


def test_built_deck_embeds_the_markdown_exactly(built):
    """The browser hands reveal.js's Markdown plugin the deck's text, character for character."""
    deck = built[0]
    page = deck.html_path.read_text()
    embedded = html.unescape(page.split("<textarea data-template>\n", 1)[1].rsplit("\n</textarea>", 1)[0])
    resolved, _ = slides.resolve_media(deck.source.read_text(), _notebook(deck.source))
    assert embedded == resolved


def test_cli_builds_every_deck(reveal_dist, tmp_path, capsys):
    from course_utils.cli import main

    assert main(["slides", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"\.html: \d+ slides", out)) == len(DECKS)
    assert sorted(p.stem for p in tmp_path.glob("*.html")) == [d.stem for d in DECKS]


# --- a real browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium executable and Playwright; skips, saying what is missing, without either."""
    path = slides.find_chromium()
    if path is None:
        pytest.skip("no Chromium for the browser check: `apt-get install chromium` (as root, `make test` does it)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install -r requirements-test.txt")
    return path


@pytest.fixture(scope="module")
def browser_reports(built, chromium):
    return slides.check_in_browser([d.html_path for d in built], SCREENSHOTS, chromium)


@pytest.mark.slow
def test_every_deck_renders_in_chromium_without_errors(built, browser_reports):
    for deck, report in zip(built, browser_reports):
        assert report.ready, f"{deck.html_path.name} never became ready: {report.console_errors}"
        assert report.console_errors == [], deck.html_path.name
        assert report.network_requests == [], f"{deck.html_path.name} reached for the network"
        assert report.broken_images == [], deck.html_path.name
        assert report.n_slides == deck.n_slides, "reveal.js shows as many slides as the source has"
        assert report.ok


@pytest.mark.slow
def test_screenshots_of_every_deck_are_saved_and_not_blank(built, browser_reports):
    from PIL import Image

    for deck, report in zip(built, browser_reports):
        assert [s.name for s in report.screenshots] == [f"{deck.html_path.stem}.png", f"{deck.html_path.stem}-figure.png"]
        for shot in report.screenshots:
            assert shot.parent.resolve() == SCREENSHOTS.resolve() and shot.is_file()
            pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
            assert pixels.shape == (720, 1280)
            assert pixels.std() > 5, f"{shot.name} looks blank"


@pytest.mark.slow
def test_browser_check_reports_a_broken_page_instead_of_passing_it(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><title>x</title><img alt="far" src="https://example.invalid/x.png">'
                    '<script>console.error("boom")</script>')
    (report,) = slides.check_in_browser([page], tmp_path, chromium, timeout_ms=3000)
    assert not report.ok and not report.ready
    assert any("boom" in e for e in report.console_errors)
    assert report.network_requests == ["https://example.invalid/x.png"]
