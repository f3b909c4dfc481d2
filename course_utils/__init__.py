"""course_utils: the helper package of the course *Deep Learning for Music Classification*.

The notebooks stay short because the reusable logic lives here, in folders that are its layers
(a folder imports only its own layer and those below; ``tests/test_layers.py``):

0. :mod:`course_utils.core` (errors, settings and the data tree, atomic files, cache keys) and
   :mod:`course_utils.fetch` (the registry of external files, checked and resumable downloads);
1. :mod:`course_utils.audio` (reading and writing audio, log-mel and MFCC features, the window
   policy), :mod:`course_utils.synth` (the synthesiser behind the mini datasets),
   :mod:`course_utils.datasets` (the seven datasets and your own folders), :mod:`course_utils.tasks`
   (the transfer tasks, the authors' release, the splits) and :mod:`course_utils.stats`;
2. :mod:`course_utils.models` (the compact convnet and its training, choi2017, musicnn, tag
   metrics) and :mod:`course_utils.features` (``ClipFeatures``: the only path from audio to
   features and tags);
3. :mod:`course_utils.similarity` (siamese embedding and retrieval), :mod:`course_utils.svm` (the
   six-task SVM protocol) and :mod:`course_utils.own` (classifiers of your own music);
4. :mod:`course_utils.teaching` (plots, exercises), :mod:`course_utils.authoring` (slides, headless
   notebook runs) and :mod:`course_utils.cli` (the ``course-utils`` command).

Each name has one home; this file re-exports nothing.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
