"""The ``course-utils`` command (also ``python -m course_utils``).

Subcommands:

- ``run-notebooks NB...``: execute notebooks headless, write ``build/`` (``make course``);
- ``data list | info NAME | synth NAME|all | download NAME``: the datasets;
- ``features FILE... [--model M]``: print the log-mel shape and MFCC summary of audio files (a quick
  check that a file decodes), and with ``--model`` the size and windows of that model's features;
- ``tag FILE... [--model PATH] [--top 10]``: the top tags of audio files (notebook 02);
  ``--model choi2017`` or ``musicnn`` (or ``MSD_musicnn``) uses a pre-trained model, and ``--taggram PNG``
  draws the first file's taggram;
- ``train-tagger --variant mini|full``: train the compact convnet on MagnaTagAtune;
- ``extract AUDIO_LIST.txt OUT.npy [--model PATH] [--layers 01234]``: transfer features (notebook 03);
  ``--model musicnn --layers penultimate|max_pool|mean_pool`` for musicnn's;

``tag`` and ``extract`` go through :class:`course_utils.features.clip_features.ClipFeatures`, whatever the model;
- ``similar QUERY_AUDIO [--k 10]``: nearest clips in the siamese embedding (notebook 05);
- ``paper-table [--release-dir DIR] [--tasks ...] [--layers ...] [--json] [--gtzan-split filtered]``: the paper's
  SVM table (notebook 04), or GTZAN genre on the fault-filtered split;
- ``slides [--out build/slides]``: build the slide decks into self-contained reveal.js HTML (``make slides``);
- ``fit DATA --features mfcc --out genre.skops``: a classifier of your own labelled audio (a folder of class
  sub-folders or a CSV of path,label), with a nested cross-validated accuracy (notebook 06);
- ``predict genre.skops SONG... [--over-time] [--trust]``: its label and class probabilities for audio files
  (types outside scikit-learn, NumPy and course_utils, and old pickled .joblib files, only with ``--trust``).

Errors from ``course_utils`` (a bad file, a missing dataset, a failed download) and from the file
system (a missing input, a full disk) are printed as one clear line and exit with status 1, without a
traceback; the course's warnings (a truncated file, a long file cut) as one ``warning:`` line each.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from course_utils.core.errors import AudioWarning, CourseError, ParameterError


def _cmd_run_notebooks(args) -> int:
    from course_utils.authoring.runner import run_notebooks

    runs = run_notebooks(args.notebooks, args.out, timeout=args.timeout, html=not args.no_html, inplace=args.inplace)
    return 0 if all(r.ok for r in runs) else 1


def _cmd_features(args) -> int:
    from course_utils.features import clip_features

    extractor = _clip_features(args, cache=False, max_duration=_max_duration(args)) if args.model else None
    status = 0
    for path in args.files:
        try:  # everything about one file, so that one bad file never stops the others
            seconds, (bands, frames, low, high), mfcc = clip_features.file_overview(path, _max_duration(args))
            starts, per_window = extractor.windows(path) if extractor is not None else (None, None)
        except CourseError as exc:
            print(f"error: {_naming(exc, path)}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {seconds:.2f} s, log-mel {bands}x{frames}, "
              f"{low:.1f}..{high:.1f} dB, MFCC summary {mfcc.shape[0]} values")
        if extractor is not None:
            seconds = extractor.window_seconds() or 3.0
            print(f"  {extractor.model}: {per_window.shape[1]} features (layers {extractor.identity_['layers']}), "
                  f"{len(starts)} window(s) of {seconds:.2f} s")
    return status


def _clip_model(model: str | None) -> str:
    """The :class:`~course_utils.features.clip_features.ClipFeatures` model that ``--model`` names.

    A registry name (``choi2017``, ``musicnn``, ``musicnn:MSD_musicnn``, ``MSD_musicnn``,
    ``course``, ``siamese``, ``mfcc``) as it is; an existing file or a name ending in ``.keras`` is
    the path of a course tagger (``course:<path>``); nothing is the course-trained mini tagger.

    Raises:
        ParameterError: anything else (a typo), with the known names.
    """
    from course_utils.features import registry

    if model is None:
        return "course"
    try:
        registry.parse_model(model)
        return model
    except ParameterError:
        if Path(model).is_file() or model.endswith(".keras"):
            return f"course:{model}"
        if model.partition(":")[0] in registry.KINDS:
            raise  # a known model with an unknown variant: its message lists the variants
    raise ParameterError(f"--model {model!r}: no such model; choose from {', '.join([*registry.KINDS, *registry.ALIASES])} "
                         "(e.g. 'musicnn:MSD_musicnn'), or give the path of a course tagger's .keras file")


def _clip_features(args, **params):
    """``ClipFeatures`` for ``--model`` (and ``--layers``), fitted (the course tagger trained first if missing)."""
    from course_utils.models import convnet
    from course_utils.features.clip_features import ClipFeatures

    spec = _clip_model(args.model)
    if spec == "course" and not convnet.default_model_path("mini").is_file():
        print("No course-trained tagger yet: training it on the mini MagnaTagAtune first (a few minutes) ...",
              file=sys.stderr)
    params.setdefault("layers", getattr(args, "layers", None))
    return ClipFeatures(spec, batch_size=None, **params).fit()


def _write_taggram(path, extractor, out) -> None:
    """Draw a file's taggram (tags over time) into ``out`` (PNG, PDF or SVG), atomically."""
    import matplotlib.pyplot as plt

    from course_utils.core.files import atomic_write
    from course_utils.teaching import plots

    times, tags, probs = extractor.taggram(path)
    ax = plots.plot_taggram(times, tags, probs, title=f"{Path(path).name}: {extractor.model} taggram",
                            patch_seconds=extractor.window_seconds())
    with atomic_write(Path(out)) as tmp:
        ax.figure.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    print(f"taggram of {path}: {out}")


def _naming(exc: CourseError, path) -> str:
    """The error's message, prefixed with the file it concerns unless it names it already."""
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"


def _max_duration(args) -> float | None:
    """``--max-duration``: seconds of each file to analyse (0: all), checked."""
    from course_utils.core.validate import check_range

    check_range("--max-duration", args.max_duration, low=0)
    return None if args.max_duration == 0 else args.max_duration


def _check_top(args) -> None:
    """``--top``: at least 1."""
    from course_utils.core.validate import check_range

    check_range("--top", args.top, low=1, integer=True)


def _cmd_tag(args) -> int:
    _check_top(args)
    _max_duration(args)
    if args.taggram and Path(args.taggram).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise CourseError(f"--taggram {args.taggram}: give a .png, .pdf or .svg file name")
    tagger = _clip_features(args, cache=False, max_duration=_max_duration(args))
    results = tagger.tag(args.files, top=args.top)
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
        _write_taggram(args.files[0], tagger, args.taggram)
    return status


def _cmd_train_tagger(args) -> int:
    from course_utils.models import convnet, training

    model, history, info = training.train_course_tagger(args.variant, epochs=args.epochs, seed=args.seed, save_to=args.out)
    path = args.out or convnet.default_model_path(args.variant)
    print(f"trained {info['epochs_run']} epochs; test macro ROC-AUC {info['test_roc_auc']:.3f}, "
          f"PR-AUC {info['test_pr_auc']:.3f}; saved to {path}")
    return 0


def _cmd_extract(args) -> int:
    from course_utils.core import validate
    from course_utils.core.files import atomic_save_npy

    out = validate.npy_output(args.out)  # before hours of extraction, not after
    lines = [line.strip() for line in Path(args.audio_list).read_text().splitlines()]
    files = [line for line in lines if line and not line.startswith("#")]
    if not files:
        raise CourseError(f"{args.audio_list}: no audio paths (one per line)")
    extractor = _clip_features(args, on_error="nan",
                               max_duration=_max_duration(args), progress=not args.no_progress)
    if args.batch_size is not None:
        extractor.set_params(batch_size=args.batch_size)
    feats = extractor.transform(files)
    atomic_save_npy(out, feats)
    for _, exc in extractor.skipped_:
        print(f"error: {exc}", file=sys.stderr)
    bad = len(extractor.skipped_)
    print(f"{args.out}: {feats.shape[0]} x {feats.shape[1]} features ({extractor.model}, layers "
          f"{extractor.identity_['layers']})" + (f"; {bad} file(s) failed, their rows are NaN" if bad else ""))
    return 1 if bad else 0


def _cmd_similar(args) -> int:
    from course_utils.similarity import index

    index.similarity_query(args.query, args.k)  # before an index build of minutes
    if not (index.index_dir("mini") / "index.json").is_file():
        print("No similarity index yet: training the siamese network and indexing the mini MagnaTagAtune "
              "first (about a minute) ...", file=sys.stderr)
    table = index.similar_to_file(args.query, k=args.k)
    for _, row in table.iterrows():
        print(f"{int(row['rank']):3d}  {row['distance']:.3f}  clip {row['clip_id']}  {row['tags']}")
    return 0


def _cmd_paper_table(args) -> int:
    import json

    from course_utils.svm import protocol
    from course_utils.svm.report import format_table
    from course_utils.tasks import registry
    from course_utils.tasks import release

    folder = args.release_dir
    if folder is None:  # the data folder's copy, else the reference folder's, else a download
        folder = release.fetch_release()
    if args.gtzan_split == "filtered":
        from course_utils.svm import gtzan_filtered

        table = gtzan_filtered.gtzan_filtered_table(folder, protocol=args.protocol)
        if args.json:
            print(json.dumps({"protocol": args.protocol, "note": table.attrs["note"], "n_test": table.attrs["n_test"],
                              "rows": json.loads(table.reset_index().to_json(orient="records"))}, indent=2))
        else:
            print(gtzan_filtered.format_gtzan_table(table))
        return 0
    tasks = args.tasks or list(registry.names())
    unknown = [t for t in tasks if t not in registry.names()]
    if unknown:
        raise ParameterError(f"unknown task(s) {unknown}; choose from {', '.join(registry.names())}")
    table = protocol.paper_table(folder, tasks=tasks, layer_sets=tuple(args.layers), protocol=args.protocol,
                                 nested=args.nested, progress=not args.json)
    if args.json:
        print(json.dumps({"protocol": args.protocol, "note": table.attrs.get("note", ""),
                          "rows": json.loads(table.reset_index().to_json(orient="records"))}, indent=2))
    else:
        print(format_table(table))
    return 0


def _own_table(data):
    """``fit``'s DATA: a folder of class sub-folders, or a CSV table."""
    from course_utils.datasets import own

    path = Path(data)
    return own.load_table(path) if path.suffix.lower() == ".csv" else own.load_folder(path)


def _cmd_fit(args) -> int:
    from course_utils.own import classifiers, saved
    from course_utils.features.clip_features import ClipFeatures
    from course_utils.core.errors import DatasetError
    from course_utils.core.validate import check_range

    check_range("--folds", args.folds, low=2, integer=True)
    check_range("--inner-folds", args.inner_folds, low=2, integer=True)
    _max_duration(args)
    out = saved.check_output(args.out, reading=args.data, what="--out")  # before the fit, not after
    try:
        table = _own_table(args.data)
    except DatasetError as exc:  # a bad folder or table: the message says what layout is expected
        print(f"error: {exc}", file=sys.stderr)
        return 2
    choices = {None: classifiers.DEFAULT_CHOICES, ("all",): classifiers.NAMES}.get(
        tuple(args.classifiers) if args.classifiers else None, args.classifiers)
    for name in choices:
        classifiers.make_classifier(name)  # an unknown name is refused before any extraction
    features = ClipFeatures(args.features, layers=args.layers, max_duration=_max_duration(args))
    counts = table["label"].value_counts().sort_index()
    if table.attrs.get("layout"):
        print(f"layout: {table.attrs['layout']}", flush=True)
    print(f"{args.data}: {len(table)} clips in {len(counts)} classes ("
          + ", ".join(f"{c} {n}" for c, n in counts.items()) + f"); {args.features} features ...", flush=True)
    model, report = classifiers.fit_classifier(features, table, choices=choices, pca=(False, True) if args.pca else (False,),
                                               outer_folds=args.folds, inner_folds=args.inner_folds, seed=args.seed)
    print(report.text())
    saved.save_classifier(model, out, report=report)
    print(f"saved to {out}; predict with: course-utils predict {out} SONG...")
    return 0


def _cmd_predict(args) -> int:
    import numpy as np

    from course_utils.own import saved

    _check_top(args)
    model = saved.load_classifier(args.model, trust=args.trust)
    features, classifier = model.steps[0][1], model[1:]
    classes = [str(c) for c in model.classes_]
    if args.over_time and features.window_seconds() is None:
        print("warning: these features summarise a whole clip; a window's summary is not distributed like the "
              "clips the classifier was trained on, so labels per window can be biased (notebook 06)", file=sys.stderr)
    status = 0
    for path in args.files:
        try:  # one bad file never stops the others
            # the features once, then the classifier (model.predict([path]) does the same in two steps)
            starts, feats = features.windows(path) if args.over_time else (None, features.transform([path]))
            labels, probs = classifier.predict(feats), classifier.predict_proba(feats)
        except CourseError as exc:
            print(f"error: {_naming(exc, path)}", file=sys.stderr)
            status = 1
            continue
        if args.over_time:
            print(f"{path}: label per window (start in seconds, label, its probability)")
            for start, label, p in zip(starts, labels, probs):
                print(f"  {start:7.1f} s  {label:<14s} {p[classes.index(str(label))]:.3f}")
            continue
        print(f"{path}: {labels[0]}")
        for k in np.argsort(-probs[0], kind="stable")[:args.top]:
            print(f"  {classes[k]:<14s} {probs[0][k]:.3f}")
    return status


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
        print(datasets.info(args.name, data_dir=args.root))
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
    from course_utils.authoring import slides

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
    p.add_argument("--max-duration", type=float, default=0, metavar="SECONDS",
                   help="analyse at most this many seconds of each file (default 0: all of it; a file of more than "
                        "10 minutes is decoded and analysed a segment at a time, in bounded memory)")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print the course's own warnings (a truncated file, a cut) as one ``warning:`` line."""
    if issubclass(category, (AudioWarning, _saved_warning())):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning


def _saved_warning():
    from course_utils.own.saved import SavedClassifierWarning

    return SavedClassifierWarning


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
    p.add_argument("--model", default=None,
                   help="also run a clip model on each file ('choi2017', 'musicnn', 'course', 'siamese', 'mfcc' or a "
                        ".keras tagger) and print its features' size and windows")
    p.add_argument("--layers", default=None, help="with --model: which layers (default: the model's)")
    _add_max_duration(p)
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser("tag", help="print the top tags of audio files")
    p.add_argument("files", nargs="+")
    p.add_argument("--model", default=None,
                   help="a .keras tagger, 'choi2017' for the authors' pre-trained model, or 'musicnn' "
                        "(MTT_musicnn; also MSD_musicnn, MTT_vgg, MSD_vgg) "
                        "(default: the course-trained tagger, trained first if missing)")
    p.add_argument("--top", type=int, default=10, help="how many tags to print (at least 1; default 10)")
    p.add_argument("--taggram", default=None, metavar="PNG",
                   help="draw the first file's tags over time (one column per window) into this image")
    _add_max_duration(p)
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("train-tagger", help="train the compact convnet on MagnaTagAtune")
    p.add_argument("--variant", choices=["mini", "full"], default="mini",
                   help="mini: the embedded data on a CPU; full: the real MagnaTagAtune, 29.1 s clips (use a GPU)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="model path (default data/models/compact_convnet_<variant>.keras)")
    p.set_defaults(func=_cmd_train_tagger)

    p = sub.add_parser("extract", help="features of a list of audio files (any clip model: course_utils.features.clip_features)")
    p.add_argument("audio_list", help="a text file with one audio path per line")
    p.add_argument("out", help="the .npy file to write, shape (n_files, n_features)")
    p.add_argument("--model", default=None,
                   help="a .keras tagger, 'choi2017', 'musicnn' / 'MSD_musicnn', 'siamese' or 'mfcc' "
                        "(default: the course-trained tagger)")
    p.add_argument("--layers", default=None,
                   help="the convnets' blocks, e.g. 01234 (160 values, the default), 4, 24; musicnn's penultimate "
                        "(200 values, the default), max_pool, mean_pool; 'tags' for tag probabilities")
    p.add_argument("--batch-size", type=int, default=None, help="windows per forward pass (default: the model's)")
    _add_max_duration(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("similar", help="the clips of the course's index most similar to an audio file")
    p.add_argument("query", help="an audio file")
    p.add_argument("--k", type=int, default=10, help="how many neighbours (default 10)")
    p.set_defaults(func=_cmd_similar)

    p = sub.add_parser("paper-table", help="the six-task SVM protocol of Choi et al. (2017) on released features")
    p.add_argument("--release-dir", default=None,
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

    from course_utils.own.saved import TRUST_NOTE

    p = sub.add_parser("fit", help="fit a classifier on your own labelled audio and save it (notebook 06)",
                       description="Extract the features of every clip once, estimate the accuracy by nested "
                                   "cross-validation, choose the classifier and its setting, refit on all clips "
                                   f"and save it. Note: {TRUST_NOTE}.")
    p.add_argument("data", help="a folder with one sub-folder of audio files per class (my_music/jazz/*.mp3, "
                                "my_music/metal/*.wav, ...), or a CSV file with path,label columns")
    p.add_argument("--features", default="mfcc",
                   help="the clip features: mfcc (default, no network), choi2017, musicnn, course or siamese")
    p.add_argument("--layers", default=None, help="the feature extractor's layers (default: the model's own)")
    p.add_argument("--out", required=True,
                   help="the classifier file to write, e.g. genre.skops (one file; not inside DATA; an existing file "
                        "is replaced only if it is a classifier of the course)")
    p.add_argument("--classifiers", nargs="+", default=None, metavar="NAME",  # names checked by the zoo (no sklearn import here)
                   help="what to choose among: logreg, knn, linear_svm, rbf_svm, mlp, random_forest, or all "
                        "(default: logreg knn linear_svm rbf_svm)")
    p.add_argument("--pca", action="store_true", help="also try each classifier after PCA (95%% of the variance)")
    p.add_argument("--folds", type=int, default=5,
                   help="outer folds of the accuracy estimate (at least 2, at most the smallest class's clips; default 5)")
    p.add_argument("--inner-folds", type=int, default=3,
                   help="folds that choose the classifier (at least 2; lowered to what the clips allow, and the "
                        "report says how many were used; default 3)")
    p.add_argument("--seed", type=int, default=0, help="the folds' seed (default 0)")
    _add_max_duration(p)
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("predict", help="label audio files with a classifier saved by `course-utils fit`",
                       description=f"Print each file's label and class probabilities. Note: {TRUST_NOTE}.")
    p.add_argument("model", help="a classifier saved by course-utils fit (e.g. genre.skops)")
    p.add_argument("files", nargs="+", help="audio files")
    p.add_argument("--over-time", action="store_true", help="a label for each window of the file instead")
    p.add_argument("--top", type=int, default=5, help="how many class probabilities to print (at least 1; default 5)")
    p.add_argument("--trust", action="store_true",
                   help="load a classifier holding types outside scikit-learn, NumPy and course_utils, or an old "
                        ".joblib (a pickle, which can run code): only for a file you made or whose author you trust")
    p.set_defaults(func=_cmd_predict)

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


def _sndfile_error():
    """libsndfile's error class (its writes fail with it on a full disk or a file size limit)."""
    import soundfile

    return getattr(soundfile, "LibsndfileError", RuntimeError)


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
            warnings.simplefilter("always", _saved_warning())
            return args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a missing input, a folder where a file should be, a full disk...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} (check the path, the permissions and the free disk space)",
              file=sys.stderr)
        return 1
    except _sndfile_error() as exc:  # writing audio failed: the disk is full or a file size limit was hit
        print(f"error: cannot write an audio file ({getattr(exc, 'error_string', exc)}): the disk is full or a file "
              "size limit is set (ulimit -f); free some space or lift the limit, then run the command again (files "
              "are written under temporary names, so nothing half-written was kept)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
