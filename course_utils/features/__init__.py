"""ClipFeatures and its model registry: the only path from audio to features, tags and taggrams."""
