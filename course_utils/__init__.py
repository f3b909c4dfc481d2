"""course_utils: the helper package of the course *Deep Learning for Music Classification*.

The notebooks stay short because the reusable logic lives here, one module per concern:

- :mod:`course_utils.audio`: loading audio, log-mel spectrograms, the MFCC summary feature;
- :mod:`course_utils.synth`: the numpy synthesiser behind the embedded mini datasets;
- :mod:`course_utils.datasets`: the dataset registry, real loaders and mini generators;
- :mod:`course_utils.download`, :mod:`course_utils.checksums`, :mod:`course_utils.archives` and
  :mod:`course_utils.cache`: checked, resumable downloads, safe extraction, and atomic,
  checksummed caches;
- :mod:`course_utils.models`, :mod:`course_utils.training`, :mod:`course_utils.metrics` and
  :mod:`course_utils.tagging`: the compact convnet, its input pipeline and training (notebook 02);
- :mod:`course_utils.transfer` and :mod:`course_utils.pretrained`: transfer features from the
  course's tagger and from the authors' pre-trained model (notebook 03);
- :mod:`course_utils.tasks`: the registry of the seven transfer tasks; :mod:`course_utils.release`:
  the authors' released features and labels (fetched, read, written in their layout);
- :mod:`course_utils.evaluate`: the six-task SVM protocol (notebook 04), on :mod:`course_utils.splits`,
  the fast grid search of :mod:`course_utils.svm_grid` (exact linear solver:
  :mod:`course_utils.linear_svm`) and the texts of :mod:`course_utils.svm_report`;
  :mod:`course_utils.gtzan_filtered`: GTZAN genre on the fault-filtered split;
- :mod:`course_utils.similarity`: siamese embedding and retrieval (notebook 05), gathering
  :mod:`course_utils.ground_truth` (tag similarity), :mod:`course_utils.siamese` (the network,
  losses and training), :mod:`course_utils.retrieval_metrics` (mAP, the retrieval table) and
  :mod:`course_utils.search_index` (kNN, faiss, the course index);
- :mod:`course_utils.own_data`, :mod:`course_utils.classifiers` and :mod:`course_utils.saved_classifiers`:
  your own labelled audio as a dataset table, a zoo of classifiers with nested cross-validation, and
  saved classifiers checked against their feature extractor (notebook 06);
- :mod:`course_utils.plots` and :mod:`course_utils.exercises`: the figures and exercises;
- :mod:`course_utils.authoring`: the authoring tools, slide decks and the headless notebook
  runner (``make slides``, ``make course``), apart from what a learner imports;
- :mod:`course_utils.cli`: the ``course-utils`` command.
"""

from course_utils.errors import AudioError, CourseError, DatasetError, DownloadError

__version__ = "0.1.0"

__all__ = ["AudioError", "CourseError", "DatasetError", "DownloadError", "__version__"]
