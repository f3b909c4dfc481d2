"""Ground truth of music similarity from tags: which clips count as similar (notebook 05).

Two MagnaTagAtune clips are similar when they share tags: :func:`tag_similarity` compares tag
sets (Jaccard, or the cosine of TF-IDF-weighted tags). The evaluation calls two clips
*relevant* to each other when their Jaccard similarity is at least :data:`RELEVANCE_THRESHOLD`
(0.3: on the mini test split a query then has about 19 relevant clips among 239, 8 %); NDCG uses
the similarity itself as a graded relevance. Training takes its positives from
:func:`positive_sets`.
"""

from __future__ import annotations

import numpy as np
from course_utils.core.errors import ParameterError

#: Jaccard similarity from which two clips count as relevant to each other in the evaluation.
RELEVANCE_THRESHOLD = 0.3


def tag_similarity(y, method: str = "jaccard") -> np.ndarray:
    """Similarity of every pair of clips from their tag sets: the ground truth of notebook 05.

    ``"jaccard"``: shared tags over tags of either clip, ``|A & B| / |A | B|``. ``"tfidf"``: the
    cosine of the tag vectors weighted by the smoothed inverse document frequency
    ``1 + log((1 + n) / (1 + n_t))`` of each tag, so that sharing a rare tag (``"sitar"``) counts
    more than sharing a frequent one (``"guitar"``). Both are symmetric, 1 on the diagonal for a
    clip with tags, 0 for disjoint tag sets (and for a clip without tags).

    Args:
        y: ``(n_clips, n_tags)`` 0/1 tag matrix.
        method: ``"jaccard"`` or ``"tfidf"``.

    Returns:
        float32 ``(n_clips, n_clips)``, values in [0, 1].

    Raises:
        ValueError: unknown method or not a matrix.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ParameterError(f"y must be a (clips, tags) matrix, got shape {y.shape}")
    y = (y > 0).astype(np.float64)
    if method == "jaccard":
        inter = y @ y.T
        counts = y.sum(axis=1)
        union = counts[:, None] + counts[None, :] - inter
        sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    elif method == "tfidf":
        idf = 1.0 + np.log((1.0 + len(y)) / (1.0 + y.sum(axis=0)))
        w = y * idf
        norms = np.linalg.norm(w, axis=1, keepdims=True)
        w = np.divide(w, norms, out=np.zeros_like(w), where=norms > 0)
        sim = w @ w.T
    else:
        raise ParameterError(f"unknown tag similarity {method!r}: 'jaccard' or 'tfidf'")
    return np.clip(sim, 0.0, 1.0).astype(np.float32)


def positive_sets(sim: np.ndarray, pos_threshold: float = 0.5, min_positives: int = 5) -> list[np.ndarray]:
    """The positives of every clip: similarity at least ``pos_threshold``, or its nearest by tags.

    A clip with fewer than ``min_positives`` clips above the threshold takes its
    ``min_positives`` most similar clips instead (those with a similarity above 0), so that rare
    tag combinations still get trained. The command line's training uses it; notebook 05 writes its own
    version, whose fill-ins must also be above the negative threshold (so no positive is a negative).

    Args:
        sim: ``(n, n)`` tag similarity of the training clips.
        pos_threshold: similarity from which a clip is a positive.
        min_positives: the fewest positives per clip (0 for the threshold only).

    Returns:
        One int array of row numbers per clip (possibly empty), never containing the clip itself.
    """
    sim = np.array(sim, dtype=np.float64)
    np.fill_diagonal(sim, -1.0)
    out = []
    for row in sim:
        pos = np.flatnonzero(row >= pos_threshold)
        if len(pos) < min_positives:
            order = np.argsort(-row, kind="stable")[:min_positives]
            pos = np.sort(order[row[order] > 0])
        out.append(pos.astype(np.int64))
    return out
