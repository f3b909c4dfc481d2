"""Similarity search: exact and approximate (faiss HNSW) nearest neighbours, the course index.

:func:`exact_knn` (scikit-learn, cosine, brute force) and an approximate HNSW index of faiss
(:func:`hnsw_index`, :func:`approx_knn`) answer the same queries (notebook 05 measures what the
approximation costs in recall). The persistent
course index behind ``course-utils similar QUERY_AUDIO`` holds the siamese model, the
embeddings of every clip and a clip table: :func:`build_course_index`,
:func:`load_course_index`, :func:`similar_to_file`. A single-threaded faiss build and a seeded
training make a rebuild give the same index bit for bit on the same machine.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import audio
from course_utils.core import paths, validate
from course_utils.core.files import replace_folder, temp_path_for
from course_utils.core.errors import CourseError
from course_utils.features.clip_features import ClipFeatures
from course_utils.models import convnet
from course_utils.similarity.metrics import retrieval_table
from course_utils.similarity.siamese import embed_clips, SIAMESE_DEFAULTS, train_siamese
from course_utils.stats import unit_length

#: Files of a course index folder (see :func:`build_course_index`).
INDEX_FILES = {"model": "model.keras", "embeddings": "embeddings.npy", "clips": "clips.csv", "info": "index.json"}


# --------------------------------------------------------------------------- search


def exact_knn(embeddings, k: int = 10, queries=None, exclude_self: bool = True):
    """Exact nearest neighbours by cosine distance (scikit-learn, brute force).

    Args:
        embeddings: ``(n, d)`` database vectors.
        k: neighbours per query.
        queries: row numbers of ``embeddings`` to query (``None``: all), searched in the database
            without themselves when ``exclude_self``; or, with ``exclude_self=False``, any
            ``(m, d)`` array of query vectors.
        exclude_self: drop each query row from its own result.

    Returns:
        ``(ids, distances)``, ``(n_queries, k)`` int64 and float32, nearest first; the cosine
        distance is ``1 - cosine similarity``.
    """
    from sklearn.neighbors import NearestNeighbors

    db = np.asarray(embeddings, dtype=np.float32)
    nn = NearestNeighbors(n_neighbors=min(len(db), k + int(exclude_self)), metric="cosine", algorithm="brute").fit(db)
    if exclude_self:
        rows = np.arange(len(db)) if queries is None else np.asarray(queries, dtype=np.int64)
        dist, ids = nn.kneighbors(db[rows])
        return _drop_self(ids, dist, rows, k)
    q = db if queries is None else np.asarray(queries, dtype=np.float32)
    dist, ids = nn.kneighbors(q)
    return ids.astype(np.int64), dist.astype(np.float32)


def _drop_self(ids, dist, rows, k: int):
    """Remove each query's own id from its result row (or the last hit if it is absent)."""
    keep = ids != np.asarray(rows)[:, None]
    out_ids = np.empty((len(ids), k), np.int64)
    out_d = np.empty((len(ids), k), np.float32)
    for i in range(len(ids)):
        sel = np.flatnonzero(keep[i])[:k]
        out_ids[i], out_d[i] = ids[i, sel], dist[i, sel]
    return out_ids, out_d


def hnsw_index(embeddings, m: int = 32, ef_construction: int = 200, ef_search: int = 128):
    """An approximate index of unit vectors for large collections: faiss' HNSW graph.

    The vectors are scaled to unit length and compared by inner product (= cosine similarity).
    The graph is built with one thread, so it is the same at every build (a multi-threaded build
    inserts in a varying order). ``ef_search`` trades speed for recall. Notebook 05.

    Args:
        embeddings: ``(n, d)`` vectors.
        m: neighbours per node of the graph.
        ef_construction: search width while building.
        ef_search: search width while querying.

    Returns:
        A ``faiss.IndexHNSWFlat`` holding the vectors (ids = row numbers).
    """
    import faiss

    v = np.ascontiguousarray(unit_length(embeddings))
    index = faiss.IndexHNSWFlat(v.shape[1], int(m), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(ef_construction)
    index.hnsw.efSearch = int(ef_search)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index.add(v)
    finally:
        faiss.omp_set_num_threads(threads)
    return index


def approx_knn(index, k: int = 10, queries=None, exclude_self: bool = True):
    """Nearest neighbours from a faiss index, as :func:`exact_knn` returns them.

    Args:
        index: from :func:`hnsw_index`.
        k: neighbours per query.
        queries: row numbers of the indexed vectors (``None``: all); with
            ``exclude_self=False``, an ``(m, d)`` array of query vectors is also accepted.
        exclude_self: drop each query row from its own result.

    Returns:
        ``(ids, distances)`` ``(n_queries, k)``: ids and cosine distances, nearest first.
    """
    if queries is None or (np.ndim(queries) == 1):
        rows = np.arange(index.ntotal) if queries is None else np.asarray(queries, dtype=np.int64)
        q = np.stack([index.reconstruct(int(r)) for r in rows]) if len(rows) else np.zeros((0, index.d), np.float32)
    else:
        rows, q = None, unit_length(queries)
    sims, ids = index.search(np.ascontiguousarray(q, dtype=np.float32), k + int(exclude_self))
    dist = (1.0 - sims).astype(np.float32)
    if exclude_self and rows is not None:
        return _drop_self(ids.astype(np.int64), dist, rows, k)
    return ids[:, :k].astype(np.int64), dist[:, :k]


def nearest(index_or_embeddings, query_id: int, k: int = 10):
    """The ``k`` clips nearest to one clip of the collection, itself excluded (notebook 05).

    Args:
        index_or_embeddings: ``(n, d)`` embeddings (exact search) or a faiss index from
            :func:`hnsw_index` (approximate search).
        query_id: the row of the query clip.
        k: how many neighbours.

    Returns:
        ``(ids, distances)``: 1-D arrays of ``k`` row numbers and cosine distances, nearest first.
    """
    if hasattr(index_or_embeddings, "search"):  # a faiss index
        ids, dist = approx_knn(index_or_embeddings, k, queries=[int(query_id)])
    else:
        ids, dist = exact_knn(np.asarray(index_or_embeddings), k, queries=[int(query_id)])
    return ids[0], dist[0]



# --------------------------------------------------------------------------- the course index


def index_dir(variant: str = "mini") -> Path:
    """Where the course's similarity index lives: ``data_dir() / "similarity" / variant``."""
    return paths.data_path("similarity") / variant


@dataclass
class CourseIndex:
    """A loaded similarity index (:func:`load_course_index`).

    Attributes:
        embeddings: ``(n_clips, d)`` unit vectors, one per row of ``clips``.
        clips: ``clip_id``, ``path`` (relative to the data folder), ``split``, ``tags``.
        info: the index description (training settings, test scores...).
        folder: where it was loaded from (its ``model.keras`` embeds a query:
            ``ClipFeatures("siamese:<folder>/model.keras")``).
    """

    embeddings: np.ndarray
    clips: pd.DataFrame
    info: dict
    folder: Path


def _relative_path(p) -> str:
    """A path relative to the data folder (``/``-separated), or absolute if it lies outside."""
    p = Path(p).resolve()
    try:
        return p.relative_to(paths.data_dir()).as_posix()
    except ValueError:
        return str(p)


def _clip_table(data) -> pd.DataFrame:
    """The index's clip table: ``clip_id``, relative ``path``, ``split``, ``tags`` (comma-separated)."""
    tags = np.asarray(data.tags)
    y = np.asarray(data.y) > 0
    return pd.DataFrame({
        "clip_id": data.df["clip_id"].to_numpy() if "clip_id" in data.df else np.arange(len(data.df)),
        "path": [_relative_path(p) for p in data.df["path"]],
        "split": data.df["split"].to_numpy() if "split" in data.df else "",
        "tags": [", ".join(tags[row]) for row in y],
    })


def build_course_index(variant: str = "mini", *, folder=None, data=None, model=None, retrain: bool = False,
                       seed: int = 0, progress: bool = False, **train_kwargs) -> Path:
    """Build the persistent index of ``course-utils similar``: model, embeddings, clip table.

    Trains the siamese model on the training split (:func:`course_utils.similarity.siamese.train_siamese`,
    the settings of :data:`course_utils.similarity.siamese.SIAMESE_DEFAULTS`) unless the folder already has
    one (or ``model`` is given), embeds every clip of the dataset, and writes ``model.keras``,
    ``embeddings.npy``, ``clips.csv`` (paths relative to the data folder, tags) and
    ``index.json`` (settings, training time, test retrieval scores). Everything is written into a temporary folder first and moved into place
    at the end, so an interrupted build leaves the old index (or none). With the same seed a
    rebuild gives the same model and embeddings on the same machine.

    Args:
        variant: ``"mini"`` or ``"full"`` MagnaTagAtune.
        folder: where to write (default :func:`index_dir`).
        data: a :class:`course_utils.models.training.TaggerData` (default: ``load_tagger_data(variant)``);
            its ``df`` needs ``path`` (and ``clip_id``, ``split``).
        model: an embedding model to index with instead of training one.
        retrain: train again even if the folder has a model.
        seed: the training seed.
        progress: progress bars while the spectrogram cache is built; one line per epoch.
        **train_kwargs: override :data:`course_utils.similarity.siamese.SIAMESE_DEFAULTS` (e.g. ``epochs=2``).

    Returns:
        The index folder.
    """
    from course_utils.models import training

    folder = Path(folder) if folder else index_dir(variant)
    if data is None:
        data = training.load_tagger_data(variant, progress=progress)
    info = {"variant": variant, "seed": int(seed), "n_clips": int(len(data.x))}
    existing = folder / INDEX_FILES["model"]
    if model is None and existing.is_file() and not retrain:
        model = convnet.load_model(existing, compile=False)
        old = folder / INDEX_FILES["info"]
        if old.is_file():
            info["train"] = json.loads(old.read_text()).get("train")
    elif model is None:
        settings = {**SIAMESE_DEFAULTS, **train_kwargs}
        train_rows = data.split.get("train", np.arange(len(data.x)))
        model, history = train_siamese(data.x, data.y, train_rows, seed=seed, verbose=int(progress), **settings)
        info["train"] = {**settings, "seconds": round(history["seconds"], 1),
                         "final_loss": round(history["loss"][-1], 4)}
    emb = embed_clips(model, data.x)
    info.update(crop_frames=int(model.input_shape[2]), embedding_dim=int(emb.shape[1]))
    test = data.split.get("test")
    if test is not None and len(test) > 1:
        table = retrieval_table({"siamese": emb[test]}, data.y[test], seed=seed)
        info["test_scores"] = {k: round(float(v), 4) for k, v in table.loc["siamese"].items()}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(folder, keep_suffix=False)
    tmp.mkdir()
    try:
        convnet.save_model(model, tmp / INDEX_FILES["model"])
        np.save(tmp / INDEX_FILES["embeddings"], emb)
        _clip_table(data).to_csv(tmp / INDEX_FILES["clips"], index=False)
        (tmp / INDEX_FILES["info"]).write_text(json.dumps(info, indent=1) + "\n")
        replace_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_course_index(variant: str = "mini", *, folder=None, build_if_missing: bool = True) -> CourseIndex:
    """Load the index of ``course-utils similar``, building it first if it was never built.

    Args:
        variant: ``"mini"`` or ``"full"``.
        folder: the index folder (default :func:`index_dir`).
        build_if_missing: run :func:`build_course_index` (a minute or two on the mini data)
            when the folder has no index.

    Returns:
        A :class:`CourseIndex`.

    Raises:
        CourseError: the index is missing (and not built) or incomplete.
    """
    folder = Path(folder) if folder else index_dir(variant)
    files = {k: folder / v for k, v in INDEX_FILES.items()}
    if not files["info"].is_file():
        if not build_if_missing:
            raise CourseError(f"{folder}: no similarity index; "
                              f"build it with similarity.build_course_index('{variant}')")
        build_course_index(variant, folder=folder)
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        raise CourseError(f"{folder}: incomplete similarity index (missing {', '.join(missing)}); build it again")
    emb = np.load(files["embeddings"])
    clips = pd.read_csv(files["clips"], keep_default_na=False)
    if len(clips) != len(emb):
        raise CourseError(f"{folder}: {len(emb)} embeddings for {len(clips)} clips; build the index again")
    return CourseIndex(emb, clips, json.loads(files["info"].read_text()), folder)


def similar_to_file(path, k: int = 10, *, variant: str = "mini", folder=None,
                    index: CourseIndex | None = None) -> pd.DataFrame:
    """The ``k`` clips of the course index most similar to an audio file (``course-utils similar``).

    The file is embedded by the index's network (``ClipFeatures("siamese:<model file>")``: the mean
    over its crops, a short file repeated to fill one, unit length) and compared with every indexed
    clip (exact cosine search; a clip of the dataset itself comes first, at distance about 0).

    Args:
        path: any audio file the course can decode.
        k: how many clips.
        variant: which index (built if missing).
        folder: an explicit index folder.
        index: an already loaded :class:`CourseIndex` (skips loading).

    Returns:
        DataFrame with columns ``rank`` (from 1), ``clip_id``, ``distance`` (cosine distance),
        ``tags`` and ``path`` (absolute), nearest first.

    Raises:
        AudioError: the file cannot be decoded (checked before the index is loaded or built).
        CourseError: ``k`` is not a whole number of at least 1.
    """
    k = similarity_query(path, k)
    index = index or load_course_index(variant, folder=folder)
    (query,) = ClipFeatures(f"siamese:{index.folder / INDEX_FILES['model']}", cache=False).fit().transform([path])
    sims = index.embeddings.astype(np.float64) @ query.astype(np.float64)
    order = np.argsort(-sims, kind="stable")[:k]
    rows = index.clips.iloc[order]
    full = [str(p) if Path(p).is_absolute() else str(paths.data_dir() / p) for p in rows["path"]]
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1), "clip_id": rows["clip_id"].to_numpy(),
                         "distance": (1.0 - sims[order]).astype(np.float32), "tags": rows["tags"].to_numpy(),
                         "path": full})


def similarity_query(path, k) -> int:
    """Check a similarity query before the (possibly minutes-long) index build: the file, then ``k``.

    Args:
        path: the query audio file.
        k: how many neighbours.

    Returns:
        ``k`` as an int.

    Raises:
        AudioError: the file is missing, empty, unsupported or cannot be decoded.
        CourseError: ``k`` is not a whole number of at least 1.
    """
    audio.audio_info(path)
    return validate.positive_int(k, "k")
