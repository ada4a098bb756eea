"""The VOT long-term plot: tracking precision-recall curves and F-score against the threshold.

One figure, two panels, as the VOT-LT reports draw them: left, precision against recall over
the confidence thresholds; right, the F-score against the normalised threshold (the threshold's
index in the tracker's grid, from 0 at ``+inf`` to 1 at ``-inf``, the VOT toolkit's axis). Each
tracker's maximum F-score is marked on both panels; the legend lists trackers best first with
their F-score. Written as PNG and PDF like the other plots.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from siambench.report.plots import _STYLES, _colour, _ranked, save_figure

__all__ = ["longterm_plot"]


def longterm_plot(out_base: Path, curves: Mapping[str, Mapping[str, Any]], *,
                  dataset: str) -> list[Path]:
    """Draw ``curves[tracker]`` (``precision``, ``recall``, ``f`` arrays over the thresholds and
    ``best``, the index of the F-score; :class:`~siambench.metrics.votlt.LongTermReport`'s)."""
    scores = {name: float(curve["f"][curve["best"]]) for name, curve in curves.items()}
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for index, name in enumerate(_ranked(scores)):
        curve = curves[name]
        best = int(curve["best"])
        precision, recall, f = (np.asarray(curve[key], dtype=np.float64)
                                for key in ("precision", "recall", "f"))
        x = np.linspace(0.0, 1.0, len(f)) if len(f) > 1 else np.zeros(1)
        style = dict(color=_colour(index), lw=1.6, linestyle=_STYLES[(index // 10) % 4])
        label = f"{name} [{scores[name]:.3f}]"
        left.plot(recall, precision, label=label, **style)
        left.plot([recall[best]], [precision[best]], "o", color=_colour(index), ms=6)
        right.plot(x, f, label=label, **style)
        right.plot([x[best]], [f[best]], "o", color=_colour(index), ms=6)
    left.set(title=f"Tracking precision-recall — {dataset}", xlabel="tracking recall",
             ylabel="tracking precision", xlim=(0, 1), ylim=(0, 1.02))
    right.set(title=f"Tracking F-score — {dataset}", xlabel="normalised threshold",
              ylabel="F-score", xlim=(0, 1), ylim=(0, 1.02))
    for axes in (left, right):
        axes.grid(True, alpha=0.3)
        axes.legend(loc="lower left", fontsize=8, framealpha=0.8)
    figure.tight_layout()
    return save_figure(figure, out_base)
