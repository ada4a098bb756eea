"""The tracker registry: one table filled by one decorator for built-ins and plug-ins alike.

The README's "Adding a tracker" example is run as written: its Python block becomes a package
in a temporary folder, its ``pyproject.toml`` block the entry point, and the plug-in tracks the
synthetic set through the CLI exactly as the built-in it wraps.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import tomllib
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError, UnknownNameError
from siambench.run import run_benchmark
from siambench.trackers import (
    create_tracker,
    list_trackers,
    register_tracker,
    registry,
    tracker_entry,
    trainable_trackers,
    unregister_tracker,
)
from siambench.trackers.simple import IdentityTracker

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "siambench"
SMALL = ["--weights", "random", "--set", "model.width_mult=0.25"]


def _readme_blocks() -> dict[str, str]:
    """The code blocks (language -> text) of the README's "Adding a tracker" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Adding a tracker", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return {language: body for language, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S)}


@pytest.fixture(scope="module")
def otb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("registry-data") / "otb", "otb", sequences=2,
                           frames=8, seed=11, workers=1)


@pytest.fixture
def readme_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EntryPoint]:
    """The README's plug-in package written under ``tmp_path`` (importable), its folder holding
    the shipped SiamRPN parameter file; yields the entry point its pyproject block declares."""
    blocks = _readme_blocks()
    (name, value), = tomllib.loads(blocks["toml"])["project"]["entry-points"][
        registry.ENTRY_POINT_GROUP].items()
    module = value.partition(":")[0]
    package = tmp_path / "plugins" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(blocks["python"], encoding="utf-8")
    folder = package / name
    folder.mkdir()
    shipped = files("siambench") / "bundled" / "siamrpn" / "config.yaml"
    (folder / "config.yaml").write_bytes(shipped.read_bytes())
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    yield EntryPoint(name, value, registry.ENTRY_POINT_GROUP)
    unregister_tracker(name)
    sys.modules.pop(module, None)


def _with_entry_point(monkeypatch: pytest.MonkeyPatch, ep: EntryPoint) -> None:
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])


def _boxes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt")) if "_time" not in p.name}


def test_readme_plugin_through_its_entry_point_tracks_like_the_builtin(
        readme_plugin: EntryPoint, otb: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _with_entry_point(monkeypatch, readme_plugin)
    runner = CliRunner()
    listed = runner.invoke(cli, ["trackers"])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if row.startswith(readme_plugin.name))
    assert "[entry point]" in line and "yes" in line
    assert readme_plugin.value.partition(":")[0] not in sys.modules  # listing loads nothing

    results = tmp_path / "results"
    common = ["run", "--root", str(otb), "--results-dir", str(results), "--quiet", *SMALL,
              "--set", "instance_size=287"]
    plugin = runner.invoke(cli, [*common, "--tracker", readme_plugin.name])
    assert plugin.exit_code == 0, plugin.output
    builtin = runner.invoke(cli, [*common, "--tracker", "siamrpn"])
    assert builtin.exit_code == 0, builtin.output
    mine = results / "synthetic" / readme_plugin.name
    manifest = json.loads((mine / "run.json").read_text())
    assert manifest["tracker"] == readme_plugin.name
    assert manifest["params"]["instance_size"] == 287 and manifest["params_set"] == "default"
    assert manifest["weights_checksum"] == "random:0"
    boxes = _boxes(mine)
    assert boxes and boxes == _boxes(results / "synthetic" / "siamrpn")
    assert tracker_entry(readme_plugin.name).source == "entry point"
    wrong = runner.invoke(cli, [*common, "--tracker", readme_plugin.name, "--set", "nope=1",
                                "--name", "other"])
    assert wrong.exit_code != 0 and "unknown parameter(s) nope" in wrong.output


def test_a_registered_module_is_imported_again_by_worker_processes(
        readme_plugin: EntryPoint, otb: Path, tmp_path: Path) -> None:
    module = importlib.import_module(readme_plugin.value.partition(":")[0])
    assert tracker_entry(readme_plugin.name).source == "registered"
    assert getattr(module, readme_plugin.value.partition(":")[2]).siambench_tracker.params
    folders = []
    for workers in (1, 2):
        summary = run_benchmark(readme_plugin.name, root=otb, weights="random",
                                model_config={"width_mult": 0.25}, workers=workers,
                                results_dir=tmp_path / f"w{workers}", progress=False)
        assert summary.ok, summary.failed
        folders.append(summary.folder)
    assert _boxes(folders[0]) and _boxes(folders[0]) == _boxes(folders[1])


def test_a_per_sequence_input_is_given_by_the_engine(otb: Path, tmp_path: Path) -> None:
    @register_tracker("test-replay", sequence_input="groundtruth",
                      description="the ground truth, shifted by one pixel")
    def replay(*, groundtruth: np.ndarray, device: str) -> IdentityTracker:
        from siambench.trackers.simple import OracleTracker

        return OracleTracker(groundtruth + [1, 0, 0, 0])

    try:
        summary = run_benchmark("test-replay", root=otb, results_dir=tmp_path, progress=False)
        assert summary.ok, summary.failed
        for sequence in load_dataset("synthetic", otb):
            got = np.loadtxt(summary.folder / f"{sequence.name}.txt", delimiter=",")
            np.testing.assert_allclose(got[1:], sequence.groundtruth[1:] + [1, 0, 0, 0])
        with pytest.raises(SiambenchError, match="needs exactly one keyword, groundtruth="):
            create_tracker("test-replay")
    finally:
        unregister_tracker("test-replay")


def test_registration_rules() -> None:
    def factory(*, device: str) -> IdentityTracker:
        return IdentityTracker()

    with pytest.raises(SiambenchError, match="'siamrpn' is already registered"):
        register_tracker("SiamRPN")(factory)
    with pytest.raises(SiambenchError, match="built in and cannot be unregistered"):
        unregister_tracker("identity")
    with pytest.raises(SiambenchError, match="without / "):
        register_tracker("a/b")(factory)
    register_tracker("test-plain")(factory)
    try:
        register_tracker("test-plain")(factory)  # the same factory again: a re-import
        assert tracker_entry("TEST-PLAIN").factory is factory
        assert isinstance(create_tracker("test-plain"), IdentityTracker)
        with pytest.raises(UnknownNameError, match="has no parameters; got x"):
            create_tracker("test-plain", x=1)
        with pytest.raises(SiambenchError, match="takes no weights"):
            create_tracker("test-plain", weights="random")
        info = {i.name: i for i in list_trackers()}["test-plain"]
        assert info.source == "registered" and info.available

        def other(*, device: str) -> IdentityTracker:
            return IdentityTracker()
        with pytest.raises(SiambenchError, match="already registered"):
            register_tracker("test-plain")(other)
    finally:
        unregister_tracker("test-plain")

    @register_tracker("test-broken")
    def broken(*, device: str) -> object:
        return object()
    try:
        with pytest.raises(SiambenchError, match="returned object, not a Tracker"):
            create_tracker("test-broken")
    finally:
        unregister_tracker("test-broken")
    with pytest.raises(UnknownNameError, match="unknown tracker 'test-broken'"):
        tracker_entry("test-broken")


def test_the_builtin_table() -> None:
    assert trainable_trackers() == ["siamrpn", "siamfc"]
    for name in ("siamrpn", "siamfc"):
        entry = tracker_entry(name)
        assert entry.needs_weights and entry.takes_seed and entry.params
        assert entry.training == name and entry.source == "built-in"
    oracle = tracker_entry("oracle")
    assert oracle.sequence_input == "groundtruth" and not oracle.needs_weights
    assert {i.name for i in list_trackers()} >= {"siamrpn", "siamfc", "identity", "oracle",
                                                 "kcf", "csrt", "mil"}


def test_train_takes_its_choices_from_the_registry(readme_plugin: EntryPoint) -> None:
    result = CliRunner().invoke(cli, ["train", "--tracker", "identity"])
    assert result.exit_code == 2 and "'identity' cannot be trained" in result.output
    assert "trainable trackers: siamrpn, siamfc" in result.output
    from siambench.train.config import resolve_config, training_recipe

    with pytest.raises(UnknownNameError, match="cannot train tracker 'oracle'"):
        resolve_config("oracle")
    with pytest.raises(UnknownNameError, match="cannot train tracker 'nope'"):
        training_recipe("nope")

    @register_tracker("test-trainable", network="siamfc", training="siamfc")
    def trainable(*, model: object, device: str) -> object:
        return model
    try:
        assert "test-trainable" in trainable_trackers()
        assert resolve_config("test-trainable", None) == {**resolve_config("siamfc", None)}
    finally:
        unregister_tracker("test-trainable")


def test_no_tracker_name_is_spelled_out_in_the_run_engine() -> None:
    builtin = {entry.name for entry in registry._ENTRIES.values() if entry.source == "built-in"}
    assert builtin >= {"siamrpn", "siamfc", "oracle"}
    for path in sorted((PACKAGE / "run").glob("*.py")):
        text = path.read_text(encoding="utf-8").lower()
        spelled = {name for name in builtin if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])",
                                                         text)}
        assert not spelled, f"{path.name} names trackers {sorted(spelled)}"
    cli_source = (PACKAGE / "cli.py").read_text(encoding="utf-8")
    assert "click.Choice([\"siamrpn\"" not in cli_source.replace("'", '"')
    for name in ("siamrpn", "siamfc"):  # the pair is no tuple of names outside the registrations
        for path in (PACKAGE / "train" / "config.py", PACKAGE / "models" / "weight_init.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            tuples = [node for node in ast.walk(tree) if isinstance(node, ast.Tuple)
                      and any(isinstance(e, ast.Constant) and e.value == name for e in node.elts)]
            assert not tuples, f"{path.name} lists tracker {name} in a tuple"
