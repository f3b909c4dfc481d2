"""The figures and audio players of the notebooks, one function per kind of figure.

Every function draws on a Matplotlib axis it is given (or a new figure) and returns the axis or
figure, so the notebooks can combine them. Notebooks 01, 02, 03, 05 and 06.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from course_utils import audio


def audio_player(y: np.ndarray, sr: int):
    """An audio player for a signal, as IPython shows it in a notebook.

    Notebooks 01, 02, 03, 05 and 06.

    Args:
        y: mono signal.
        sr: its sample rate in Hz.

    Returns:
        An :class:`IPython.display.Audio` object (normalised to full scale for listening).
    """
    from IPython.display import Audio

    return Audio(np.asarray(y, dtype=np.float32), rate=int(sr), normalize=True)


def plot_waveform(y: np.ndarray, sr: int, ax=None, title: str = "", **kwargs):
    """Amplitude against time in seconds.

    Notebook 01.

    Args:
        y: mono signal.
        sr: sample rate in Hz.
        ax: the axis to draw on (default: a new figure).
        title: axis title.
        **kwargs: passed to :func:`matplotlib.axes.Axes.plot`.

    Returns:
        The axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.5))
    t = np.arange(len(y)) / sr
    ax.plot(t, y, lw=0.6, **kwargs)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title, xlim=(0, t[-1] if len(t) else 1))
    return ax


def plot_spectrum(y: np.ndarray, sr: int, ax=None, title: str = "", fmax: float | None = None):
    """The magnitude of the Fourier transform of a whole signal, in dB, against frequency in Hz.

    Notebook 01.

    Args:
        y: mono signal.
        sr: sample rate in Hz.
        ax: the axis to draw on (default: a new figure).
        title: axis title.
        fmax: the highest frequency shown (default sr / 2).

    Returns:
        The axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.5))
    window = np.hanning(len(y))
    mag = np.abs(np.fft.rfft(y * window))
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    db = 20 * np.log10(np.maximum(mag / max(mag.max(), 1e-12), 1e-6))
    ax.plot(freqs, db, lw=0.7)
    ax.set(xlabel="frequency (Hz)", ylabel="magnitude (dB)", title=title, xlim=(0, fmax or sr / 2), ylim=(-100, 3))
    return ax


def plot_spectrogram(S_db: np.ndarray, sr: int, hop_length: int, ax=None, title: str = "", y_axis: str = "linear",
                     fmax: float | None = None, colorbar: bool = True):
    """A spectrogram (linear-frequency or mel) in dB, time on the x axis.

    Notebook 01.

    Args:
        S_db: array ``(n_bins, n_frames)`` in dB.
        sr: sample rate in Hz.
        hop_length: hop in samples.
        ax: the axis to draw on (default: a new figure).
        title: axis title.
        y_axis: ``"linear"``, ``"log"`` or ``"mel"`` (librosa's names).
        fmax: top of a mel axis, in Hz.
        colorbar: add a colour bar in dB.

    Returns:
        The axis.
    """
    import librosa.display

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    kwargs = {"fmax": fmax} if (y_axis == "mel" and fmax) else {}
    mesh = librosa.display.specshow(S_db, sr=sr, hop_length=hop_length, x_axis="time", y_axis=y_axis, ax=ax,
                                    cmap="magma", **kwargs)
    ax.set(title=title)
    if colorbar:
        plt.colorbar(mesh, ax=ax, format="%+.0f dB")
    return ax


def plot_mfcc(mfcc: np.ndarray, sr: int, hop_length: int, title: str = "MFCCs over time"):
    """MFCCs over time, coefficient 0 apart from the others so that it does not set the colours.

    Coefficient 0 is proportional to a frame's mean log-mel level (with librosa's orthonormal DCT,
    sqrt(n_mels) times it), so it usually lies far outside the range of the others, and on a
    shared colour scale the shape coefficients would all look alike. So the top panel draws
    coefficient 0 as a curve, and the image below draws coefficients 1 and up on a colour scale
    centred on 0. MFCCs are the DCT of a log-mel spectrogram in dB, so their values are in dB too.
    Notebook 01.

    Args:
        mfcc: array ``(n_mfcc, n_frames)``, centred frames ``hop_length`` samples apart.
        sr: sample rate in Hz.
        hop_length: hop in samples.
        title: the figure's title.

    Returns:
        The figure (the curve's axis, the image's axis and its colour bar).
    """
    mfcc = np.asarray(mfcc, dtype=float)
    n_mfcc, frames = mfcc.shape
    t = np.arange(frames) * hop_length / sr
    half = 0.5 * hop_length / sr
    fig, axes = plt.subplots(2, 2, figsize=(10, 4.2), sharex="col",
                             gridspec_kw={"height_ratios": [1, 2.6], "width_ratios": [40, 1], "hspace": 0.12, "wspace": 0.03})
    top, image_ax, cbar_ax = axes[0, 0], axes[1, 0], axes[1, 1]
    axes[0, 1].axis("off")
    top.plot(t, mfcc[0], lw=0.8, color="black")
    top.set(ylabel="coef. 0 (dB)", title=title)
    top.tick_params(labelbottom=False)
    shape = mfcc[1:]
    limit = float(np.max(np.abs(shape))) if shape.size else 1.0
    image = image_ax.imshow(shape, origin="lower", aspect="auto", cmap="coolwarm", vmin=-limit, vmax=limit,
                            extent=(-half, t[-1] + half if frames else half, 0.5, n_mfcc - 0.5), interpolation="nearest")
    image_ax.set(xlabel="time (s)", ylabel="coefficient", xlim=(-half, t[-1] + half if frames else half))
    image_ax.set_yticks([k for k in (1, 5, 10, 15, 19) if k < n_mfcc])
    fig.colorbar(image, cax=cbar_ax, label="value (dB; DCT of\nthe log-mel in dB)")
    return fig


def plot_quantisation(y: np.ndarray, sr: int, bits: int = 3, staircase_bits=(2, 3), seconds: float = 0.0025):
    """Quantisation steps in amplitude: the quantiser's staircase, and samples snapped to its levels.

    Left: the value stored (:func:`course_utils.audio.signal.quantize`) against the value measured, for
    a few bit depths: a staircase with ``2**bits`` steps between -1 and 1. Right: the first
    ``seconds`` of ``y``, each sample moved to the nearest of the ``2**bits`` levels (drawn as
    horizontal lines); the vertical segments are the rounding errors, the quantisation noise.
    Notebook 01.

    Args:
        y: mono signal in [-1, 1].
        sr: sample rate in Hz.
        bits: bit depth of the right panel.
        staircase_bits: bit depths drawn as staircases in the left panel.
        seconds: how much of ``y`` the right panel shows.

    Returns:
        The figure (two axes).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
    x = np.linspace(-1.0, 1.0, 4001)
    left.plot(x, x, color="gray", ls="--", lw=1, label="exact (no rounding)")
    for b in staircase_bits:
        left.plot(x, audio.quantize(x, b), lw=1.5, label=f"{b} bits: {2**b} levels")
    left.set(xlabel="amplitude measured (full scale = 1)", ylabel="amplitude stored", xlim=(-1.05, 1.05),
             ylim=(-1.05, 1.05), title="the quantiser: a staircase in amplitude")
    left.legend(loc="upper left", fontsize=8, frameon=False)

    step = 2.0 / 2**bits
    levels = -1.0 + step * np.arange(2**bits)
    n = max(int(round(seconds * sr)), 1)
    t = 1000 * np.arange(n) / sr
    stored = audio.quantize(y[:n], bits)
    for level in levels:
        right.axhline(level, color="lightgray", lw=0.8, zorder=0)
    right.plot(t, y[:n], "o", color="tab:blue", ms=4, label="sample as measured")
    right.vlines(t, y[:n], stored, color="tab:red", lw=1.2, label="rounding error")
    right.plot(t, stored, "s", color="tab:orange", ms=4, label=f"sample as stored ({bits} bits)")
    right.set_yticks(levels)
    right.set(xlabel="time (ms)", ylabel="amplitude", ylim=(-1.05, 1.05), xlim=(-0.05 * t[-1] - 0.02, 1.05 * t[-1] + 0.02),
              title=f"{1000 * seconds:.1f} ms of the signal: each sample snaps to one of {2**bits} levels")
    right.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_class_counts(df, column: str = "label", ax=None, title: str = ""):
    """How many clips of each class: a horizontal bar per class (seaborn).

    Notebook 01.

    Args:
        df: a dataset table.
        column: the label column.
        ax: the axis to draw on.
        title: axis title.

    Returns:
        The axis.
    """
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    order = list(df.attrs.get("classes") or sorted(df[column].unique()))
    sns.countplot(data=df, y=column, order=order, ax=ax, color="tab:blue")
    ax.set(title=title or df.attrs.get("name", ""), xlabel="clips", ylabel="")
    return ax


def plot_tag_frequencies(df, tags, ax=None, title: str = "tag frequency"):
    """The fraction of clips carrying each tag, most frequent first (seaborn).

    Notebooks 01 and 02.

    Args:
        df: a tagging dataset table with one 0/1 column per tag.
        tags: the tag columns.
        ax: the axis to draw on.
        title: axis title.

    Returns:
        The axis.
    """
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3))
    freq = df[list(tags)].mean().sort_values(ascending=False)
    sns.barplot(x=freq.index, y=freq.to_numpy(), ax=ax, color="tab:blue")
    ax.set(title=title, ylabel="fraction of clips", xlabel="")
    ax.tick_params(axis="x", rotation=90, labelsize=8)
    return ax


def plot_tag_scores(per_tag, metric: str = "roc_auc", ax=None, title: str = ""):
    """One bar per tag, sorted by score, coloured by how many positives the tag has.

    Notebook 02.

    Args:
        per_tag: the table of :func:`course_utils.models.metrics.per_tag_scores`.
        metric: ``"roc_auc"`` or ``"pr_auc"``.
        ax: the axis to draw on.
        title: axis title.

    Returns:
        The axis.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(13, 3.5))
    table = per_tag.dropna(subset=[metric]).sort_values(metric, ascending=False)
    most = max(int(table["positives"].max()), 1)
    colours = plt.cm.viridis(np.clip(table["positives"] / most, 0, 1))
    ax.bar(table["tag"], table[metric], color=colours)
    scale = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, most))
    ax.figure.colorbar(scale, ax=ax, pad=0.01, label="positive clips")
    # ROC-AUC starts at chance (0.5), so that a bar's height is what the model adds to chance;
    # a tag below chance still shows (the axis then starts lower).
    low = 0.0 if metric != "roc_auc" else min(0.5, np.floor(table[metric].min() * 20) / 20)
    ax.axhline(0.5 if metric == "roc_auc" else 0, color="gray", ls=":", lw=1)
    ax.set(ylabel=metric.replace("_", "-").upper(), title=title, ylim=(low, 1.0))
    ax.tick_params(axis="x", rotation=90, labelsize=8)
    return ax


def plot_embedding_2d(points: np.ndarray, labels, ax=None, title: str = ""):
    """A scatter plot of 2-D points coloured by label, with a legend.

    Notebooks 03 and 05.

    Args:
        points: ``(n, 2)``.
        labels: one label per point.
        ax: the axis to draw on.
        title: axis title.

    Returns:
        The axis.
    """
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    labels = np.asarray(labels)
    # tab10 without its grey (kept for "other" points that callers draw in light grey), when it suffices
    palette = sns.color_palette("tab10")
    if len(np.unique(labels)) <= 9:
        palette = [c for i, c in enumerate(palette) if i != 7][: len(np.unique(labels))]
    else:
        palette = palette[: len(np.unique(labels))] if len(np.unique(labels)) <= 10 else "husl"
    sns.scatterplot(x=points[:, 0], y=points[:, 1], hue=labels, ax=ax, s=18, palette=palette, linewidth=0)
    ax.set(title=title, xticks=[], yticks=[])
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), markerscale=0.8)  # off the points
    return ax


def plot_taggram(times, tags, probs, ax=None, title: str = "", top: int | None = None, patch_seconds: float | None = None):
    """A taggram: each tag's probability (rows) over time in seconds (columns), as an image.

    Notebook 02.

    Args:
        times: the start of each patch in seconds, ``(k,)``.
        tags: the tag names, one per column of ``probs``.
        probs: ``(k, n_tags)`` probabilities.
        ax: the axis to draw on (default: a new figure sized for the tags).
        title: axis title.
        top: show only the ``top`` tags of highest mean probability, best first (default: all,
            in the model's order).
        patch_seconds: the length of one patch (default: the spacing of ``times``, else 3 s).

    Returns:
        The axis.
    """
    times, probs = np.asarray(times, dtype=float), np.asarray(probs, dtype=float)
    rows = np.arange(len(tags)) if top is None else np.argsort(-probs.mean(axis=0), kind="stable")[:top]
    step = patch_seconds or (float(times[1] - times[0]) if len(times) > 1 else 3.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, min(14.0, 2 + 0.25 * len(times))), 1.0 + 0.19 * len(rows)))
    end = float(times[-1]) + step if len(times) else step
    image = ax.imshow(probs[:, rows].T, aspect="auto", origin="upper", cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest", extent=(float(times[0]) if len(times) else 0.0, end, len(rows) - 0.5, -0.5))
    ax.set_yticks(np.arange(len(rows)), [str(tags[i]) for i in rows], fontsize=8)
    ax.set(xlabel="time (s)", title=title)
    ax.figure.colorbar(image, ax=ax, pad=0.01, label="probability")
    return ax
