"""Benchmark loaders: ``load_dataset(name, root=None) -> Dataset``.

Importing this package does not import torch.
"""

from siambench.datasets.base import Dataset, FrameFlags, Sequence
from siambench.datasets.registry import (
    DatasetSpec,
    candidate_roots,
    get_spec,
    list_datasets,
    load_dataset,
    resolve_root,
)

__all__ = [
    "Dataset",
    "DatasetSpec",
    "FrameFlags",
    "Sequence",
    "candidate_roots",
    "get_spec",
    "list_datasets",
    "load_dataset",
    "resolve_root",
]
