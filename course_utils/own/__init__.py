"""Your own music: the classifier zoo with nested cross-validation, and saved classifiers."""
