"""Comparison plots (matplotlib, non-interactive Agg backend), written as PNG and PDF.

Every plot function takes plain arrays keyed by tracker name and the score that ranks them,
and returns the paths it wrote. Legends list trackers best first with their score, as the OTB
and VOT toolkits print them (``SiamRPN [0.637]``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never open a window; safe on headless machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from siambench.fileio import atomic_write_bytes  # noqa: E402

_STYLES = ["-", "--", "-.", ":"]


def _ranked(scores: Mapping[str, float]) -> list[str]:
    return sorted(scores, key=lambda name: (-np.nan_to_num(scores[name], nan=-np.inf), name))


def _colour(index: int):
    return plt.get_cmap("tab10")(index % 10)


def save_figure(figure: plt.Figure, out_base: Path) -> list[Path]:
    """Save ``figure`` as ``<out_base>.png`` and ``<out_base>.pdf`` (each written atomically: an
    interrupted save never leaves a truncated plot), then close it."""
    paths = [out_base.with_suffix(".png"), out_base.with_suffix(".pdf")]
    try:
        for path, options in zip(paths, ({"dpi": 150}, {}), strict=True):
            buffer = io.BytesIO()
            figure.savefig(buffer, format=path.suffix[1:], bbox_inches="tight", **options)
            atomic_write_bytes(path, buffer.getvalue(), fsync=False)
    finally:
        plt.close(figure)
    return paths


def draw_curves(axes: plt.Axes, x: np.ndarray, curves: Mapping[str, np.ndarray],
                scores: Mapping[str, float], *, score_format: str = "{:.3f}",
                legend_size: float = 8.0, styles: Mapping[str, int] | None = None,
                bands: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
    """Draw one curve per tracker on ``axes``, ranked by ``scores``, scores in the legend.

    ``styles`` fixes each tracker's colour/line index so a tracker looks the same in every panel
    of a grid (default: by rank on this plot); ``bands[tracker] = (low, high)`` shades each
    curve's interval in its colour.
    """
    for index, name in enumerate(_ranked(scores)):
        style = styles[name] if styles is not None else index
        label = f"{name} [{score_format.format(scores[name])}]"
        axes.plot(x, curves[name], _STYLES[(style // 10) % 4], color=_colour(style), lw=1.6,
                  label=label)
        if bands is not None and name in bands:
            low, high = bands[name]
            axes.fill_between(x, low, high, color=_colour(style), alpha=0.12, lw=0)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower left" if _falls(curves) else "lower right", fontsize=legend_size,
                framealpha=0.8)


def _falls(curves: Mapping[str, np.ndarray]) -> bool:
    """True when the curves fall from left to right (legend then goes bottom left)."""
    first = np.nan_to_num(next(iter(curves.values()), np.zeros(2)), nan=0.0)
    half = len(first) // 2
    return bool(first[:half].sum() * (len(first) - half) > first[half:].sum() * half)


def curve_plot(out_base: Path, x: np.ndarray, curves: Mapping[str, np.ndarray],
               scores: Mapping[str, float], *, title: str, xlabel: str, ylabel: str,
               xlim: tuple[float, float] | None = None,
               bands: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> list[Path]:
    """A success / precision / normalised-precision style plot of several trackers, with each
    curve's interval shaded when ``bands`` (per tracker ``(low, high)``) is given."""
    figure, axes = plt.subplots(figsize=(6, 4.5))
    draw_curves(axes, x, curves, scores, bands=bands)
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel, ylim=(0, 1.0),
             xlim=xlim or (float(x[0]), float(x[-1])))
    return save_figure(figure, out_base)


def curve_grid(out_base: Path, x: np.ndarray, panels: Mapping[str, Mapping[str, np.ndarray]],
               scores: Mapping[str, Mapping[str, float]], *, title: str, xlabel: str,
               ylabel: str, counts: Mapping[str, int] | None = None,
               bands: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]] | None = None
               ) -> list[Path]:
    """A grid of curve plots, one panel per attribute (``panels[attribute][tracker]``), each
    curve's interval shaded when ``bands[attribute][tracker] = (low, high)`` is given."""
    names = list(panels)
    columns = min(4, max(1, len(names)))
    rows = int(np.ceil(len(names) / columns)) if names else 1
    figure, axes_grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                                     squeeze=False)
    totals: dict[str, float] = {}
    for panel in scores.values():
        for name, value in panel.items():
            totals[name] = totals.get(name, 0.0) + float(np.nan_to_num(value))
    styles = {name: index for index, name in enumerate(_ranked(totals))}
    for axes, attribute in zip(axes_grid.ravel(), names):
        draw_curves(axes, x, panels[attribute], scores[attribute], legend_size=6.0, styles=styles,
                    bands=(bands or {}).get(attribute))
        count = f" ({counts[attribute]})" if counts and attribute in counts else ""
        axes.set(title=f"{attribute}{count}", ylim=(0, 1.0), xlim=(float(x[0]), float(x[-1])))
        axes.set_xlabel(xlabel, fontsize=8)
        axes.set_ylabel(ylabel, fontsize=8)
    for axes in axes_grid.ravel()[len(names):]:
        axes.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, out_base)


def eao_plots(out_base: Path, curves: Mapping[str, np.ndarray], scores: Mapping[str, float],
              interval: tuple[int, int], *, dataset: str) -> list[Path]:
    """The expected-average-overlap curves (with the interval shaded) and the EAO ranking.

    The curve's x-range always covers the EAO interval (a short benchmark's curves end before
    its upper bound; the axis still shows where the interval ends).
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    length = max(len(curve) for curve in curves.values()) if curves else 1
    draw_curves(left, np.arange(length), {k: _pad(v, length) for k, v in curves.items()},
                scores)
    left.axvspan(interval[0], interval[1], color="grey", alpha=0.15, lw=0,
                 label=f"EAO interval [{interval[0]}, {interval[1]}]")
    left.set(title=f"Expected overlap curve — {dataset}", xlabel="sequence length (frames)",
             ylabel="expected average overlap", ylim=(0, 1),
             xlim=(0, max(length - 1, interval[1]) + 1))
    ranked = _ranked(scores)
    right.bar(range(len(ranked)), [scores[n] for n in ranked],
              color=[_colour(i) for i in range(len(ranked))])
    right.set_xticks(range(len(ranked)), ranked, rotation=45, ha="right", fontsize=8)
    right.set(title=f"EAO ranking — {dataset} (interval {interval[0]}-{interval[1]})",
              ylabel="EAO")
    right.grid(True, axis="y", alpha=0.3)
    return save_figure(figure, out_base)


def _pad(curve: np.ndarray, length: int) -> np.ndarray:
    out = np.full(length, np.nan)
    out[: len(curve)] = curve
    return out


def reliability(failures_per_frame: float, sensitivity: float = 30.0) -> float:
    """The VOT toolkit's AR-plot robustness coordinate ``exp(-S * failures per frame)``."""
    return float(np.exp(-sensitivity * failures_per_frame))


def ar_plot(out_base: Path, accuracy: Mapping[str, float], robustness: Mapping[str, float],
            *, dataset: str, sensitivity: float = 30.0) -> list[Path]:
    """Accuracy-robustness plot as the VOT toolkit draws it.

    ``robustness`` is failures per frame; the horizontal axis is the reliability
    ``exp(-S * failures_per_frame)`` with the VOT stacks' sensitivity ``S = 30``, so better
    trackers sit top-right. The legend gives each tracker's two plotted coordinates (accuracy,
    reliability) and, named as such, the failures per frame it comes from.
    """
    figure, axes = plt.subplots(figsize=(5.5, 5))
    for index, name in enumerate(_ranked(accuracy)):
        x = reliability(robustness[name], sensitivity)
        axes.scatter(x, accuracy[name], color=_colour(index), s=50,
                     marker="os^Dv<>ph*"[index % 10],
                     label=f"{name} [A {accuracy[name]:.3f}, reliability {x:.3f} = "
                           f"{robustness[name]:.4f} failures/frame]")
    axes.set(title=f"Accuracy-robustness — {dataset}",
             xlabel=f"reliability exp(-{sensitivity:g} × failures per frame)",
             ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="lower left")
    return save_figure(figure, out_base)


def pairwise_plot(out_base: Path, ranked: list[str], difference: np.ndarray, separable: np.ndarray,
                  *, score: str, dataset: str) -> list[Path]:
    """The pairwise-difference matrix: cell ``(i, j)`` is ``score(ranked[i]) - score(ranked[j])``
    (trackers best first), marked ``*`` where the pair is separable (Holm-corrected test)."""
    count = len(ranked)
    size = max(4.5, 0.45 * count + 2.0)
    figure, axes = plt.subplots(figsize=(size + 1.0, size))
    limit = float(np.nanmax(np.abs(difference))) if np.isfinite(difference).any() else 1.0
    image = axes.imshow(difference, cmap="RdBu", vmin=-limit or -1, vmax=limit or 1)
    for i in range(count):
        for j in range(count):
            if i != j and separable[i, j]:
                axes.text(j, i, "*", ha="center", va="center", fontsize=9)
    axes.set_xticks(range(count), ranked, rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(count), ranked, fontsize=7)
    axes.set(title=f"Pairwise {score} difference (row − column) — {dataset}\n* separable "
                   "(Wilcoxon signed-rank, Holm-corrected)")
    figure.colorbar(image, ax=axes, shrink=0.8)
    return save_figure(figure, out_base)
