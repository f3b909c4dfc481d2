"""Notebook 05: a siamese embedding of music clips, similarity search and its measured quality.

This module gathers, under one name, the pieces that live in four modules, in the order
notebook 05 uses them:

- **Ground truth from tags** (:mod:`course_utils.ground_truth`): :func:`tag_similarity` compares
  the tag sets of MagnaTagAtune clips (Jaccard, or cosine of TF-IDF-weighted tags); two clips are
  *relevant* to each other when their Jaccard similarity is at least
  :data:`RELEVANCE_THRESHOLD`; :func:`positive_sets` gives the training positives.
- **A siamese network and metric learning** (:mod:`course_utils.siamese`):
  :func:`embedding_model` maps a log-mel crop of :data:`CROP_FRAMES` frames to a point on the unit
  sphere, :func:`siamese_network` applies that same model to an anchor, a positive and a
  negative, and :func:`train_siamese` trains it with a triplet or contrastive loss and random or
  semi-hard negatives mined in each batch, on any Keras backend. :func:`embed_clips` and
  :func:`embed_file` embed clips and audio files.
- **Evaluation** (:mod:`course_utils.retrieval_metrics`): :func:`retrieval_table` scores the
  rankings of every test clip's neighbours with :func:`precision_at_k`,
  :func:`average_precision` (mAP) and :func:`ndcg_at_k`, for the systems of
  :func:`evaluation_embeddings`; :func:`recall_at_k` compares approximate and exact search.
- **Search and query by example** (:mod:`course_utils.search_index`): :func:`exact_knn`
  (scikit-learn) and faiss' HNSW index (:func:`hnsw_index`, :func:`approx_knn`,
  :func:`ann_benchmark`), :func:`nearest`, and the persistent course index behind
  ``course-utils similar QUERY_AUDIO``: :func:`build_course_index`, :func:`load_course_index`,
  :func:`similar_to_file`.
"""

from __future__ import annotations

from course_utils.ground_truth import RELEVANCE_THRESHOLD, positive_sets, tag_similarity
from course_utils.retrieval_metrics import (
    _normalise,
    average_precision,
    ndcg_at_k,
    precision_at_k,
    random_rankings,
    ranking_scores,
    rankings,
    recall_at_k,
    retrieval_table,
    standardise,
)
from course_utils.search_index import (
    INDEX_FILES,
    CourseIndex,
    _drop_self,
    ann_benchmark,
    approx_knn,
    build_course_index,
    exact_knn,
    hnsw_index,
    index_dir,
    load_course_index,
    nearest,
    similar_to_file,
)
from course_utils.siamese import (
    evaluation_embeddings,
    CROP_FRAMES,
    DEFAULT_MARGINS,
    SIAMESE_DEFAULTS,
    _batch_loss,
    _distances,
    _epoch_batches,
    _no_addn_rewrite,
    _random_negatives,
    _read_crops,
    contrastive_loss,
    embed_clips,
    embed_crops,
    embed_file,
    embedding_model,
    siamese_network,
    train_siamese,
    triplet_loss,
)

__all__ = [
    "CROP_FRAMES", "DEFAULT_MARGINS", "INDEX_FILES", "RELEVANCE_THRESHOLD", "SIAMESE_DEFAULTS", "CourseIndex",
    "ann_benchmark", "approx_knn", "average_precision", "build_course_index", "contrastive_loss", "embed_clips",
    "embed_crops", "embed_file", "embedding_model", "evaluation_embeddings", "exact_knn", "hnsw_index", "index_dir",
    "load_course_index", "ndcg_at_k", "nearest", "positive_sets", "precision_at_k", "random_rankings",
    "ranking_scores", "rankings", "recall_at_k", "retrieval_table", "siamese_network", "similar_to_file",
    "standardise", "tag_similarity", "train_siamese", "triplet_loss",
]
