"""Benchmark protocols as shipped data: one YAML file per protocol in this folder.

A dataset names its protocol (``DatasetSpec.protocol``: ``ope``, ``vot2018``, ``got10k``, ...);
:func:`load_protocol` returns the parameters as a read-only :class:`Protocol`. Code interprets
these values and never hard-codes a benchmark's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import yaml

from siambench.errors import UnknownNameError


@dataclass(frozen=True)
class Protocol:
    """A protocol's parameters: ``kind`` is ``one-pass`` or ``supervised``."""

    name: str
    kind: str
    repetitions: int
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
    return Protocol(name=data["name"], kind=data["kind"], repetitions=int(data["repetitions"]),
                    params=MappingProxyType(dict(data)))
