"""Retrieval quality: P@k, average precision (mAP) and NDCG@k; the course index's test table.

:func:`retrieval_table` ranks, for every clip of a collection, all the other clips by cosine
similarity and scores the rankings against the tag ground truth
(:func:`course_utils.similarity.ground_truth.tag_similarity`) with :func:`precision_at_k`,
:func:`average_precision` (mAP) and :func:`ndcg_at_k`. :func:`course_utils.similarity.siamese.evaluation_embeddings` gives the
systems of notebook 05's table (MFCC summary, the tagger's transfer feature and tag
probabilities, the siamese embedding). :func:`recall_at_k` measures an approximate search
against the exact one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.core.errors import ParameterError
from course_utils.similarity.ground_truth import RELEVANCE_THRESHOLD, tag_similarity
from course_utils.stats import bootstrap_interval, bootstrap_resamples, unit_length


def standardise(features, fit_rows=None) -> np.ndarray:
    """Features scaled to zero mean and unit variance per column, with statistics of ``fit_rows``.

    Notebook 05 standardises the MFCC and convnet features with the training split's statistics
    before comparing them by cosine, as the embeddings are.

    Args:
        features: ``(n, d)``.
        fit_rows: rows whose mean and standard deviation are used (``None``: all).

    Returns:
        float32 ``(n, d)``.
    """
    f = np.asarray(features, dtype=np.float64)
    ref = f if fit_rows is None else f[np.asarray(fit_rows)]
    std = ref.std(axis=0)
    return ((f - ref.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)



def precision_at_k(relevance, k: int = 10) -> float:
    """Fraction of relevant items among the first ``k`` of a ranking.

    Args:
        relevance: 0/1 (or boolean) relevance of the ranked items, best first.
        k: cut-off.

    Returns:
        ``sum(relevance[:k]) / k``.
    """
    r = np.asarray(relevance, dtype=np.float64)[:k]
    return float(r.sum() / k)


def average_precision(relevance, n_relevant: int | None = None) -> float:
    """Average precision of a ranking: the mean of the precisions at each relevant item.

    For ``[1, 0, 1, 0]``: ``(1/1 + 2/3) / 2 = 0.833``. The mean over queries is the mAP of
    notebook 05.

    Args:
        relevance: 0/1 relevance of the ranked items, best first.
        n_relevant: relevant items in the whole collection (default: those in ``relevance``, the
            case of a full ranking); relevant items never retrieved count as precision 0.

    Returns:
        AP in [0, 1]; NaN when there is no relevant item.
    """
    r = np.asarray(relevance, dtype=np.float64) > 0
    total = int(r.sum()) if n_relevant is None else int(n_relevant)
    if total == 0:
        return float("nan")
    hits = np.cumsum(r)
    ranks = np.arange(1, len(r) + 1)
    return float(np.sum((hits / ranks)[r]) / total)


def ndcg_at_k(gains, k: int = 10, ideal_gains=None) -> float:
    """Normalised discounted cumulative gain of a ranking with graded relevance.

    ``DCG@k = sum_i gains[i] / log2(i + 2)`` over the first ``k`` items (``i`` from 0), divided
    by the DCG of the best possible order. Notebook 05 uses the tag similarity as the gain.

    Args:
        gains: graded relevance of the ranked items, best first.
        k: cut-off.
        ideal_gains: the gains of every item that could have been ranked (default: ``gains``,
            the case of a full ranking).

    Returns:
        NDCG@k in [0, 1]; NaN when every gain is 0.
    """
    g = np.asarray(gains, dtype=np.float64)
    ideal = np.sort(np.asarray(g if ideal_gains is None else ideal_gains, dtype=np.float64))[::-1][:k]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = float(np.sum(ideal * disc[:len(ideal)]))
    if idcg <= 0:
        return float("nan")
    top = g[:k]
    return float(np.sum(top * disc[:len(top)]) / idcg)


def rankings(embeddings) -> np.ndarray:
    """For every item, the other items ranked by decreasing cosine similarity (ties: by row).

    Args:
        embeddings: ``(n, d)`` vectors.

    Returns:
        int64 ``(n, n - 1)``.
    """
    v = unit_length(embeddings).astype(np.float64)
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :-1]


def random_rankings(n: int, seed: int = 0) -> np.ndarray:
    """For every item, the other items in a random order (the chance baseline).

    Args:
        n: number of items.
        seed: the seed.

    Returns:
        int64 ``(n, n - 1)``.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, n - 1), dtype=np.int64)
    for q in range(n):
        others = np.delete(np.arange(n), q)
        out[q] = others[rng.permutation(n - 1)]
    return out


def ranking_scores(ranks: np.ndarray, sim: np.ndarray, k: int = 10,
                   threshold: float = RELEVANCE_THRESHOLD) -> dict:
    """P@k, AP and NDCG@k of every query's ranking against a tag-similarity ground truth.

    Args:
        ranks: ``(n, n - 1)`` rankings (:func:`rankings`).
        sim: ``(n, n)`` tag similarity (:func:`course_utils.similarity.ground_truth.tag_similarity`).
        k: cut-off.
        threshold: similarity from which an item is relevant (P@k, AP).

    Returns:
        ``{"P@k": (n,), "AP": (n,), "NDCG@k": (n,)}`` arrays (NaN for a query without
        relevant items).
    """
    out = {"P@k": [], "AP": [], "NDCG@k": []}
    for q, order in enumerate(ranks):
        gains = sim[q, order]
        rel = gains >= threshold
        has = rel.any()
        out["P@k"].append(precision_at_k(rel, k) if has else np.nan)
        out["AP"].append(average_precision(rel) if has else np.nan)
        out["NDCG@k"].append(ndcg_at_k(gains, k))
    return {key: np.array(v, dtype=np.float64) for key, v in out.items()}


def retrieval_table(embeddings: dict, y_tags, k: int = 10, seed: int = 0, *,
                    threshold: float = RELEVANCE_THRESHOLD, method: str = "jaccard",
                    random_baseline: bool = True, interval: bool = False) -> pd.DataFrame:
    """Retrieval quality of several systems on one collection: every clip queries all the others.

    Each query's own clip is left out of its ranking; the clips whose tag similarity to it is
    at least ``threshold`` are relevant (P@k, mAP), and NDCG@k uses the similarity as a graded
    gain. Queries without any relevant clip are left out of P@k and mAP. Every system ranks by
    cosine similarity. Notebook 05's main table (test split as queries and database).

    Args:
        embeddings: system name -> ``(n, d)`` vectors of the same ``n`` clips, in order.
        y_tags: ``(n, n_tags)`` 0/1 tags of those clips.
        k: cut-off of P@k and NDCG@k.
        seed: seed of the random baseline.
        threshold: relevance threshold on the tag similarity (Jaccard 0.3 by default).
        method: the tag similarity, ``"jaccard"`` or ``"tfidf"``.
        random_baseline: add a first row ``"random"`` (random rankings).
        interval: add ``mAP_low`` and ``mAP_high``, a 95% bootstrap interval of the mAP over the
            queries (1,000 resamples, seeded by ``seed``; every system is resampled with the
            same queries, so their intervals are comparable).

    Returns:
        DataFrame indexed by ``system`` with columns ``P@{k}``, ``mAP``, ``NDCG@{k}`` and
        ``queries`` (queries with at least one relevant clip), and the interval columns.
    """
    y = np.asarray(y_tags)
    sim = tag_similarity(y, method)
    systems = {}
    if random_baseline:
        systems["random"] = random_rankings(len(y), seed)
    for name, emb in embeddings.items():
        if len(emb) != len(y):
            raise ParameterError(f"{name}: {len(emb)} embeddings for {len(y)} tagged clips")
        systems[name] = rankings(emb)
    rows = []
    resamples = bootstrap_resamples(len(y), n_boot=1000, seed=seed)
    for name, ranks in systems.items():
        s = ranking_scores(ranks, sim, k, threshold)
        row = {"system": name, f"P@{k}": np.nanmean(s["P@k"]), "mAP": np.nanmean(s["AP"]),
               f"NDCG@{k}": np.nanmean(s["NDCG@k"]), "queries": int(np.sum(~np.isnan(s["AP"])))}
        if interval:
            row["mAP_low"], row["mAP_high"] = bootstrap_interval(s["AP"], resamples=resamples)
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")
