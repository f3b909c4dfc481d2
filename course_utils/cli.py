"""The ``course-utils`` command (also ``python -m course_utils``).

Subcommands:

- ``run-notebooks NB...``: execute notebooks headless, write ``build/`` (``make course``);
- ``data list | info NAME | synth NAME|all | download NAME``: the datasets;
- ``features FILE...``: print the log-mel shape and MFCC summary of audio files (a quick check
  that a file decodes);
- ``tag FILE... [--model PATH] [--top 10]``: the top tags of audio files (notebook 02);
  ``--model musicnn`` (or ``MSD_musicnn``) uses musicnn, and ``--taggram PNG`` draws the first file's taggram;
- ``train-tagger --variant mini|full``: train the compact convnet on MagnaTagAtune;
- ``extract AUDIO_LIST.txt OUT.npy [--model PATH] [--layers 01234]``: transfer features (notebook 03);
  ``--model musicnn --kind penultimate|max_pool|mean_pool`` for musicnn's;
- ``similar QUERY_AUDIO [--k 10]``: nearest clips in the siamese embedding (notebook 05);
- ``paper-table [--features-dir DIR] [--tasks ...] [--layers ...] [--json] [--gtzan-split filtered]``: the paper's
  SVM table (notebook 04), or GTZAN genre on the fault-filtered split;
- ``slides [--out build/slides]``: build the slide decks into self-contained reveal.js HTML (``make slides``).

Errors from ``course_utils`` (a bad file, a missing dataset, a failed download) and from the file
system (a missing input, a full disk) are printed as one clear line and exit with status 1, without a
traceback; the course's warnings (a truncated file, a long file cut) as one ``warning:`` line each.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from course_utils.errors import AudioWarning, CourseError


def _cmd_run_notebooks(args) -> int:
    from course_utils.runner import run_notebooks

    runs = run_notebooks(args.notebooks, args.out, timeout=args.timeout, html=not args.no_html, inplace=args.inplace)
    return 0 if all(r.ok for r in runs) else 1


def _cmd_features(args) -> int:
    from course_utils import audio

    status = 0
    for path in args.files:
        try:  # everything about one file, so that one bad file never stops the others
            y = audio.load_audio(path, max_duration=_max_duration(args))
            mel = audio.log_mel(y)
            mfcc = audio.mfcc_summary(y, repeat_short=True)
        except CourseError as exc:
            print(f"error: {_naming(exc, path)}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {len(y) / audio.SR:.2f} s, log-mel {mel.shape[0]}x{mel.shape[1]}, "
              f"{mel.min():.1f}..{mel.max():.1f} dB, MFCC summary {mfcc.shape[0]} values")
    return status


def _musicnn_name(model) -> str | None:
    """The musicnn checkpoint that ``--model`` names (``musicnn`` is MTT_musicnn), or None."""
    from course_utils.musicnn import CLI_NAMES

    return CLI_NAMES.get(model)


def _write_taggram(path, model, out) -> None:
    """Draw the musicnn taggram of one file into ``out`` (PNG, PDF or SVG), atomically."""
    import matplotlib.pyplot as plt

    from course_utils import cache, musicnn, plots

    times, tags, probs = musicnn.taggram(path, model)
    ax = plots.plot_taggram(times, tags, probs, title=f"{Path(path).name}: {model.name} taggram",
                            patch_seconds=musicnn.PATCH_SECONDS)
    with cache.atomic_write(Path(out)) as tmp:
        ax.figure.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    print(f"taggram of {path}: {out}")


def _naming(exc: CourseError, path) -> str:
    """The error's message, prefixed with the file it concerns unless it names it already."""
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"


def _max_duration(args) -> float | None:
    """``--max-duration``: seconds of each file to analyse (0: all)."""
    return None if args.max_duration == 0 else args.max_duration


def _cmd_tag(args) -> int:
    from course_utils import pretrained, tagging

    musicnn_name = _musicnn_name(args.model)
    if args.taggram and (musicnn_name is None or Path(args.taggram).suffix.lower() not in (".png", ".pdf", ".svg")):
        raise CourseError("--taggram needs --model musicnn (or MSD_musicnn) and a .png, .pdf or .svg file name")
    if args.model == "choi2017":
        model, info = pretrained.load_choi2017_tagger()
    elif musicnn_name is not None:
        from course_utils import musicnn

        model, info = musicnn.load_musicnn(musicnn_name), {"input": "musicnn"}
    else:
        if args.model is None and not tagging.models.default_model_path("mini").is_file():
            print("No course-trained tagger yet: training it on the mini MagnaTagAtune first (a few minutes) ...",
                  file=sys.stderr)
        model, info = tagging.load_course_tagger("mini", args.model, train_if_missing=args.model is None)
    if info.get("input") == "audio":  # the authors' model takes raw audio
        # two 29 s windows per pass: same tags as eight, 430 MB less memory on a long file
        results = pretrained.tag_files(args.files, top=args.top, model=model, batch_size=2,
                                       max_duration=_max_duration(args))
    elif info.get("input") == "musicnn":
        results = musicnn.tag_files(args.files, top=args.top, model=model)
    else:
        results = tagging.tag_files(model, info, args.files, top=args.top, max_duration=_max_duration(args))
    status = 0
    for path, result in results:
        if isinstance(result, CourseError):
            print(f"error: {result}", file=sys.stderr)
            status = 1
            continue
        print(path)
        for tag, p in result:
            print(f"  {tag:<14s} {p:.3f}")
    if args.taggram and not isinstance(results[0][1], CourseError):
        _write_taggram(args.files[0], model, args.taggram)
    return status


def _cmd_train_tagger(args) -> int:
    from course_utils import tagging

    model, history, info = tagging.train_course_tagger(args.variant, epochs=args.epochs, seed=args.seed, save_to=args.out)
    path = args.out or tagging.models.default_model_path(args.variant)
    print(f"trained {info['epochs_run']} epochs; test macro ROC-AUC {info['test_roc_auc']:.3f}, "
          f"PR-AUC {info['test_pr_auc']:.3f}; saved to {path}")
    return 0


def _cmd_extract(args) -> int:
    from course_utils import cache, tagging, transfer, validate

    out = validate.npy_output(args.out)  # before hours of extraction, not after
    lines = [line.strip() for line in Path(args.audio_list).read_text().splitlines()]
    files = [line for line in lines if line and not line.startswith("#")]
    if not files:
        raise CourseError(f"{args.audio_list}: no audio paths (one per line)")
    musicnn_name = _musicnn_name(args.model)
    if args.kind is not None and musicnn_name is None:
        raise CourseError("--kind is for --model musicnn (or MSD_musicnn); the other models take --layers")
    if musicnn_name is not None:
        from course_utils import musicnn

        model = musicnn.load_musicnn(musicnn_name)
        extract = musicnn.extract_features
        feats = extract(files, model, kind=args.kind or "penultimate", on_error="nan",  # one patch at a time
                        progress=not args.no_progress)
    elif args.model == "choi2017":
        from course_utils import pretrained

        model, _ = pretrained.load_choi2017_tagger()
        extract = pretrained.extract_features
        feats = extract(files, model, layers=args.layers, batch_size=args.batch_size, on_error="nan",
                        progress=not args.no_progress)
    else:
        model, info = tagging.load_course_tagger("mini", args.model, train_if_missing=args.model is None)
        extract = transfer.extract_convnet_features
        feats = extract(model, files, crop_frames=int(info["crop_frames"]), layers=args.layers,
                        batch_size=args.batch_size, on_error="nan", progress=not args.no_progress)
    cache.atomic_save_npy(out, feats)
    for exc in extract.errors:
        print(f"error: {exc}", file=sys.stderr)
    bad = len(extract.errors)
    what = f"{musicnn_name} {args.kind or 'penultimate'}" if musicnn_name else f"layers {args.layers}"
    print(f"{args.out}: {feats.shape[0]} x {feats.shape[1]} features ({what})"
          + (f"; {bad} file(s) failed, their rows are NaN" if bad else ""))
    return 1 if bad else 0


def _cmd_similar(args) -> int:
    from course_utils import search_index, validate

    validate.similarity_query(args.query, args.k)  # before an index build of minutes
    if not (search_index.index_dir("mini") / "index.json").is_file():
        print("No similarity index yet: training the siamese network and indexing the mini MagnaTagAtune "
              "first (about a minute) ...", file=sys.stderr)
    table = search_index.similar_to_file(args.query, k=args.k)
    for _, row in table.iterrows():
        print(f"{int(row['rank']):3d}  {row['distance']:.3f}  clip {row['clip_id']}  {row['tags']}")
    return 0


def _cmd_paper_table(args) -> int:
    import json

    from course_utils import evaluate, release

    folder = args.features_dir
    if folder is None:  # the data folder's copy, else the reference folder's, else a download
        folder = release.fetch_release()
    if args.gtzan_split == "filtered":
        from course_utils import gtzan_filtered

        table = gtzan_filtered.gtzan_filtered_table(folder, protocol=args.protocol)
        if args.json:
            print(json.dumps({"protocol": args.protocol, "note": table.attrs["note"], "n_test": table.attrs["n_test"],
                              "rows": json.loads(table.reset_index().to_json(orient="records"))}, indent=2))
        else:
            print(gtzan_filtered.format_gtzan_table(table))
        return 0
    tasks = args.tasks or list(evaluate.TASKS)
    unknown = [t for t in tasks if t not in evaluate.TASKS]
    if unknown:
        raise CourseError(f"unknown task(s) {unknown}; choose from {', '.join(evaluate.TASKS)}")
    table = evaluate.paper_table(folder, tasks=tasks, layer_sets=tuple(args.layers), protocol=args.protocol,
                                 nested=args.nested, progress=not args.json)
    if args.json:
        print(json.dumps({"protocol": args.protocol, "note": table.attrs.get("note", ""),
                          "rows": json.loads(table.reset_index().to_json(orient="records"))}, indent=2))
    else:
        print(evaluate.format_table(table))
    return 0


def _data_root(args) -> Path | None:
    """``--root``, checked: a data folder (it may not exist yet), not a file."""
    if args.root is None:
        return None
    root = Path(args.root)
    if root.exists() and not root.is_dir():
        raise CourseError(f"--root {root} is not a folder: give a data folder (it holds mini/ and full/)")
    return root


def _cmd_data(args) -> int:
    from course_utils import datasets

    if hasattr(args, "root"):
        args.root = _data_root(args)

    if args.data_cmd == "list":
        print(datasets.describe_all().to_string(index=False))
    elif args.data_cmd == "info":
        print(datasets.info(args.name, root=args.root))
    elif args.data_cmd == "synth":
        names = datasets.names() if args.name == "all" else [args.name]
        for name in names:  # --root is a data folder, as for `info`: each dataset in <root>/mini/<name>
            root = Path(args.root) / "mini" / name if args.root else None
            path = datasets.synthesize(name, root=root, force=args.force)
            print(f"{name}: mini dataset ready in {path}")
    elif args.data_cmd == "download":
        root = Path(args.root) / "full" / args.name if args.root else None
        path = datasets.download(args.name, root=root)
        print(f"{args.name}: full dataset ready in {path}")
    return 0


def _cmd_slides(args) -> int:
    from course_utils import slides

    decks = slides.build_decks(args.slides_dir, args.notebooks_dir, args.out, args.reveal)
    for deck in decks:
        print(f"{deck.html_path}: {deck.n_slides} slides, {len(deck.media)} figures/players from "
              f"{deck.notebook.name}, {deck.html_path.stat().st_size / 1e6:.1f} MB")
    if not args.check:
        return 0
    status = 0
    for deck, report in zip(decks, slides.check_in_browser([d.html_path for d in decks], args.out)):
        problems = report.console_errors + [f"request off the page: {u}" for u in report.network_requests] + \
            [f"image did not load: {alt}" for alt in report.broken_images]
        if report.n_slides != deck.n_slides:
            problems.append(f"{report.n_slides} slides rendered, {deck.n_slides} in the source")
        verdict = "ok" if report.ok and not problems else "FAILED"
        print(f"chromium: {deck.html_path.name}: {verdict}, {report.n_slides} slides, screenshots "
              f"{', '.join(str(s) for s in report.screenshots)}")
        for problem in problems:
            print(f"  {problem}")
        status |= verdict != "ok"
    return status


def _add_max_duration(p: argparse.ArgumentParser) -> None:
    from course_utils.audio import MAX_SECONDS

    p.add_argument("--max-duration", type=float, default=MAX_SECONDS, metavar="SECONDS",
                   help=f"analyse at most this many seconds of each file (default {MAX_SECONDS:g}; 0: all of it, "
                        "which needs memory in proportion to the file)")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print the course's own warnings (a truncated file, a cut) as one ``warning:`` line."""
    if issubclass(category, AudioWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``course-utils``.

    Returns:
        An :class:`argparse.ArgumentParser` with one subparser per subcommand.
    """
    parser = argparse.ArgumentParser(prog="course-utils", description="Deep Learning for Music Classification: course tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run-notebooks", help="execute notebooks headless and report time and memory")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--out", default="build", help="output folder (default: build)")
    p.add_argument("--timeout", type=int, default=1800, help="per-cell time limit in seconds")
    p.add_argument("--no-html", action="store_true", help="skip the HTML renderings")
    p.add_argument("--inplace", action="store_true", help="also store the outputs in the notebooks (maintainers)")
    p.set_defaults(func=_cmd_run_notebooks)

    p = sub.add_parser("features", help="decode audio files and print their features' shapes")
    p.add_argument("files", nargs="+")
    _add_max_duration(p)
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser("tag", help="print the top tags of audio files")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", default=None,
                   help="a .keras tagger, 'choi2017' for the authors' pre-trained model, or 'musicnn' "
                        "(MTT_musicnn; also MSD_musicnn, MTT_vgg, MSD_vgg) "
                        "(default: the course-trained tagger, trained first if missing)")
    p.add_argument("--top", type=int, default=10, help="how many tags to print (default 10)")
    p.add_argument("--taggram", default=None, metavar="PNG",
                   help="with --model musicnn: draw the first file's tags over time into this image")
    _add_max_duration(p)
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("train-tagger", help="train the compact convnet on MagnaTagAtune")
    p.add_argument("--variant", choices=["mini", "full"], default="mini",
                   help="mini: the embedded data on a CPU; full: the real MagnaTagAtune, 29.1 s clips (use a GPU)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="model path (default data/models/compact_convnet_<variant>.keras)")
    p.set_defaults(func=_cmd_train_tagger)

    p = sub.add_parser("extract", help="convnet transfer features of a list of audio files")
    p.add_argument("audio_list", help="a text file with one audio path per line")
    p.add_argument("out", help="the .npy file to write, shape (n_files, 32 x number of layers)")
    p.add_argument("--model", default=None,
                   help="a .keras tagger, 'choi2017', or 'musicnn' / 'MSD_musicnn' (default: the course-trained tagger)")
    p.add_argument("--layers", default="01234", help="blocks to keep, e.g. 01234 (160 values), 4, 24")
    p.add_argument("--kind", default=None, choices=["penultimate", "max_pool", "mean_pool"],
                   help="with --model musicnn: which features (default penultimate, 200 values; the pools 753)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("similar", help="the clips of the course's index most similar to an audio file")
    p.add_argument("query", help="an audio file")
    p.add_argument("--k", type=int, default=10, help="how many neighbours (default 10)")
    p.set_defaults(func=_cmd_similar)

    p = sub.add_parser("paper-table", help="the six-task SVM protocol of Choi et al. (2017) on released features")
    p.add_argument("--features-dir", default=None,
                   help="a folder with features/ and labels/ as in the authors' release "
                        "(default: the release, downloaded with checksums on first use)")
    p.add_argument("--tasks", nargs="+", default=None, help="a subset of the tasks (default: all seven rows)")
    p.add_argument("--layers", nargs="+", default=["01234", "mfcc"],
                   help="feature sets: 01234, mfcc, a layer subset such as 4 or 24, or 01234+mfcc")
    p.add_argument("--protocol", choices=["paper", "corrected"], default="paper",
                   help="paper: as published (standardisation inert); corrected: standardisation really in the grid")
    p.add_argument("--nested", action="store_true", help="also the nested (honest) estimates; about ten times slower")
    p.add_argument("--gtzan-split", choices=["random", "filtered"], default="random",
                   help="filtered: GTZAN genre on the fault-filtered split (train/valid/test) against the random "
                        "10 folds and public results, instead of the six-task table")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_paper_table)

    p = sub.add_parser("slides", help="build the slide decks into self-contained reveal.js HTML (make slides)")
    p.add_argument("--out", default="build/slides", help="output folder (default: build/slides)")
    p.add_argument("--slides-dir", default=None, help="the Markdown decks (default: the checkout's slides/)")
    p.add_argument("--notebooks-dir", default=None, help="the notebooks (default: notebooks/ beside slides/)")
    p.add_argument("--reveal", default=None, help="the reveal.js npm package (default: slides/node_modules/reveal.js)")
    p.add_argument("--check", action="store_true",
                   help="then render every deck in headless Chromium: slide count, console errors, screenshots")
    p.set_defaults(func=_cmd_slides)

    p = sub.add_parser("data", help="list, inspect, synthesise or download the datasets")
    dsub = p.add_subparsers(dest="data_cmd", required=True)
    d = dsub.add_parser("list", help="the datasets and their sizes")
    d = dsub.add_parser("info", help="what a dataset is, where it is, whether it is complete")
    d.add_argument("name")
    d.add_argument("--root", default=None, help="data folder (default: data/ or $COURSE_DATA_DIR)")
    d = dsub.add_parser("synth", help="generate a mini dataset (or 'all')")
    d.add_argument("name")
    d.add_argument("--root", default=None, help="data folder (default: data/ or $COURSE_DATA_DIR)")
    d.add_argument("--force", action="store_true", help="regenerate even if a valid copy exists")
    d = dsub.add_parser("download", help="download the full dataset (or print how to get it)")
    d.add_argument("name")
    d.add_argument("--root", default=None, help="data folder (default: data/ or $COURSE_DATA_DIR)")
    p.set_defaults(func=_cmd_data)
    return parser


def main(argv=None) -> int:
    """Entry point of ``course-utils``.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            warnings.simplefilter("always", AudioWarning)
            return args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a missing input, a folder where a file should be, a full disk...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} (check the path, the permissions and the free disk space)",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
