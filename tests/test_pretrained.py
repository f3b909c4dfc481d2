"""course_utils.models.choi2017: the authors' MSD convnet (Choi et al. 2017) read with h5py into Keras 3.

Needs the reference material beside the checkout (``../shared/reference``): the authors' Keras 2
file and four real music clips. Skips, with the reason, when it is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest

from course_utils.core.errors import AudioError, CourseError
from course_utils.features import registry
from course_utils.features.clip_features import ClipFeatures
from course_utils.fetch import remote
from course_utils.models import choi2017

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
MODEL_FILE = SHARED / "choi2017" / "models" / "transfer_convnet_keras2.hdf5"
AUDIO = SHARED / "audio"

pytestmark = pytest.mark.skipif(
    not MODEL_FILE.is_file(), reason=f"reference material not found at {SHARED} (only present beside a course checkout)"
)


@pytest.fixture(scope="module")
def model():
    return choi2017.load_choi2017(MODEL_FILE)


@pytest.fixture(scope="module")
def clips():
    return {name: AUDIO / f"bensound-{name}.mp3" for name in ("actionable", "cute", "dubstep", "thejazzpiano")}


def _choi2017(**params) -> ClipFeatures:
    """``ClipFeatures("choi2017")`` on the reference copy of the model, without a feature cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_REFERENCE_DIR", str(SHARED))
        return ClipFeatures("choi2017", cache=False, **params).fit()


@pytest.fixture(scope="module")
def tagged(clips):
    """Top-5 tags of the four clips, with a batch of 8 windows."""
    results = _choi2017(layers="tags", batch_size=8).tag(list(clips.values()), top=5)
    return {name: dict(results)[str(path)] for name, path in clips.items()}


def test_constants_and_path(data_root):
    assert len(choi2017.CHOI2017_TAGS) == len(set(choi2017.CHOI2017_TAGS)) == 50
    assert choi2017.CHOI2017_TAGS[:3] == ("rock", "pop", "alternative")
    assert choi2017.CHOI2017_TAGS[-1] == "happy"
    assert choi2017.WINDOW_SAMPLES == 348000
    assert choi2017.choi2017_path().parent == data_root.resolve() / "models"


def test_every_weight_mapped_with_matching_shapes(model):
    """35 stored tensors (STFT real/imag kernels, mel filterbank, 5 x (conv kernel, bias, BN gamma,
    beta, moving mean, moving variance), dense kernel and bias): each lands in one layer, unchanged
    but for the STFT kernels' dummy width axis, and no layer with weights is left unset."""
    stored = choi2017.read_weights(MODEL_FILE)
    assert len(stored) == 35
    arch = choi2017._architecture(choi2017.read_model_config(MODEL_FILE), MODEL_FILE)
    assert arch["pools"] == [(2, 4), (3, 4), (2, 5), (2, 4), (4, 4)]
    assert arch["bn_epsilon"] == [1e-3] * 5
    mapping = choi2017.weight_mapping(arch)
    used = [name for sources in mapping.values() for name, _ in sources]
    assert sorted(used) == sorted(stored)  # every tensor once, none left over
    assert {layer.name for layer in model.layers if layer.weights} == set(mapping)
    for layer_name, sources in mapping.items():
        for (name, transform), weight in zip(sources, model.get_layer(layer_name).weights, strict=True):
            want = stored[name] if transform is None else transform(stored[name])
            np.testing.assert_array_equal(np.asarray(weight), want)
    assert model.get_layer("melgram_real").weights[0].shape == (512, 1, 257)
    assert model.get_layer("block1_conv").weights[0].shape == (3, 3, 1, 32)
    assert model.input_shape == (None, 348000) and model.output_shape == (None, 50)


def test_file_with_an_extra_weight_is_refused(tmp_path):
    import h5py

    copy = tmp_path / "extra.hdf5"
    shutil.copyfile(MODEL_FILE, copy)
    with h5py.File(copy, "r+") as f:
        g = f["model_weights"]
        g.attrs["layer_names"] = list(g.attrs["layer_names"]) + [b"extra"]
        e = g.create_group("extra")
        e.attrs["weight_names"] = [b"extra/w:0"]
        e.create_dataset("extra/w:0", data=np.zeros(3, np.float32))
    with pytest.raises(CourseError, match="not mapped.*extra/w:0"):
        choi2017.load_choi2017(copy)


def test_front_end_is_kapre(model, clips):
    """The rebuilt front end equals kapre's maths in float64 NumPy from the stored tensors:
    TensorFlow 'same' padding (208 samples each side for 29 s), power of the windowed DFT, the
    stored filterbank, dB minus the clip's maximum floored at -80 dB, then per-clip standardisation."""
    import keras

    from course_utils import audio

    y = audio.load_audio(clips["thejazzpiano"])[: choi2017.WINDOW_SAMPLES]
    got = np.asarray(keras.Model(model.input, model.get_layer("normalization").output)(y[None]))[0, :, :, 0]
    w = choi2017.read_weights(MODEL_FILE)
    n_frames = -(-len(y) // 256)
    pad = (n_frames - 1) * 256 + 512 - len(y)
    yp = np.pad(y.astype(np.float64), (pad // 2, pad - pad // 2))
    frames = np.stack([yp[t * 256:t * 256 + 512] for t in range(n_frames)])
    power = (frames @ w["melgram/real_kernels:0"][:, 0, 0]) ** 2 + (frames @ w["melgram/imag_kernels:0"][:, 0, 0]) ** 2
    db = 10 * np.log10(np.maximum((power @ w["melgram/Variable:0"]).T, 1e-10))
    db = np.maximum(db - db.max(), -80.0)
    want = (db - db.mean()) / (db.std() + 1e-10)
    assert got.shape == (96, 1360)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_tags_of_real_music_are_right(tagged):
    """Top-5 tags of the four Bensound clips of the auto-tagging repository's example.

    Got (two 29 s windows per clip, averaged):

    - thejazzpiano (solo jazz piano): jazz .68, instrumental .28, guitar .12, blues .07, folk .05;
    - dubstep (electronic, wobble bass, beats): electronic .36, Hip-Hop .15, alternative .12,
      alternative rock .10, rock .10;
    - actionable (driving guitar-and-drums cinematic rock): rock .20, punk .12, indie .10,
      electronic .08, alternative .08;
    - cute (ukulele, whistling, light acoustic pop): folk .24, jazz .19, instrumental .15,
      guitar .10, acoustic .10.

    Right because each clip's first tag names its genre and the rest agree (acoustic/folk for the
    ukulele, rock family for actionable, beats for dubstep); the four top tags differ; and it is
    the pattern the authors printed for their older MSD tagger on the same files (jazz .96 /
    instrumental for the piano, rock / punk for actionable, Hip-Hop / electronic for dubstep,
    folk / instrumental / guitar / acoustic for cute). Probabilities are low as MSD tags are sparse.
    """
    top = {name: [t for t, _ in result] for name, result in tagged.items()}
    assert top["thejazzpiano"][0] == "jazz" and "instrumental" in top["thejazzpiano"][:3]
    assert top["dubstep"][0] == "electronic"
    assert {"Hip-Hop", "electronica", "electro", "dance", "House"} & set(top["dubstep"])
    assert top["actionable"][0] in {"rock", "indie", "alternative"}
    assert len({"rock", "punk", "indie", "alternative", "alternative rock", "indie rock", "classic rock"}
               & set(top["actionable"])) >= 3
    assert top["cute"][0] in {"folk", "acoustic", "pop", "happy", "indie"}
    assert len({"acoustic", "folk", "guitar", "pop", "happy", "indie"} & set(top["cute"])) >= 2
    assert len({t[0] for t in top.values()}) == 4
    for result in tagged.values():
        probs = [p for _, p in result]
        assert probs == sorted(probs, reverse=True) and 0 < probs[-1] < probs[0] < 1


def test_tags_do_not_depend_on_batch(clips, tagged):
    got = _choi2017(layers="tags", batch_size=1).tag([clips["thejazzpiano"], clips["cute"]], top=5)
    for (path, result), name in zip(got, ("thejazzpiano", "cute")):
        assert [t for t, _ in result] == [t for t, _ in tagged[name]]
        np.testing.assert_allclose([p for _, p in result], [p for _, p in tagged[name]], rtol=1e-4, atol=1e-5)


def test_features_identical_across_batch_sizes(clips, tmp_path):
    """A table row cut from a file (10 s, repeated to fill the window) and a whole file (two
    windows), plus a bad file with on_error='nan'."""
    table = pd.DataFrame({"path": [clips["dubstep"], clips["actionable"]], "offset": [5.0, 0.0],
                          "duration": [10.0, np.nan]})
    f1 = _choi2017(batch_size=1).transform(table)
    f4 = _choi2017(batch_size=4).transform(table)
    assert f1.shape == (2, 160) and f1.dtype == np.float32 and np.isfinite(f1).all()
    np.testing.assert_allclose(f1, f4, rtol=1e-5, atol=1e-5)
    assert not np.allclose(f1[0], f1[1])
    assert (f1[:, 128:] > -1).all()  # averages of ELU outputs
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(AudioError):
        _choi2017().transform([bad])
    lenient = _choi2017(layers="4", on_error="nan")
    out = lenient.transform([bad])
    assert out.shape == (1, 32) and np.isnan(out).all() and len(lenient.skipped_) == 1


def test_tagging_reports_bad_file(tmp_path):
    bad = tmp_path / "missing.wav"
    ((path, result),) = _choi2017(layers="tags").tag([bad])
    assert path == str(bad) and isinstance(result, AudioError)


def test_missing_and_offline_says_how_to_get_it(data_root, no_reference, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("network is unreachable")

    monkeypatch.setattr("course_utils.fetch.download.urlopen", offline)
    with pytest.raises(CourseError) as info:
        choi2017.load_choi2017()
    message = str(info.value)
    assert remote.get("choi2017_weights").files[0].url in message and str(choi2017.choi2017_path()) in message
    assert "path=" in message
    assert not choi2017.choi2017_path().exists()
    with pytest.raises(CourseError, match="no such file") as info:
        choi2017.load_choi2017(data_root / "nowhere.hdf5")
    assert remote.get("choi2017_weights").files[0].url in str(info.value)


def test_fetch_checks_the_checksum(data_root, no_reference, tmp_path, monkeypatch):
    tampered = tmp_path / "tampered.hdf5"
    data = bytearray(MODEL_FILE.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    weights = remote.get("choi2017_weights")
    monkeypatch.setitem(remote.REMOTE, "choi2017_weights", weights.with_base_url(weights.files[0].url, tampered.as_uri()))
    with pytest.raises(CourseError, match="Checksum mismatch") as info:
        choi2017.fetch_choi2017(progress=False)
    assert tampered.as_uri() in str(info.value) and str(choi2017.choi2017_path()) in str(info.value)
    assert not choi2017.choi2017_path().exists()

    good = tmp_path / "good.hdf5"
    shutil.copyfile(MODEL_FILE, good)
    monkeypatch.setitem(remote.REMOTE, "choi2017_weights", weights.with_base_url(weights.files[0].url, good.as_uri()))
    assert choi2017.fetch_choi2017(progress=False) == choi2017.choi2017_path()
    assert choi2017.choi2017_path().read_bytes() == MODEL_FILE.read_bytes()


def test_registry_entry(data_root):
    choi2017.choi2017_path().parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MODEL_FILE, choi2017.choi2017_path())  # as if downloaded: checked, not fetched
    entry = registry.get_model("choi2017")
    assert entry.weights_path == choi2017.choi2017_path()
    assert entry.describe() == {"tags": list(choi2017.CHOI2017_TAGS), "sr": 12000, "window_seconds": 29.0}
    from course_utils.models.convnet import block_output_names

    assert block_output_names(entry.model) == [f"block{i}_elu" for i in range(1, 6)]


def test_fetch_finds_the_reference_copy_offline(data_root, offline, monkeypatch):
    monkeypatch.delenv("COURSE_REFERENCE_DIR", raising=False)
    assert choi2017.fetch_choi2017(progress=False) == MODEL_FILE.resolve()  # read in place
    assert not choi2017.choi2017_path().exists()


def test_a_damaged_model_config_or_string_weights_are_clear_errors(tmp_path):
    """Issue 16: bad JSON in model_config, or a weight stored as strings, give a CourseError naming the file."""
    import h5py

    bad_json = tmp_path / "bad_json.hdf5"
    shutil.copyfile(MODEL_FILE, bad_json)
    with h5py.File(bad_json, "r+") as f:
        f.attrs["model_config"] = '{"class_name": "Sequential", "config": ['
    with pytest.raises(CourseError, match=r"bad_json.hdf5: its model_config is not valid JSON"):
        choi2017.load_choi2017(bad_json)

    strings = tmp_path / "strings.hdf5"
    shutil.copyfile(MODEL_FILE, strings)
    name = next(iter(choi2017.read_weights(MODEL_FILE)))
    with h5py.File(strings, "r+") as f:
        group = f["model_weights"][name.split("/")[0]]
        del group[name]
        group.create_dataset(name, data=np.array([b"not", b"numbers"]))
    with pytest.raises(CourseError, match=rf"strings.hdf5: weight {name} holds .* not numbers"):
        choi2017.load_choi2017(strings)


def test_the_documented_size_is_the_size_of_the_file_whose_checksum_matches():
    """Issue 16: the size was documented as 1,321,456 bytes (the Keras 1 file's)."""
    from course_utils.core import files

    record = remote.get("choi2017_weights").files[0]
    assert files.sha256_file(MODEL_FILE) == record.sha256
    assert MODEL_FILE.stat().st_size == record.size == 1_545_360
    assert "1.5 MB" in choi2017.__doc__ and "1.3 MB" not in choi2017.__doc__
