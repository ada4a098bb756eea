"""An installed wheel works: every file the package reads ships as package data and is found
through ``importlib.resources`` (never through ``__file__`` or the checkout's layout).

The wheel itself is built and run outside the checkout by ``.ci/run``; these tests build nothing.
"""

from __future__ import annotations

import ast
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest

import siambench
from siambench.errors import SiambenchError
from siambench.trackers import params as params_module
from siambench.trackers.params import BUNDLED, ENV_VAR, load_param_file, tracker_file, trackers_root

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(str(files("siambench")))


def _package_data_patterns() -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    pyproject = REPO / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not run from a checkout (no pyproject.toml)")
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(config["tool"]["setuptools"]["package-data"]["siambench"])


def _data_files(node, prefix: str = "") -> list[str]:
    """Every non-Python file below ``node`` (a Traversable), as package-relative POSIX paths."""
    found = []
    for child in node.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            if child.name != "__pycache__":
                found += _data_files(child, f"{name}/")
        elif not child.name.endswith((".py", ".pyc")):
            found.append(name)
    return found


def test_every_data_file_is_declared_package_data() -> None:
    """The files a wheel needs besides modules are exactly what pyproject's patterns select
    (setuptools globs them in the package folder, as Path.glob does here)."""
    patterns = _package_data_patterns()
    needed = set(_data_files(files("siambench")))
    declared: set[str] = set()
    for pattern in patterns:
        matched = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.glob(pattern) if p.is_file()}
        assert matched, f"package-data pattern {pattern!r} matches no file"
        declared |= matched
    assert needed - declared == set(), "files in siambench/ that a wheel would not ship"
    # what the code reads, by name:
    for name in ("datasets/manifests/otb.csv", "datasets/manifests/uav.csv",
                 "datasets/manifests/lasot.csv", "protocols/ope.yaml", "protocols/vot2018.yaml",
                 "train/configs/cpu.yaml", "train/configs/paper.yaml",
                 f"{BUNDLED}/siamrpn/config.yaml", f"{BUNDLED}/siamrpn/model.pt",
                 f"{BUNDLED}/siamfc/config.yaml", f"{BUNDLED}/siamfc/model.pt"):
        assert name in declared


def test_no_module_locates_files_through_its_own_path() -> None:
    """``__file__`` points into the checkout or site-packages and fails for zip imports: package
    files are found with importlib.resources only."""
    offenders = []
    for module in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        offenders += [f"{module.relative_to(PACKAGE)}:{node.lineno}" for node in ast.walk(tree)
                      if isinstance(node, ast.Name) and node.id == "__file__"]
    assert offenders == []


def test_bundled_tracker_folders_are_complete() -> None:
    """Each bundled tracker has its config; weights come with their MODEL.md."""
    folders = {child.name: child for child in (files("siambench") / BUNDLED).iterdir()
               if child.is_dir() and child.name != "__pycache__"}
    assert {"siamrpn", "siamfc"} <= set(folders)
    for name, folder in folders.items():
        assert (folder / "config.yaml").is_file(), name
        assert (folder / "model.pt").is_file() == (folder / "MODEL.md").is_file(), name


def test_create_tracker_finds_its_weights_in_the_package(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an unrelated folder, siamrpn loads the weights shipped inside the package."""
    import siambench.models.checkpoint as checkpoint
    from siambench.trackers import create_tracker

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    loaded: list[Path] = []
    real = checkpoint.load_checkpoint

    def spy(path, *args, **kwargs):
        loaded.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "load_checkpoint", spy)
    tracker = create_tracker("siamrpn")
    shipped = Path(str(files("siambench") / BUNDLED / "siamrpn" / "model.pt"))
    assert loaded == [shipped]
    assert shipped.resolve().is_relative_to(Path(siambench.__file__).resolve().parent)
    assert tracker_file("siamrpn", "model.pt") == shipped
    assert load_param_file("siamrpn").path == shipped.with_name("config.yaml")
    assert tracker.name == "siamrpn"


def test_environment_folder_overrides_the_package(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "siamrpn").mkdir()
    (tmp_path / "siamrpn" / "model.pt").write_bytes(b"weights")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert trackers_root() == tmp_path
    assert tracker_file("siamrpn", "model.pt") == tmp_path / "siamrpn" / "model.pt"
    assert tracker_file("siamfc", "model.pt") is None


def test_resources_inside_a_zip_get_a_real_path(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A package imported from a zip: the weights are extracted to a real file for torch.load."""
    archive = tmp_path / "siambench.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"siambench/{BUNDLED}/siamrpn/model.pt", b"weights")
        handle.writestr(f"siambench/{BUNDLED}/siamrpn/config.yaml",
                        "description: x\ndefault: a\nsets:\n  a: {k: 1}\n")
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(params_module, "files", lambda _: zipfile.Path(archive, "siambench/"))
    path = tracker_file("siamrpn", "model.pt")
    assert isinstance(path, Path) and path.read_bytes() == b"weights"
    assert tracker_file("siamrpn", "model.pt") == path  # extracted once
    assert load_param_file("siamrpn").get(None) == {"k": 1}
    assert tracker_file("siamfc", "model.pt") is None


def test_missing_package_data_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(params_module, "files", lambda _: tmp_path)
    with pytest.raises(SiambenchError, match="lacks its package data.*reinstall"):
        trackers_root()


def test_training_configs_are_package_resources(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from siambench.train.config import available_configs, resolve_config

    monkeypatch.chdir(tmp_path)
    shipped = sorted(p.name[:-5] for p in (files("siambench.train") / "configs").iterdir()
                     if p.name.endswith(".yaml"))
    assert available_configs() == shipped and "cpu" in shipped
    assert resolve_config("siamfc", "cpu")["config_name"] == "cpu"
