"""``siambench run``: orchestration of benchmark runs (resume, shards, workers, manifest).

:func:`run_benchmark` is the Python API behind the CLI command; :mod:`siambench.run.manifest`
holds ``run.json`` and the per-sequence status files; :mod:`siambench.run.workers` tracks one
sequence and runs the worker processes; :mod:`siambench.run.progress` draws the bars.
"""

from siambench.run.runner import (
                                  RANDOM_WEIGHTS_WARNING,
                                  RunSummary,
                                  check_device,
                                  headline_scores,
                                  parse_shard,
                                  run_benchmark,
                                  split_set_options,
)

__all__ = ["RANDOM_WEIGHTS_WARNING", "RunSummary", "check_device", "headline_scores",
           "parse_shard", "run_benchmark", "split_set_options"]
