"""The course's external files, in one registry: one :class:`RemoteFile` record per file.

Every file the course fetches from the network (the authors' released features and weights,
their example clips, the GTZAN fault-filtered split lists, musicnn's wheel, the full datasets'
archives) has one record here: its name where the course keeps it, its URL (and mirrors), its
checksum and, where known, its size. Records come in groups (:class:`RemoteSet`) that are kept
in one folder of the data tree (:func:`course_utils.core.paths.data_path`) and found in the
course's one lookup order (:func:`course_utils.fetch.download.locate`: the data folder, the
reference folder, the network); a dataset's archives are downloaded from the first working
mirror (:meth:`RemoteSet.download`) and unpacked by :mod:`course_utils.datasets`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from course_utils.core import paths
from course_utils.core.errors import ParameterError


@dataclass(frozen=True)
class RemoteFile:
    """One external file.

    Args:
        name: its name (a relative path) in the folder where the course keeps it.
        url: where it is downloaded from.
        sha256: its SHA-256 (hex); ``md5:<hex>`` where only an MD5 is published; ``None`` if unknown.
        size: its size in bytes, where known.
        mirrors: other addresses of the same file, tried in turn after ``url``.
    """

    name: str
    url: str
    sha256: str | None
    size: int | None = None
    mirrors: tuple[str, ...] = ()

    def addresses(self) -> tuple[str, ...]:
        """``url`` and then the mirrors."""
        return (self.url, *self.mirrors)


@dataclass(frozen=True)
class RemoteSet:
    """A group of external files read together, kept in one folder and taken whole from one place.

    Args:
        key: the registry name.
        title: what the files are, for messages.
        files: the records.
        folder: where they are kept: a part of the data tree and the names below it
            (``("downloads", "bensound")``).
        reference: where they are under the reference folder: a sub-folder holding them under the
            same names, or name -> relative path; ``None``: not looked for there.
    """

    key: str
    title: str
    files: tuple[RemoteFile, ...]
    folder: tuple[str, ...]
    reference: str | dict | None = None

    def checksums(self) -> dict[str, str]:
        """Name -> SHA-256 of every file."""
        return {f.name: f.sha256 for f in self.files}

    def urls(self) -> dict[str, str]:
        """Name -> URL of every file."""
        return {f.name: f.url for f in self.files}

    def file(self, name: str) -> RemoteFile:
        """The record of one file (:class:`~course_utils.core.errors.ParameterError` if unknown)."""
        for f in self.files:
            if f.name == name:
                return f
        raise ParameterError(f"{self.key} has no file {name!r}; choose from {', '.join(self.checksums())}")

    def dest(self) -> Path:
        """The folder of the data tree where the files are kept (and downloaded to)."""
        return paths.data_path(*self.folder)

    def locate(self, folder=None, *, progress: bool = True) -> dict[str, Path]:
        """Name -> path of every file, found in the course's lookup order, downloaded if need be.

        Args:
            folder: download into this folder instead (the reference folder is then not consulted).
            progress: show progress bars while downloading.

        Raises:
            DownloadError: see :func:`course_utils.fetch.download.locate`.
        """
        from course_utils.fetch import download

        return download.locate(self.checksums(), Path(folder) if folder else self.dest(),
                               None if folder else self.reference, self.urls(), progress=progress)

    def download(self, name: str) -> Path:
        """One file, downloaded into :meth:`dest` from the first of its addresses that works (kept
        there if already intact; a dataset's archive, never looked for in the reference folder).

        Raises:
            DownloadError: see :func:`course_utils.fetch.download.download_first`.
        """
        from course_utils.fetch import download

        record = self.file(name)
        return download.download_first(record.addresses(), self.dest() / record.name, sha256=record.sha256)

    def replace(self, **changes) -> "RemoteSet":
        """A copy with some fields changed (tests point a set at a mirror or at other digests)."""
        return dataclasses.replace(self, **changes)

    def with_base_url(self, old: str, new: str) -> "RemoteSet":
        """A copy whose URLs (mirrors included) start with ``new`` instead of ``old`` (a mirror)."""
        def moved(url: str) -> str:
            return new + url[len(old):] if url.startswith(old) else url

        return self.replace(files=tuple(dataclasses.replace(f, url=moved(f.url), mirrors=tuple(map(moved, f.mirrors)))
                                        for f in self.files))


# Raw files of the authors' repositories (branch master); the digests pin their content.
_CHOI2017_REPO = "https://raw.githubusercontent.com/keunwoochoi/transfer_learning_music/master"
_GTZAN_LISTS = "https://raw.githubusercontent.com/jordipons/sklearn-audio-transfer-learning/master/data/index/GTZAN"
_BENSOUND = "https://raw.githubusercontent.com/keunwoochoi/music-auto_tagging-keras/master/data"
# GTZAN's original host (opihi.cs.uvic.ca) is gone; the Hugging Face copy is believed to be the
# same archive (1.23 GB), which the checksum (from tensorflow_datasets) verifies.
_GTZAN_HOST = "http://opihi.cs.uvic.ca/sound"
# MagnaTagAtune's home at City University London, and its mirror.
_MTT, _MTT_MIRROR = "https://mirg.city.ac.uk/datasets/magnatagatune", "http://mi.soi.city.ac.uk/datasets/magnatagatune"

#: Every external file of the course, by group.
REMOTE: dict[str, RemoteSet] = {s.key: s for s in (
    RemoteSet("choi2017_release", "the authors' released features and labels (Choi et al. 2017, about 22 MB)", (
        RemoteFile("features/ballroom_extended_layer_0.npy", f"{_CHOI2017_REPO}/data_feats/ballroom_extended_layer_0.npy",
                   "1130d41b4956fefe1d937560e3912a963ba55c7f5cec3d4aab15765f0d4302ef"),
        RemoteFile("features/ballroom_extended_layer_1.npy", f"{_CHOI2017_REPO}/data_feats/ballroom_extended_layer_1.npy",
                   "b050010e5008868522798cce67ff9b259db69407cd4d1b446dcb104a3f1155c6"),
        RemoteFile("features/ballroom_extended_layer_2.npy", f"{_CHOI2017_REPO}/data_feats/ballroom_extended_layer_2.npy",
                   "7892d2ad7d456d4271b21ca065e775e0bfa0e62784b2fe615a19c1fc09936ae7"),
        RemoteFile("features/ballroom_extended_layer_3.npy", f"{_CHOI2017_REPO}/data_feats/ballroom_extended_layer_3.npy",
                   "4dabfa6e4345efa0a7ff256523fbb7bea4159fb193bf95d6aa4b37c2cb7d6895"),
        RemoteFile("features/ballroom_extended_layer_4.npy", f"{_CHOI2017_REPO}/data_feats/ballroom_extended_layer_4.npy",
                   "dade71e1d00f5d9b2927cefcea6f61a86532178344832f4a5b26aa36ffe920dc"),
        RemoteFile("features/ballroom_extended_mfcc.npy", f"{_CHOI2017_REPO}/data_feats/ballroom_extended_mfcc.npy",
                   "241e92222ec6ddd8d975c4bfb2328405095abe9bab688e30509619e75e27b291"),
        RemoteFile("features/emoMusic_layer_0.npy", f"{_CHOI2017_REPO}/data_feats/emoMusic_layer_0.npy",
                   "07ad7655e9e04eaacc83e727c42a4095b4332d2bae0ea6c3d1021f1832cbbe0c"),
        RemoteFile("features/emoMusic_layer_1.npy", f"{_CHOI2017_REPO}/data_feats/emoMusic_layer_1.npy",
                   "31e1c6a8fbce876ed2e92175467aadf02471da046be3aceb565c7849245c2b0f"),
        RemoteFile("features/emoMusic_layer_2.npy", f"{_CHOI2017_REPO}/data_feats/emoMusic_layer_2.npy",
                   "1d914bca15297920f65b91699ebc2faf1c83fe0bf12a2e869a6c70af5868e2e2"),
        RemoteFile("features/emoMusic_layer_3.npy", f"{_CHOI2017_REPO}/data_feats/emoMusic_layer_3.npy",
                   "83058790f7b618b27d5ef096281ff83d866b440a26d49a3c6d006f9d7590059b"),
        RemoteFile("features/emoMusic_layer_4.npy", f"{_CHOI2017_REPO}/data_feats/emoMusic_layer_4.npy",
                   "e460212dca36e8d3e4771ead8f5a9ebd0e185510ce97e2c23485ba413498cdf8"),
        RemoteFile("features/emoMusic_mfcc.npy", f"{_CHOI2017_REPO}/data_feats/emoMusic_mfcc.npy",
                   "b900ab765e875803389ee94dc14caba924a376d55bfb019504239d445f20619a"),
        RemoteFile("features/gtzan_genre_layer_0.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_layer_0.npy",
                   "7a3edcd74ace9db3c963b982ca118a258d35b754af861fc6785584d174cd9215"),
        RemoteFile("features/gtzan_genre_layer_1.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_layer_1.npy",
                   "cb54b8b12559b6129188081c25396ab8b9eb65d2d5a2b3195e4b7ac314434c5b"),
        RemoteFile("features/gtzan_genre_layer_2.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_layer_2.npy",
                   "0b29377d6b2aedd941fc5b5b8f6a204ec2d0d98d3d357dee172f894bf98bccc7"),
        RemoteFile("features/gtzan_genre_layer_3.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_layer_3.npy",
                   "e44d40e3a2f4de91138749a48175b4ddd5a6ddc16936357f2909a5c3c0be30a3"),
        RemoteFile("features/gtzan_genre_layer_4.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_layer_4.npy",
                   "6fbd7ee903e4f186c20ead54c3f95aa8c7767f79dfa3629ad56b09b0691c42cf"),
        RemoteFile("features/gtzan_genre_mfcc.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_mfcc.npy",
                   "96d5f6cab544b7e161fdaf694d94b810002db1d2e6e4435556e8b65d74befd7b"),
        # the Keras-2 model's features (columns 120-279) and an MFCC summary (0-119), added in 2019
        RemoteFile("features/gtzan_genre_keras2.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_genre_keras2.npy",
                   "a5ae9826e895a25e6ce244dac466bdd28211638f4e4a97ac037966709c75c41c"),
        RemoteFile("features/gtzan_speechmusic_layer_0.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_speechmusic_layer_0.npy",
                   "4aa8366b547038a9b6cceeb860744a16362f5dffbfcb8397c2ad7aad5b83fe7a"),
        RemoteFile("features/gtzan_speechmusic_layer_1.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_speechmusic_layer_1.npy",
                   "dcce3277b930a8c01d44988a89a79eb53b8864ecf200135638ff39dffc66524c"),
        RemoteFile("features/gtzan_speechmusic_layer_2.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_speechmusic_layer_2.npy",
                   "32c9fd1d679f67722806aba8806dda73f50051d1d346d8ac596248be592c4e68"),
        RemoteFile("features/gtzan_speechmusic_layer_3.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_speechmusic_layer_3.npy",
                   "5cf50a8080705fb84d7b62460d982748ea5969e55fc3d68783be59975ee8fd81"),
        RemoteFile("features/gtzan_speechmusic_layer_4.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_speechmusic_layer_4.npy",
                   "d1e92c59dd0296ae3513b64fa27ed1b9a04dbae4ab31b3e737d1acaa0b8659be"),
        RemoteFile("features/gtzan_speechmusic_mfcc.npy", f"{_CHOI2017_REPO}/data_feats/gtzan_speechmusic_mfcc.npy",
                   "d09c7845dc77d9b3eb2c0965f6cfc8d905ceaf77bad458d12db03271f41f6f4d"),
        RemoteFile("features/jamendo_vd_layer_0.npy", f"{_CHOI2017_REPO}/data_feats/jamendo_vd_layer_0.npy",
                   "2c7ef7a522964520ccb4dd57d2e4d997c848f5426c5794b76538849a7b1a5bc0"),
        RemoteFile("features/jamendo_vd_layer_1.npy", f"{_CHOI2017_REPO}/data_feats/jamendo_vd_layer_1.npy",
                   "d63048e32d284e8df8b6469aa83cf8f4d142067bd3d495424818c9ba1a3a5f7a"),
        RemoteFile("features/jamendo_vd_layer_2.npy", f"{_CHOI2017_REPO}/data_feats/jamendo_vd_layer_2.npy",
                   "76381ec7fe77e81fbf74a7d597bd3d9ed9c0dc1c062514843839aea11f6665be"),
        RemoteFile("features/jamendo_vd_layer_3.npy", f"{_CHOI2017_REPO}/data_feats/jamendo_vd_layer_3.npy",
                   "c1af1e7fd993b3200e6b5fb4fd9055b5d41482f2455ee50c570fa5a30465a081"),
        RemoteFile("features/jamendo_vd_layer_4.npy", f"{_CHOI2017_REPO}/data_feats/jamendo_vd_layer_4.npy",
                   "5f5b38758575ed932f6705bd6d2c179f970292fd238b590b1614d98f78fde8b7"),
        RemoteFile("features/jamendo_vd_mfcc.npy", f"{_CHOI2017_REPO}/data_feats/jamendo_vd_mfcc.npy",
                   "6e013ee811763d10ffc101fb5abb65d9394153fdd2c83012065501299e0dded9"),
        RemoteFile("features/urbansound_layer_0.npy", f"{_CHOI2017_REPO}/data_feats/urbansound_layer_0.npy",
                   "ee119d6db14207b548d6e089f4b38900c118e0c4e67d9e4bfbf4c9b33b8b51c7"),
        RemoteFile("features/urbansound_layer_1.npy", f"{_CHOI2017_REPO}/data_feats/urbansound_layer_1.npy",
                   "833c015293b549fc6326715ee728c4996c98205f8ced39cbcf39c20399cda228"),
        RemoteFile("features/urbansound_layer_2.npy", f"{_CHOI2017_REPO}/data_feats/urbansound_layer_2.npy",
                   "f9acd85effd5ee33ede05a30d1ce3df023a0c5a04d28c8046765cff41614bfa3"),
        RemoteFile("features/urbansound_layer_3.npy", f"{_CHOI2017_REPO}/data_feats/urbansound_layer_3.npy",
                   "b56566ba9b689271eb65953b2e86611b41a64bcdc590065b160c218d6c95994f"),
        RemoteFile("features/urbansound_layer_4.npy", f"{_CHOI2017_REPO}/data_feats/urbansound_layer_4.npy",
                   "00f76f0319b80f472333d1151a3b0c875c587081e8481411e4edc50d09565280"),
        RemoteFile("labels/ballroom_extended.csv", f"{_CHOI2017_REPO}/data_csv/ballroom_extended.csv",
                   "a8961f6db281afa34e73d18926ef7e2feb5aea36fb394975ff930f17ed810b5c"),
        RemoteFile("labels/emoMusic.csv", f"{_CHOI2017_REPO}/data_csv/emoMusic.csv",
                   "c14b73403377b666a50bb849b557078b81df271cc091f6dc357a78773978aa16"),
        RemoteFile("labels/gtzan_genre.csv", f"{_CHOI2017_REPO}/data_csv/gtzan_genre.csv",
                   "fe4f54451f5b2f1341b396bdd34986420d53229feff881b0dec2e82e6e3f7314"),
        RemoteFile("labels/gtzan_speechmusic.csv", f"{_CHOI2017_REPO}/data_csv/gtzan_speechmusic.csv",
                   "2fced0e24eeff2607552c369e1b0c991963c73ff1fff6bd382431e822a7c0c83"),
        RemoteFile("labels/jamendo_vd.csv", f"{_CHOI2017_REPO}/data_csv/jamendo_vd.csv",
                   "4ae120135e1a20b95a4a2b19760174e2f53987e9ece1aa3faec0c8e4527e81d5"),
        RemoteFile("labels/urbansound.csv", f"{_CHOI2017_REPO}/data_csv/urbansound.csv",
                   "c76f78eeb25984444b001e9df438573fc7aa564e1d6e852ecb8febf68da0ff6b"),
    ), ("full", "choi2017_release"), "choi2017"),
    RemoteSet("choi2017_weights", "the authors' Keras 2 MSD convnet (Choi et al. 2017)", (
        RemoteFile("choi2017_transfer_convnet_keras2.hdf5", "https://raw.githubusercontent.com/keunwoochoi/transfer_learning_music/master/keras2_model/model_best.hdf5",
                   "b5042bd44de1fdd9d757b764d9246e6934f47c8bdc5c15bf13566495f3439d48", 1545360),
    ), ("models",), {"choi2017_transfer_convnet_keras2.hdf5": "choi2017/models/transfer_convnet_keras2.hdf5"}),
    RemoteSet("bensound_clips", "four royalty-free Bensound tracks, the authors' tagging example (about 1.8 MB)", (
        RemoteFile("bensound-actionable.mp3", f"{_BENSOUND}/bensound-actionable.mp3", "001637dbc6a835475cd93d961bc41937f4cd587ea229f69744df029a7a4b3543"),
        RemoteFile("bensound-cute.mp3", f"{_BENSOUND}/bensound-cute.mp3", "f32e6fcbc05852b8b31d21b97788b138e01742b75b073a39383353180a91753d"),
        RemoteFile("bensound-dubstep.mp3", f"{_BENSOUND}/bensound-dubstep.mp3", "16d9b189adec0c444c0e834e2dfe052f50bdf03226081152ce86fe11578203ed"),
        RemoteFile("bensound-thejazzpiano.mp3", f"{_BENSOUND}/bensound-thejazzpiano.mp3", "341659712ceeb20ddd0735d252c7a2c3a9357790289f5e5a4ab7503eb8b35a3d"),
    ), ("downloads", "bensound"), "audio"),
    RemoteSet("gtzan_fault_filtered", "the GTZAN fault-filtered split lists (jordipons/sklearn-audio-transfer-learning)", (
        RemoteFile("train_filtered.txt", f"{_GTZAN_LISTS}/train_filtered.txt", "2b04966cef1486f1a7767b74271533fa23e220388db804a1937835e1fc4fa3fa"),
        RemoteFile("valid_filtered.txt", f"{_GTZAN_LISTS}/valid_filtered.txt", "f8fbee7c52397a0e0f3a91dc54fedecb2e27f5bdc9a9daeab8cb10d077e26956"),
        RemoteFile("test_filtered.txt", f"{_GTZAN_LISTS}/test_filtered.txt", "09cafa6a89ce0a27f30ed250d56ecb4d03c22fffb5a693f96c7ae655ee02ac72"),
    ), ("downloads", "gtzan_fault_filtered"), "gtzan_fault_filtered"),
    RemoteSet("musicnn_wheel", "musicnn 0.1.0's wheel, for its TF1 checkpoints (fetched with pip download, never installed)", (
        RemoteFile("musicnn-0.1.0-py3-none-any.whl", "pip download musicnn==0.1.0 --no-deps",
                   "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa", 29_292_476),
    ), ("models",), None),
    # The full datasets' archives (course-utils data download NAME), under their dataset names.
    RemoteSet("gtzan_genre", "GTZAN genre's archive (1.2 GB)", (
        RemoteFile("genres.tar.gz", "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",
                   "24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6",
                   mirrors=(f"{_GTZAN_HOST}/genres.tar.gz",)),
    ), ("downloads",), None),
    RemoteSet("gtzan_speechmusic", "GTZAN music/speech's archive (300 MB)", (
        RemoteFile("music_speech.tar.gz", f"{_GTZAN_HOST}/music_speech.tar.gz",
                   "8753bc4129fc0a916d6efcf25dbcaf30e06b41acb44ad7c3d0b5c9d9c90ff546"),
    ), ("downloads",), None),
    # Zenodo record 1203745; the MD5 is the one soundata publishes.
    RemoteSet("urbansound8k", "UrbanSound8K's archive (5.6 GB)", (
        RemoteFile("UrbanSound8K.tar.gz", "https://zenodo.org/records/1203745/files/UrbanSound8K.tar.gz?download=1",
                   "md5:9aa69802bbf37fb986f71ec1483a196e"),
    ), ("downloads",), None),
    # The MD5 sums published with kapre's dataset helpers (keunwoochoi/kapre, kapre/datasets.py).
    RemoteSet("magnatagatune", "MagnaTagAtune's annotations and its split MP3 archive (about 3 GB)", tuple(
        RemoteFile(name, f"{_MTT}/{name}", digest, mirrors=(f"{_MTT_MIRROR}/{name}",)) for name, digest in (
            ("annotations_final.csv", "md5:f04fa01752a8cc64f6e1ca142a0fef1d"),
            ("mp3.zip.001", "md5:179c91c8c2a6e9b3da3d4e69d306fd3b"),
            ("mp3.zip.002", "md5:acf8265ff2e35c6ff22210e46457a824"),
            ("mp3.zip.003", "md5:582dc649cabb8cd991f09e14b99349a5"))
    ), ("downloads", "magnatagatune"), None),
)}


def get(key: str) -> RemoteSet:
    """A group of external files by its registry name.

    Raises:
        ParameterError: an unknown name (the message lists the known ones).
    """
    if key not in REMOTE:
        raise ParameterError(f"unknown external files {key!r}; choose from {', '.join(REMOTE)}")
    return REMOTE[key]
