"""The search space of ``siambench tune``: ``--space NAME=SPEC`` options, checked against the
tracker's parameter set.

``SPEC`` is ``LOW:HIGH`` (a continuous range; whole numbers for an integer parameter), ``LOW:HIGH:
STEP`` (a grid from LOW to HIGH in steps of STEP) or ``A,B,C`` (these values; one value fixes
the parameter). Values are read as YAML scalars and must have the parameter's type (an int
parameter takes ints; a float parameter takes ints or floats); a range needs LOW < HIGH.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from siambench.errors import SiambenchError, UnknownNameError
from siambench.trackers.params import check_overrides

__all__ = ["Dimension", "grid_of", "parse_space", "suggest"]


@dataclass(frozen=True)
class Dimension:
    """One tuned parameter: ``kind`` ``"float"`` / ``"int"`` (``low``..``high``, inclusive, in
    ``step`` steps or continuous when ``step`` is None) or ``"choice"`` (``choices``)."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def discrete(self) -> bool:
        """True when the dimension has finitely many values (a grid can hold it)."""
        return self.kind != "float" or self.step is not None

    def values(self) -> list[Any]:
        """Every value of a discrete dimension, in order."""
        if self.kind == "choice":
            return list(self.choices)
        if self.step is None and self.kind == "float":
            raise SiambenchError(f"--space {self.name}: a continuous range has no grid; give a "
                                 f"step ({self.low}:{self.high}:STEP) or values (a,b,c)")
        step = self.step if self.step is not None else 1
        count = int(math.floor((self.high - self.low) / step + 1e-9)) + 1
        if self.kind == "int":
            return [int(self.low + i * step) for i in range(count)]
        return [round(self.low + i * step, 12) for i in range(count)]

    def describe(self) -> str:
        """The dimension as it was given (``low:high[:step]`` or ``a,b,c``)."""
        if self.kind == "choice":
            return ",".join(map(str, self.choices))
        text = f"{self.low:g}:{self.high:g}"
        return text + (f":{self.step:g}" if self.step is not None else "")


def _scalar(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as error:
        raise SiambenchError(f"{where}: {text!r} is not a readable value ({error})") from None


def _number(text: str, where: str) -> float:
    """An int or float written in Python's syntax (``1e-3`` included, which YAML 1.1 reads as
    a string)."""
    text = text.strip()
    try:
        value: float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise SiambenchError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SiambenchError(f"{where}: {text!r} is not a finite number")
    return value


def parse_dimension(item: str, reference: Mapping[str, Any]) -> Dimension:
    """One ``NAME=SPEC`` option (see the module docstring)."""
    name, sep, spec = item.partition("=")
    name = name.strip()
    where = f"--space {item!r}"
    if not sep or not name or not spec.strip():
        raise SiambenchError(f"{where}: expected NAME=LOW:HIGH, NAME=LOW:HIGH:STEP or "
                             f"NAME=A,B,C, e.g. penalty_k=0.0:0.5")
    if name not in reference:
        raise UnknownNameError(f"{where}: the tracker has no parameter {name!r}; its parameters: "
                               f"{', '.join(sorted(reference))}")
    current = reference[name]
    if ":" in spec and "," not in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise SiambenchError(f"{where}: a range is LOW:HIGH or LOW:HIGH:STEP")
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise SiambenchError(f"{where}: {name} is a {type(current).__name__} "
                                 f"(like {current!r}); give its values as A,B,C")
        low, high = (_number(part, where) for part in parts[:2])
        step = _number(parts[2], where) if len(parts) == 3 else None
        kind = "int" if isinstance(current, int) else "float"
        if kind == "int" and any(isinstance(v, float) and not float(v).is_integer()
                                 for v in (low, high, step) if v is not None):
            raise SiambenchError(f"{where}: {name} is an integer parameter; give whole numbers")
        if not low < high:
            raise SiambenchError(f"{where}: LOW must be below HIGH, got {low} and {high}")
        if step is not None and not step > 0:
            raise SiambenchError(f"{where}: STEP must be positive, got {step}")
        if kind == "int":
            return Dimension(name, "int", int(low), int(high), None if step is None else int(step))
        return Dimension(name, "float", float(low), float(high),
                         None if step is None else float(step))
    try:  # A,B,C as a YAML flow sequence: a choice may itself be a list ([0.5, 1.0],[1.0])
        values = yaml.safe_load(f"[{spec}]")
    except yaml.YAMLError as error:
        raise SiambenchError(f"{where}: {spec!r} is not a list of values A,B,C ({error})") \
            from None
    checked = [check_overrides(reference, {name: value}, "the tracker")[name] for value in values]
    unique = tuple(dict.fromkeys(_hashable(v) for v in checked))
    return Dimension(name, "choice", choices=tuple(_restore(v) for v in unique))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _restore(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_space(items: Iterable[str], reference: Mapping[str, Any]) -> list[Dimension]:
    """The ``--space`` options as dimensions (one per parameter; at least one)."""
    dimensions: dict[str, Dimension] = {}
    for item in items:
        dimension = parse_dimension(item, reference)
        if dimension.name in dimensions:
            raise SiambenchError(f"--space names {dimension.name} twice")
        dimensions[dimension.name] = dimension
    if not dimensions:
        raise SiambenchError("siambench tune needs at least one --space NAME=SPEC, e.g. "
                             "--space penalty_k=0.0:0.5")
    return list(dimensions.values())


def _primitive(dimension: Dimension) -> bool:
    return all(value is None or isinstance(value, (bool, int, float, str))
               for value in dimension.choices)


def suggest(trial: Any, dimension: Dimension) -> Any:
    """The trial's value of ``dimension`` (an ``optuna.Trial``'s ``suggest_*``). Choices of
    lists (e.g. anchor ratios) are suggested by their index, the others as they are."""
    if dimension.kind == "choice":
        if len(dimension.choices) == 1:
            return dimension.choices[0]
        if _primitive(dimension):
            return trial.suggest_categorical(dimension.name, list(dimension.choices))
        index = trial.suggest_categorical(dimension.name, list(range(len(dimension.choices))))
        return dimension.choices[index]
    if dimension.kind == "int":
        return trial.suggest_int(dimension.name, int(dimension.low), int(dimension.high),
                                 step=int(dimension.step or 1))
    return trial.suggest_float(dimension.name, dimension.low, dimension.high,
                               step=dimension.step)


def grid_of(dimensions: Iterable[Dimension]) -> dict[str, list[Any]]:
    """The grid sampler's search space, in the values :func:`suggest` asks for (a one-value
    choice is fixed, not searched)."""
    grid: dict[str, list[Any]] = {}
    for dimension in dimensions:
        if dimension.kind == "choice":
            if len(dimension.choices) > 1:
                grid[dimension.name] = (list(dimension.choices) if _primitive(dimension)
                                        else list(range(len(dimension.choices))))
        else:
            grid[dimension.name] = dimension.values()
    return grid
