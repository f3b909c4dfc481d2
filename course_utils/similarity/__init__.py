"""Similarity: tag ground truth, the siamese embedding, retrieval metrics, search indexes."""
