"""course_utils: the helper package of the course *Deep Learning for Music Classification*.

The notebooks stay short because the reusable logic lives here, one module per concern:

- :mod:`course_utils.audio.io`: loading audio, log-mel spectrograms, the MFCC summary feature;
- :mod:`course_utils.synth`: the numpy synthesiser behind the embedded mini datasets;
- :mod:`course_utils.datasets`: the dataset registry, real loaders and mini generators;
- :mod:`course_utils.fetch.download`, :mod:`course_utils.fetch.checksums`, :mod:`course_utils.fetch.archives` and
  :mod:`course_utils.core.files`: checked, resumable downloads, safe extraction, and atomic,
  checksummed caches;
- :mod:`course_utils.models.convnet`, :mod:`course_utils.models.training`, :mod:`course_utils.models.metrics` and
  :mod:`course_utils.models.training`: the compact convnet, its input pipeline and training (notebook 02);
- :mod:`course_utils.features.transfer` and :mod:`course_utils.models.choi2017`: transfer features from the
  course's tagger and from the authors' pre-trained model (notebook 03);
- :mod:`course_utils.tasks.registry`: the registry of the seven transfer tasks; :mod:`course_utils.tasks.release`:
  the authors' released features and labels (fetched, read, written in their layout);
- :mod:`course_utils.svm.protocol`: the six-task SVM protocol (notebook 04), on :mod:`course_utils.tasks.splits`,
  the fast grid search of :mod:`course_utils.svm.grid` (exact linear solver:
  :mod:`course_utils.svm.linear`) and the texts of :mod:`course_utils.svm.report`;
  :mod:`course_utils.svm.gtzan_filtered`: GTZAN genre on the fault-filtered split;
- :mod:`course_utils.similarity`: siamese embedding and retrieval (notebook 05), gathering
  :mod:`course_utils.similarity.ground_truth` (tag similarity), :mod:`course_utils.similarity.siamese` (the network,
  losses and training), :mod:`course_utils.similarity.metrics` (mAP, the retrieval table) and
  :mod:`course_utils.similarity.index` (kNN, faiss, the course index);
- :mod:`course_utils.datasets.own`, :mod:`course_utils.own.classifiers` and :mod:`course_utils.own.saved`:
  your own labelled audio as a dataset table, a zoo of classifiers with nested cross-validation, and
  saved classifiers checked against their feature extractor (notebook 06);
- :mod:`course_utils.teaching.plots` and :mod:`course_utils.teaching.exercises`: the figures and exercises;
- :mod:`course_utils.authoring`: the authoring tools, slide decks and the headless notebook
  runner (``make slides``, ``make course``), apart from what a learner imports;
- :mod:`course_utils.cli`: the ``course-utils`` command.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
