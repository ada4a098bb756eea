"""Benchmark protocols as shipped data: one YAML file per protocol in this folder.

A dataset names its protocol (``DatasetSpec.protocol``: ``ope``, ``vot2018``, ``got10k``, ...);
:func:`load_protocol` returns the parameters as a read-only :class:`Protocol`. Code interprets
these values and never hard-codes a benchmark's numbers. A protocol file also states what the
protocol implies for the rest of the toolkit: its ``metric_family`` (the metrics it is scored
with: ``ope``, ``vot`` or ``got10k``) and its ``result_format`` (the raw-result files a run
writes: ``ope``, ``vot`` or ``got10k``), and a supervised protocol its ``eao_interval`` (the
only place the EAO intervals are written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import yaml

from siambench.errors import SiambenchError, UnknownNameError

#: The metric families (``siambench.metrics``' modules) a protocol can be scored with.
METRIC_FAMILIES = ("ope", "vot", "got10k", "votlt")
#: The raw-result formats (``siambench.results.write``) a protocol's runs can be written in.
RESULT_FORMATS = ("ope", "vot", "got10k", "votlt")


@dataclass(frozen=True)
class Protocol:
    """A protocol's parameters: ``kind`` is ``one-pass`` or ``supervised``; ``metric_family``
    and ``result_format`` (see :data:`METRIC_FAMILIES`, :data:`RESULT_FORMATS`) say how its
    results are scored and written."""

    name: str
    kind: str
    repetitions: int
    metric_family: str
    result_format: str
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    @property
    def eao_interval(self) -> tuple[int, int]:
        low, high = self.params["eao_interval"]
        return int(low), int(high)


def protocol_names() -> list[str]:
    """Names of the shipped protocols."""
    return sorted(p.name[:-5] for p in files(__package__).iterdir() if p.name.endswith(".yaml"))


@cache
def load_protocol(name: str) -> Protocol:
    """The protocol named ``name`` (a file ``<name>.yaml`` shipped in this package)."""
    resource = files(__package__) / f"{name}.yaml"
    if not resource.is_file():
        raise UnknownNameError(f"unknown protocol {name!r}; known: {', '.join(protocol_names())}")
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    for key, allowed in (("metric_family", METRIC_FAMILIES), ("result_format", RESULT_FORMATS)):
        if data.get(key) not in allowed:
            raise SiambenchError(f"protocol file {name}.yaml: {key} is {data.get(key)!r}, expected "
                                 f"one of {', '.join(allowed)}")
    return Protocol(name=data["name"], kind=data["kind"], repetitions=int(data["repetitions"]),
                    metric_family=data["metric_family"], result_format=data["result_format"],
                    params=MappingProxyType(dict(data)))
