"""Shared fixtures. Tests that need the real files of ``../shared/data`` skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SIAMBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``../shared/data`` folder of real sequences and raw results; skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the user's cache and data root out of tests; the synthetic cache is per session."""
    monkeypatch.setenv("SIAMBENCH_CACHE", str(_session_cache(tmp_path_factory)))
    monkeypatch.delenv("SIAMBENCH_DATA", raising=False)


_CACHE: dict[str, Path] = {}


def _session_cache(factory: pytest.TempPathFactory) -> Path:
    if "cache" not in _CACHE:
        _CACHE["cache"] = factory.mktemp("siambench-cache")
    return _CACHE["cache"]


@pytest.fixture
def trackers_without_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tracker folder holding the shipped configurations but no bundled weights."""
    from importlib.resources import files

    folder = tmp_path / "trackers-without-weights"
    for tracker in (files("siambench") / "bundled").iterdir():
        config = tracker / "config.yaml"
        if config.is_file():
            target = folder / tracker.name
            target.mkdir(parents=True)
            (target / "config.yaml").write_bytes(config.read_bytes())
    monkeypatch.setenv("SIAMBENCH_TRACKERS", str(folder))
    return folder
