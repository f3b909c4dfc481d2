"""The foundation: errors, settings and the data-tree layout, atomic files and manifests, cache keys, argument checks."""
