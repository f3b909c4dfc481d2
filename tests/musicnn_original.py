"""The musicnn wheel's own TensorFlow 1 graph, run in TensorFlow 2: the reference of the Keras port.

Each model folder of the ``musicnn==0.1.0`` wheel stores the graph it was trained with
(``.meta``) next to its checkpoint. That graph still imports in TensorFlow 2.21 once the
training-only nodes are dropped (``gradients*``, ``*Adam*``, ``save*``, ``beta1_power*``,
``beta2_power*``, ``init``) together with the inputs that point at them, and every node's stored
``_output_shapes`` is stripped. The variables are then assigned from the checkpoint; the graph
takes ``model/Placeholder:0`` ``(batch, 187, 96)`` with ``model/Placeholder_2:0`` (is training)
False, and gives the tags at ``model/Sigmoid:0``.

TensorFlow only by nature (a ``tf.compat.v1`` session over a
TensorFlow 1 graph): it needs the ``tensorflow`` package, whatever ``KERAS_BACKEND`` is.
"""

from __future__ import annotations

import fnmatch
import zipfile

import numpy as np

from course_utils import audio
from course_utils.models import musicnn

#: Tensors of the original graph: the tags and the three musicnn features of the wheel's extractor.
TENSORS = {"tags": "model/Sigmoid:0", "penultimate": "model/batch_normalization_10/batchnorm/add_1:0",
           "max_pool": "model/Max:0", "mean_pool": "model/moments/Squeeze:0"}
_DROPPED = ("gradients*", "*Adam*", "save*", "beta1_power*", "beta2_power*")


def _dropped(node: str) -> bool:
    return node == "init" or any(fnmatch.fnmatch(node, p) for p in _DROPPED)


class OriginalGraph:
    """One model's stored graph in a ``tf.compat.v1.Session``, with the checkpoint's values.

    Args:
        name: a model of :data:`course_utils.models.musicnn.MODELS`.

    Attributes:
        n_variables: how many variables the forward graph has (and were assigned).
    """

    def __init__(self, name: str = "MTT_musicnn"):
        import tensorflow as tf
        from tensorflow.core.protobuf import meta_graph_pb2

        folder = musicnn.checkpoint_files(name)
        meta = meta_graph_pb2.MetaGraphDef()
        with zipfile.ZipFile(musicnn.fetch_wheel()) as z:
            meta.ParseFromString(z.read(f"musicnn/{name}/.meta"))
        graph_def = tf.compat.v1.GraphDef()
        graph_def.versions.CopyFrom(meta.graph_def.versions)
        graph_def.library.CopyFrom(meta.graph_def.library)
        for node in meta.graph_def.node:
            if _dropped(node.name):
                continue
            kept = graph_def.node.add()
            kept.CopyFrom(node)
            del kept.input[:]
            kept.input.extend(i for i in node.input if not _dropped(i.lstrip("^").split(":")[0]))
            kept.attr.pop("_output_shapes", None)
            if "seed2" in kept.attr and not (kept.attr["seed"].i or kept.attr["seed2"].i):
                # dropout's random ops (unused at inference) need a seed once op determinism is on
                # (models.set_seed turns it on for the process); any fixed seed will do
                kept.attr["seed2"].i = 1
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
            self.session = tf.compat.v1.Session(graph=self.graph)
            reader = tf.compat.v1.train.NewCheckpointReader(str(folder) + "/")
            variables = [op for op in self.graph.get_operations() if op.type == "VariableV2"]
            for op in variables:
                self.session.run(tf.compat.v1.assign(op.outputs[0], reader.get_tensor(op.name)))
        self.n_variables = len(variables)

    def run(self, x: np.ndarray, outputs=("tags",)) -> list[np.ndarray]:
        """The named outputs (keys of :data:`TENSORS`) for patches ``(batch, 187, 96)``.

        The pools lose the graph's trailing axis of 1: ``(batch, 753)`` as in the port.
        """
        feed = {"model/Placeholder:0": np.asarray(x, dtype=np.float32), "model/Placeholder_2:0": False}
        values = self.session.run([TENSORS[o] for o in outputs], feed)
        return [v.reshape(len(x), -1) for v in values]


def predict_tags(files_or_signals, model) -> np.ndarray:
    """The Keras port's tag probabilities of files or 16 kHz signals, averaged over musicnn's own
    patches: ``(n, 50)``; the reference the checks compare with the original graph and with
    ``ClipFeatures("musicnn", framing="musicnn")``.
    """
    return np.stack([musicnn._run(model, patches_of(item))[0].mean(axis=0) for item in files_or_signals]).astype(np.float32)


def patches_of(item) -> np.ndarray:
    """musicnn's own patches of a file (decoded at 16 kHz) or of a 16 kHz signal."""
    y = np.asarray(item, dtype=np.float32) if isinstance(item, np.ndarray) else audio.load_audio(item, sr=musicnn.SR)
    return musicnn.patches(musicnn.log_mel(y))
