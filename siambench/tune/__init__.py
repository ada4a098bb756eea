"""``siambench tune``: hyper-parameter search over a tracker's parameters, on Optuna.

:func:`run_tune` with :class:`TuneSettings` (see :mod:`siambench.tune.study`); the search space
(:mod:`siambench.tune.space`) and the outputs (:mod:`siambench.tune.output`).
"""

from siambench.tune.space import Dimension, parse_space
from siambench.tune.study import OBJECTIVES, SAMPLERS, TuneResult, TuneSettings, run_tune

__all__ = ["OBJECTIVES", "SAMPLERS", "Dimension", "TuneResult", "TuneSettings", "parse_space",
           "run_tune"]
