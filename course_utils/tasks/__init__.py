"""The transfer tasks: their registry, the authors' released features, the splits, the GTZAN fault-filtered split lists."""
