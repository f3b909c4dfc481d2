"""Build the course's slide decks into self-contained reveal.js HTML (``make slides``).

Each deck is a Markdown file ``slides/NN_name.md`` that belongs to the notebook
``notebooks/NN_name.ipynb``. The deck shows that notebook's key figures and audio players by
reference, so slides and notebooks never disagree: ``![alt](figure:fig-stft)`` is replaced by the
PNG that the notebook cell tagged ``fig-stft`` stored, ``![alt](audio:fig-stft)`` by its audio
player (``figure:TAG:2`` is the cell's second image). reveal.js itself (its CSS, theme and
plugins) comes from the npm package in ``slides/node_modules/reveal.js`` and is inlined, so one
HTML file per deck works offline, with no CDN and nothing beside it.

Not used by the notebooks; used by ``course-utils slides``, ``make slides`` and
``tests/test_slides.py``.
"""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.core.errors import CourseError
from course_utils.core.files import atomic_write_text

#: reveal.js Markdown separators (the ``data-separator*`` attributes of every deck).
SLIDE_SEPARATOR = r"^\n---\n$"
VERTICAL_SEPARATOR = r"^\n--\n$"
NOTES_SEPARATOR = r"^Note:"

#: Files of the reveal.js npm package that a deck inlines, relative to ``reveal.js/dist``.
REVEAL_CSS = ("reset.css", "reveal.css", "theme/white.css", "plugin/highlight/monokai.css")
REVEAL_JS = ("reveal.js", "plugin/markdown.js", "plugin/highlight.js", "plugin/notes.js")

#: ``![alt](figure:TAG)``, ``![alt](figure:TAG:2)``, ``![alt](audio:TAG)``.
MEDIA_REFERENCE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<kind>figure|audio):(?P<tag>[a-z0-9][a-z0-9-]*)(?::(?P<index>\d+))?\)")

#: Headings every deck must have (checked by :func:`check_deck`).
REQUIRED_HEADINGS = ("## Learning goals", "## Exercises", "## Take-aways", "## Next")

#: Styling on top of reveal.js's white theme: figures fit the slide, notes-sized captions.
COURSE_CSS = """
.reveal { font-size: 34px; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; }
.reveal h1 { font-size: 1.9em; } .reveal h2 { font-size: 1.3em; }
.reveal section img { display: block; width: 100%; height: 430px; object-fit: contain; margin: 0.3em auto;
                      border: 0; box-shadow: none; }
.reveal figure.audio { margin: 0.4em auto; }
.reveal figure.audio figcaption { font-size: 0.6em; color: #555; }
.reveal figure.audio audio { width: 60%; }
.reveal table figure.audio audio { width: 260px; }
.reveal pre { width: 100%; font-size: 0.6em; }
.reveal table { font-size: 0.75em; }
.reveal small, .reveal .small { font-size: 0.6em; }
.reveal a { color: #2a76dd; }
"""


class SlidesError(CourseError):
    """A deck cannot be built: a missing reveal.js, a broken figure reference, a bad source."""


@dataclass
class Deck:
    """One deck: its source, the notebook it belongs to, and the built HTML (if built)."""

    source: Path
    notebook: Path
    title: str
    n_slides: int
    media: list[str] = field(default_factory=list)
    html_path: Path | None = None


def default_slides_dir() -> Path:
    """The ``slides/`` folder of the repository checkout (where the ``.md`` decks live).

    Returns:
        ``<repo>/slides``; raises :class:`SlidesError` when the package is not run from a checkout.
    """
    from course_utils.core.paths import repo_root

    root = repo_root()
    if root is None:
        raise SlidesError("The slides are built from a checkout of the course repository: clone it and run "
                          "`make slides` there.")
    return root / "slides"


def deck_sources(slides_dir: str | Path) -> list[Path]:
    """The deck sources ``NN_name.md`` of a slides folder, in course order.

    Args:
        slides_dir: The folder holding the decks (``slides/``).

    Returns:
        The sorted list of Markdown deck paths (README.md and other files are not decks).
    """
    return sorted(p for p in Path(slides_dir).glob("[0-9][0-9]_*.md") if p.is_file())


def split_slides(markdown: str) -> list[list[str]]:
    """Split a deck's Markdown into slides the way reveal.js's Markdown plugin does.

    Args:
        markdown: The deck source.

    Returns:
        One list per horizontal slide, holding the Markdown of its vertical slides (usually one).
    """
    text = markdown.replace("\r\n", "\n")
    horizontal = re.split(SLIDE_SEPARATOR, text, flags=re.M)
    return [re.split(VERTICAL_SEPARATOR, h, flags=re.M) for h in horizontal]


def count_slides(markdown: str) -> int:
    """How many slides reveal.js will show for a deck (``Reveal.getTotalSlides()``).

    Args:
        markdown: The deck source.

    Returns:
        The number of horizontal plus vertical slides.
    """
    return sum(len(vertical) for vertical in split_slides(markdown))


def deck_title(markdown: str) -> str:
    """The deck's title: its first ``# `` heading.

    Args:
        markdown: The deck source.

    Returns:
        The heading text, without the ``#``.
    """
    for line in markdown.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise SlidesError("A deck must start with a '# Title' line.")


def check_deck(markdown: str, name: str = "deck") -> list[str]:
    """What is wrong with a deck source, as a list of readable problems (empty when fine).

    Checks: a title on the first line, the required headings (learning goals, exercises,
    take-aways, next), at least one figure, and nothing that would break the embedding.

    Args:
        markdown: The deck source.
        name: The deck's name for the messages.

    Returns:
        A list of problems, each naming the deck.
    """
    problems = []
    first = markdown.lstrip().splitlines()[0] if markdown.strip() else ""
    if not first.startswith("# "):
        problems.append(f"{name}: the first line must be the title ('# ...')")
    lines = {line.rstrip() for line in markdown.splitlines()}
    for heading in REQUIRED_HEADINGS:
        if heading not in lines:
            problems.append(f"{name}: no slide with the heading '{heading}'")
    if not any(m.group("kind") == "figure" for m in MEDIA_REFERENCE.finditer(markdown)):
        problems.append(f"{name}: shows no figure of its notebook (use ![alt](figure:TAG))")
    for number, vertical in enumerate((v for h in split_slides(markdown) for v in h), start=1):
        if len(re.findall(NOTES_SEPARATOR, vertical, flags=re.M)) > 1:
            problems.append(f"{name}: slide {number} has more than one 'Note:' line; reveal.js would drop its notes")
    if "</textarea" in markdown.lower():
        problems.append(f"{name}: contains '</textarea', which would end the embedded Markdown")
    for bad in re.findall(r"!\[[^\]]*\]\((?:https?:)?//[^)]*\)", markdown):
        problems.append(f"{name}: image from the network {bad!r}: a deck must work offline")
    return problems


def _tagged_outputs(notebook: dict, tag: str, mime: str) -> list[str] | None:
    """The ``mime`` data of every output of the cell tagged ``tag`` (``None``: no such cell)."""
    for cell in notebook["cells"]:
        if tag in cell.get("metadata", {}).get("tags", []):
            found = (out.get("data", {}).get(mime) for out in cell.get("outputs", []))
            return ["".join(d) if isinstance(d, list) else d for d in found if d]
    return None


def notebook_pngs(notebook: dict, tag: str) -> list[str] | None:
    """The PNG images (base64) that the notebook cell tagged ``tag`` stored, in output order.

    Args:
        notebook: The notebook as a dict (``json.load`` of the ``.ipynb``).
        tag: The cell tag.

    Returns:
        The base64 strings (empty when the cell has no image, ``None`` when no cell has the tag).
    """
    images = _tagged_outputs(notebook, tag, "image/png")
    return None if images is None else [img.replace("\n", "") for img in images]


def notebook_audio(notebook: dict, tag: str) -> list[str] | None:
    """The audio players' data URIs that the notebook cell tagged ``tag`` stored, in output order.

    Args:
        notebook: The notebook as a dict.
        tag: The cell tag.

    Returns:
        ``data:audio/...`` URIs (empty when the cell has no player, ``None`` when no cell has the tag).
    """
    pages = _tagged_outputs(notebook, tag, "text/html")
    if pages is None:
        return None
    return [uri for page in pages for uri in re.findall(r'<audio[^>]*>.*?src="(data:audio/[^"]+)"', page, flags=re.S)]


def resolve_media(markdown: str, notebook: dict, deck: str = "deck", notebook_name: str = "notebook") -> tuple[str, list[str]]:
    """Replace a deck's ``figure:``/``audio:`` references by the notebook's stored outputs.

    Args:
        markdown: The deck source.
        notebook: The deck's notebook, as a dict.
        deck: The deck's name, for error messages.
        notebook_name: The notebook's name, for error messages.

    Returns:
        The Markdown with data URIs in place of references, and the list of references resolved.

    Raises:
        SlidesError: naming every reference that has no tagged cell or no such output.
    """
    problems, used = [], []

    def replace(match: re.Match) -> str:
        kind, tag, alt = match.group("kind"), match.group("tag"), match.group("alt")
        index = int(match.group("index") or 1)
        found = notebook_pngs(notebook, tag) if kind == "figure" else notebook_audio(notebook, tag)
        ref = match.group(0)[len(alt) + 4:-1]
        if found is None:
            problems.append(f"{ref}: no cell of {notebook_name} has the tag '{tag}'")
            return match.group(0)
        if not 1 <= index <= len(found):
            what = "image" if kind == "figure" else "audio player"
            problems.append(f"{ref}: the cell tagged '{tag}' in {notebook_name} has {len(found)} {what}(s)")
            return match.group(0)
        used.append(ref)
        if kind == "figure":
            return f"![{alt}](data:image/png;base64,{found[index - 1]})"
        return (f'<figure class="audio"><audio controls preload="none" src="{found[index - 1]}"></audio>'
                f"<figcaption>{html.escape(alt)}</figcaption></figure>")

    resolved = MEDIA_REFERENCE.sub(replace, markdown)
    if problems:
        raise SlidesError(f"{deck}: {len(problems)} broken reference(s). Tag the notebook cell that makes the "
                          "output (cell metadata 'tags') or fix the reference:\n  " + "\n  ".join(problems))
    return resolved, used


def reveal_dist(reveal_dir: str | Path | None = None) -> Path:
    """The ``dist/`` folder of the reveal.js npm package, checked for every file a deck inlines.

    Args:
        reveal_dir: The installed package (default ``slides/node_modules/reveal.js``).

    Returns:
        The ``dist`` path.

    Raises:
        SlidesError: when reveal.js is not installed, saying how to install it.
    """
    base = Path(reveal_dir) if reveal_dir else default_slides_dir() / "node_modules" / "reveal.js"
    dist = base / "dist"
    missing = [name for name in REVEAL_CSS + REVEAL_JS if not (dist / name).is_file()]
    if missing:
        raise SlidesError(f"reveal.js is not installed at {base} (missing {', '.join(missing)}). Install it from "
                          "the npm registry with `npm ci --prefix slides` (what `make slides` does), or pass "
                          "--reveal DIR.")
    return dist


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or {".woff": "font/woff", ".woff2": "font/woff2"}.get(path.suffix)
    mime = mime or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_css(css: str, base: Path, _depth: int = 0) -> str:
    """Make a stylesheet self-contained: local ``@import``s inlined, local ``url()``s as data URIs.

    Args:
        css: The stylesheet text.
        base: The folder its relative URLs start from.

    Returns:
        The stylesheet with no reference to another file.

    Raises:
        SlidesError: for a reference to the network (a CDN or web font), which would not work
        offline, or a local file that does not exist.
    """
    if _depth > 8:
        raise SlidesError(f"@import nesting too deep in {base}")

    def target(ref: str) -> Path:
        ref = ref.strip().strip("'\"")
        if re.match(r"^([a-z]+:)?//", ref, flags=re.I):
            raise SlidesError(f"The stylesheet in {base} loads {ref} from the network: a deck must work offline. "
                              "Choose a reveal.js theme without web fonts.")
        path = (base / ref.split("?")[0].split("#")[0]).resolve()
        if not path.is_file():
            raise SlidesError(f"The stylesheet in {base} refers to {ref}, which does not exist ({path}).")
        return path

    def do_import(match: re.Match) -> str:
        path = target(match.group("ref"))
        return inline_css(path.read_text(encoding="utf-8"), path.parent, _depth + 1)

    css = re.sub(r"""@import\s+(?:url\()?\s*(?P<ref>"[^"]+"|'[^']+'|[^\s;)]+)\s*\)?[^;]*;""", do_import, css)

    def do_url(match: re.Match) -> str:
        ref = match.group("ref").strip().strip("'\"")
        if ref.startswith(("data:", "#")):
            return match.group(0)
        return f'url("{_data_uri(target(ref))}")'

    return re.sub(r"url\(\s*(?P<ref>\"[^\"]*\"|'[^']*'|[^)]*)\s*\)", do_url, css)


def render_deck(title: str, markdown: str, dist: Path) -> str:
    """The self-contained HTML page of one deck.

    The Markdown goes into reveal.js's ``<textarea data-template>`` (escaped, so the browser hands
    the plugin the exact text); CSS is inlined, scripts are data URIs.

    Args:
        title: The page title.
        markdown: The deck's Markdown with media already resolved (:func:`resolve_media`).
        dist: reveal.js's ``dist`` folder (:func:`reveal_dist`).

    Returns:
        The HTML text.
    """
    styles = "\n".join(inline_css((dist / name).read_text(encoding="utf-8"), (dist / name).parent)
                       for name in REVEAL_CSS)
    scripts = "\n".join(
        f'<script src="data:text/javascript;base64,{base64.b64encode((dist / name).read_bytes()).decode("ascii")}"></script>'
        for name in REVEAL_JS)
    options = {"hash": True, "slideNumber": "c/t", "center": True, "width": 1280, "height": 720,
               "plugins": "__PLUGINS__"}
    init = json.dumps(options).replace('"__PLUGINS__"', "[RevealMarkdown, RevealHighlight, RevealNotes]")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="course_utils.authoring.slides">
<title>{html.escape(title)}</title>
<style>
{styles}
{COURSE_CSS}
</style>
</head>
<body>
<div class="reveal"><div class="slides">
<section data-markdown data-separator="{html.escape(SLIDE_SEPARATOR)}" data-separator-vertical="{html.escape(VERTICAL_SEPARATOR)}" data-separator-notes="{html.escape(NOTES_SEPARATOR)}">
<textarea data-template>
{html.escape(markdown, quote=False)}
</textarea>
</section>
</div></div>
{scripts}
<script>Reveal.initialize({init});</script>
</body>
</html>
"""


def build_deck(source: str | Path, notebooks_dir: str | Path, out_dir: str | Path, dist: Path) -> Deck:
    """Build one deck into ``out_dir/<name>.html`` (written atomically).

    Args:
        source: The deck's Markdown file ``NN_name.md``.
        notebooks_dir: Where ``NN_name.ipynb`` is.
        out_dir: Where the HTML goes.
        dist: reveal.js's ``dist`` folder.

    Returns:
        The :class:`Deck`, with ``html_path`` set.

    Raises:
        SlidesError: for a missing notebook, a deck that fails :func:`check_deck`, or a broken reference.
    """
    source = Path(source)
    notebook_path = Path(notebooks_dir) / f"{source.stem}.ipynb"
    if not notebook_path.is_file():
        raise SlidesError(f"{source}: a deck needs its notebook {notebook_path}; name the deck after a notebook.")
    markdown = source.read_text(encoding="utf-8")
    problems = check_deck(markdown, source.name)
    if problems:
        raise SlidesError("\n".join(problems))
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    resolved, used = resolve_media(markdown, notebook, source.name, notebook_path.name)
    title = deck_title(markdown)
    page = render_deck(title, resolved, dist)
    out = Path(out_dir) / f"{source.stem}.html"
    atomic_write_text(out, page)
    return Deck(source, notebook_path, title, count_slides(markdown), used, out)


def build_decks(slides_dir: str | Path | None = None, notebooks_dir: str | Path | None = None,
                out_dir: str | Path = "build/slides", reveal_dir: str | Path | None = None) -> list[Deck]:
    """Build every deck of the course (``make slides``, ``course-utils slides``).

    Args:
        slides_dir: The deck sources (default: the checkout's ``slides/``).
        notebooks_dir: The notebooks (default: ``notebooks/`` beside ``slides/``).
        out_dir: Where the HTML files go (default ``build/slides``).
        reveal_dir: The reveal.js npm package (default ``slides/node_modules/reveal.js``).

    Returns:
        The built decks, in course order.
    """
    slides_dir = Path(slides_dir) if slides_dir else default_slides_dir()
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else slides_dir.parent / "notebooks"
    sources = deck_sources(slides_dir)
    if not sources:
        raise SlidesError(f"No deck (NN_name.md) in {slides_dir}.")
    dist = reveal_dist(reveal_dir or slides_dir / "node_modules" / "reveal.js")
    return [build_deck(src, notebooks_dir, out_dir, dist) for src in sources]


#: Command-line switches for a headless Chromium on a machine with no network: nothing phones home.
CHROMIUM_ARGS = ("--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio")


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable for the browser check.

    Looks at the ``COURSE_CHROMIUM`` environment variable (:func:`course_utils.core.paths.chromium`), then ``chromium``, ``chromium-browser``,
    ``google-chrome`` on the PATH (Debian's package ``chromium`` installs ``/usr/bin/chromium``).

    Returns:
        The path, or ``None`` when there is none.
    """
    import shutil

    from course_utils.core import paths

    if paths.chromium():
        return paths.chromium()
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class BrowserReport:
    """What headless Chromium saw of one deck (:func:`check_in_browser`)."""

    html_path: Path
    ready: bool
    n_slides: int
    console_errors: list[str]
    network_requests: list[str]
    broken_images: list[str]
    screenshots: list[Path]

    @property
    def ok(self) -> bool:
        """True when the deck rendered, with no console error, no request off the page, no broken image."""
        return self.ready and self.n_slides > 0 and not (self.console_errors or self.network_requests
                                                          or self.broken_images)


def check_in_browser(html_paths, screenshot_dir: str | Path, chromium: str | None = None,
                     timeout_ms: int = 30_000) -> list[BrowserReport]:
    """Render each deck in headless Chromium: does it load, how many slides, any console error?

    Every slide is visited (``Reveal.slide``) so that errors on any of them show; requests that
    leave the page (anything but ``data:`` and the file itself) are blocked and reported, which
    proves the deck works offline. Screenshots of the title slide and of the first slide with a
    figure are saved as ``<screenshot_dir>/<deck>.png`` and ``<deck>-figure.png``.

    Args:
        html_paths: The built decks.
        screenshot_dir: Where the screenshots go (``build/slides``).
        chromium: The browser executable (default :func:`find_chromium`).
        timeout_ms: How long to wait for a deck to become ready.

    Returns:
        One :class:`BrowserReport` per deck.

    Raises:
        SlidesError: when no Chromium or no Playwright is installed, saying how to install them.
    """
    chromium = chromium or find_chromium()
    if not chromium:
        raise SlidesError("No Chromium found for the browser check: install Debian's package "
                          "(`apt-get install chromium`) or set CHROMIUM=/path/to/chrome.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise SlidesError("The browser check drives Chromium with Playwright: "
                          "`pip install -r requirements-test.txt`.") from exc
    screenshot_dir = Path(screenshot_dir)
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            for html_path in map(Path, html_paths):
                reports.append(_check_one(browser, html_path.resolve(), screenshot_dir, timeout_ms))
        finally:
            browser.close()
    return reports


def _check_one(browser, html_path: Path, screenshot_dir: Path, timeout_ms: int) -> BrowserReport:
    page_url = html_path.as_uri()
    errors, requests = [], []
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))

    def route(r):
        url = r.request.url
        if url.startswith("data:") or url.split("#")[0] == page_url:
            return r.continue_()
        requests.append(url)
        return r.abort()

    page.route("**/*", route)
    shots, ready, n_slides, broken = [], False, 0, []
    try:
        page.goto(page_url, wait_until="load", timeout=timeout_ms)
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=timeout_ms)
        ready = True
        n_slides = page.evaluate("() => Reveal.getTotalSlides()")
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=timeout_ms)
        broken = page.evaluate("() => [...document.images].filter(i => !i.naturalWidth).map(i => i.alt || i.src.slice(0, 60))")
        shot = screenshot_dir / f"{html_path.stem}.png"
        page.screenshot(path=str(shot))
        shots.append(shot)
        # Visit every slide, horizontal and vertical, so errors anywhere in the deck show up.
        figure_slide = None
        for h, v in page.evaluate("""() => Reveal.getSlides().map(s => {
                 const i = Reveal.getIndices(s); return [i.h, i.v || 0]; })"""):
            page.evaluate(f"() => Reveal.slide({h}, {v})")
            if figure_slide is None and page.evaluate("() => !!Reveal.getCurrentSlide().querySelector('img')"):
                figure_slide = (h, v)
        if figure_slide is not None:
            page.evaluate(f"() => Reveal.slide({figure_slide[0]}, {figure_slide[1]})")
            page.wait_for_timeout(1000)  # let the slide transition finish before the screenshot
            shot = screenshot_dir / f"{html_path.stem}-figure.png"
            page.screenshot(path=str(shot))
            shots.append(shot)
    except Exception as exc:  # a deck that never becomes ready is reported, not raised
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        context.close()
    return BrowserReport(html_path, ready, n_slides, errors, requests, broken, shots)
