"""Checkpoint fault catalogue (issue 11): every bad weights file a user can hand siambench, with
the one-line message it gives through ``create_tracker(..., weights=path)`` and through
``siambench run --tracker siamrpn --weights PATH`` (exit code 1, no traceback), plus the classic
trackers that the installed OpenCV cannot make.

What ``tests/test_checkpoints.py`` already checks through ``load_checkpoint`` /
``import_weights`` (protocol-2 pickles carrying code, garbage bytes, a version-2 file, layouts)
is not repeated here; this file adds the tracker and CLI paths, the cases it lacked (a
protocol-4 pickle with code, weights of another network, truncated files, folders and broken
links) and bounded fuzzing of damaged checkpoints.
"""

from __future__ import annotations

import io
import pickle
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError
from siambench.models import build_model
from siambench.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    pickle_code_globals,
    save_checkpoint,
)
from siambench.models.importers import import_weights
from siambench.trackers import classic, create_tracker, list_trackers

MARKER = "marker.txt"


class _RunsCode:
    """Unpickling this would write the marker file (it must never happen)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _save(path: Path, obj: object, *, legacy: bool = False) -> Path:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    path.write_bytes(buffer.getvalue())
    return path


def _rpn_checkpoint(folder: Path) -> Path:
    return save_checkpoint(folder / "rpn.ckpt", build_model("siamrpn", width_mult=0.25, seed=0))


# -- the builders: each writes one bad weights file into the folder and returns its path ----------

def _torch_pickle_with_code(folder: Path) -> Path:
    return _save(folder / "evil.pth", {"state_dict": {"w": torch.zeros(1)},
                                       "hook": _RunsCode(folder / MARKER)})


def _protocol4_pickle_with_code(folder: Path) -> Path:
    # pickle.dumps' default protocol (4+) opens with a FRAME opcode, which torch's safe
    # unpickler stops at before it meets the code global: was "unreadable pickle".
    path = folder / "evil.pkl"
    path.write_bytes(pickle.dumps({"weights": [0.5], "hook": _RunsCode(folder / MARKER)},
                                  protocol=pickle.HIGHEST_PROTOCOL))
    return path


def _siamfc_checkpoint(folder: Path) -> Path:
    return save_checkpoint(folder / "fc.ckpt", build_model("siamfc", width_mult=0.25))


def _siamfc_release(folder: Path) -> Path:
    return _save(folder / "siamfc_alexnet_e50.pth", build_model("siamfc", seed=0).state_dict())


def _other_network(folder: Path) -> Path:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(8, 2))
    return _save(folder / "classifier.pth", net.state_dict())


def _checkpoint_of_another_network(folder: Path) -> Path:
    # A siambench checkpoint that says siamrpn but holds siamfc's tensors: was a 70-line list.
    payload = torch.load(_siamfc_checkpoint(folder), weights_only=True)
    payload["model"], payload["config"] = "siamrpn", {"width_mult": 0.25}
    return _save(folder / "mislabelled.ckpt", payload)


def _truncated(folder: Path) -> Path:
    data = _rpn_checkpoint(folder).read_bytes()
    path = folder / "truncated.ckpt"
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_legacy(folder: Path) -> Path:
    payload = torch.load(_rpn_checkpoint(folder), weights_only=True)
    data = _save(folder / "legacy.ckpt", payload, legacy=True).read_bytes()
    path = folder / "legacy-truncated.ckpt"
    path.write_bytes(data[: len(data) // 2])
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.pth"
    path.write_bytes(b"")
    return path


def _future_version(folder: Path) -> Path:
    payload = torch.load(_rpn_checkpoint(folder), weights_only=True)
    payload["version"] = 2
    return _save(folder / "future.ckpt", payload)


def _folder(folder: Path) -> Path:
    path = folder / "weights.pth"
    path.mkdir()
    return path


def _broken_link(folder: Path) -> Path:
    path = folder / "weights.pth"
    path.symlink_to(folder / "gone.pth")
    return path


#: case -> (builder, the message's expected text as a regex; ``{path}`` is the file)
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "torch pickle with code": (
        _torch_pickle_with_code, r"{path}: refused: the file is a pickle that would run code .*exec"),
    "protocol-4 pickle with code": (
        _protocol4_pickle_with_code,
        r"{path}: refused: the file is a pickle that would run code .*\(builtins\.exec\)"),
    "siamfc checkpoint for siamrpn": (
        _siamfc_checkpoint, r"{path}: holds a siamfc network, but tracker 'siamrpn' needs a "
                            r"siamrpn network .*use --tracker siamfc with these weights"),
    "siamfc release for siamrpn": (
        _siamfc_release, r"{path}: holds a siamfc network, but tracker 'siamrpn' needs a "
                         r"siamrpn network"),
    "state dict of another network": (
        _other_network, r"{path}: a state dict in no known layout \(first keys: 0\.weight"),
    "checkpoint holding another network": (
        _checkpoint_of_another_network, r"{path}: the checkpoint tensors \(model 'siamrpn'\) "
                                        r"belong to another network: none of the file's 30"),
    "truncated": (_truncated, r"{path}: not a readable PyTorch weights file \(RuntimeError: "),
    "truncated legacy format": (
        _truncated_legacy, r"{path}: not a readable PyTorch weights file \(RuntimeError: "),
    "empty": (_empty, r"{path}: is empty \(0 bytes\), not a PyTorch weights file"),
    "future version": (
        _future_version, r"{path}: siambench checkpoint version 2 is not supported \(this "
                         r"siambench reads version 1\) \(upgrade siambench\)"),
    "folder": (_folder, r"{path}:? is a folder, expected a weights file"),
    "broken symbolic link": (_broken_link, r"{path}:? is a broken symbolic link \(to .*gone\.pth\)"),
}


def _pattern(template: str, path: Path) -> str:
    return template.replace("{path}", f"(weights file )?{path}")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_benchmark(tmp_path_factory.mktemp("data") / "otb", "otb", sequences=1,
                           frames=3, size=(64, 48), workers=1, progress=False)


@pytest.mark.parametrize("case", list(CASES))
def test_create_tracker_gives_one_clear_message(tmp_path: Path, case: str) -> None:
    build, expected = CASES[case]
    path = build(tmp_path)
    with pytest.raises(SiambenchError) as info:
        create_tracker("siamrpn", weights=path)
    message = str(info.value)
    assert "\n" not in message, message
    assert re.match(_pattern(expected, path), message), message
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("case", list(CASES))
def test_cli_run_with_bad_weights_exits_1_without_traceback(tmp_path: Path, tiny_data: Path,
                                                            case: str) -> None:
    build, expected = CASES[case]
    path = build(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--tracker", "siamrpn", "--weights", str(path),
                                      "--root", str(tiny_data), "--results-dir",
                                      str(tmp_path / "results"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and re.match(_pattern(expected, path), errors[0][7:]), result.output
    assert not (tmp_path / MARKER).exists()
    assert not list((tmp_path / "results").rglob("*.txt"))  # no result was written


def test_mismatch_lists_are_bounded(tmp_path: Path) -> None:
    """A checkpoint of the same network with other widths lists its first 20 mismatches."""
    payload = torch.load(_rpn_checkpoint(tmp_path), weights_only=True)
    payload["config"]["width_mult"] = 0.5
    path = _save(tmp_path / "wider.ckpt", payload)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}: the checkpoint tensors (model 'siamrpn') do not fit")
    assert len(lines) == 22 and lines[-1].strip().startswith("... and ")


# -- the pickle scanner and fuzzing ------------------------------------------------------------

@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_code_globals_reads_without_running(tmp_path: Path, protocol: int) -> None:
    data = pickle.dumps({"a": _RunsCode(tmp_path / MARKER), "b": [1.0]}, protocol=protocol)
    assert pickle_code_globals(data) in (["builtins.exec"], ["__builtin__.exec"])
    assert pickle_code_globals(pickle.dumps({"w": [1.0, 2.0]}, protocol=protocol)) == []
    assert not (tmp_path / MARKER).exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_pickle_code_globals_never_raises(data: bytes) -> None:
    assert isinstance(pickle_code_globals(data), list)


@pytest.fixture(scope="module")
def pristine_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pristine")
    fixed = {"created": "2026-01-01T00:00:00+00:00", "siambench_version": "0", "torch_version": "0"}
    path = save_checkpoint(folder / "fc.ckpt", build_model("siamfc", width_mult=0.25, seed=1),
                           metadata=fixed)  # the same bytes each time: seeds mean one damage
    legacy = _save(folder / "legacy.ckpt", torch.load(path, weights_only=True), legacy=True)
    return {"zip": path, "legacy": legacy}


@example(layout="legacy", seed=38266293, cut=True)  # struct.error before the fix
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(layout=st.sampled_from(["zip", "legacy"]), seed=st.integers(0, 2**32 - 1),
       cut=st.booleans())
def test_damaged_checkpoints_give_a_model_or_checkpoint_error(
        tmp_path: Path, pristine_checkpoints: dict[str, Path], layout: str, seed: int,
        cut: bool) -> None:
    rng = random.Random(seed)
    data = bytearray(pristine_checkpoints[layout].read_bytes())
    if cut:
        data = data[: rng.randrange(len(data))]
    else:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    path = tmp_path / f"damaged-{layout}.ckpt"
    path.write_bytes(bytes(data))
    for loader in (load_checkpoint, import_weights):
        try:
            model, _ = loader(path)
        except CheckpointError as error:
            assert str(error).startswith(str(path))
        else:
            assert model is not None


# -- classic trackers the installed OpenCV cannot make --------------------------------------------

@pytest.fixture
def no_contrib(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OpenCV without the contrib modules (KCF, CSRT absent; MIL present)."""
    real = classic.opencv_factory
    monkeypatch.setattr(classic, "opencv_factory",
                        lambda name: None if name in ("KCF", "CSRT") else real(name))
    monkeypatch.setattr(classic, "_installed_opencv", lambda: ["opencv-python-headless 5.1.0"])


def test_unknown_tracker_message_marks_unavailable_classic_trackers(no_contrib: None) -> None:
    with pytest.raises(SiambenchError) as info:
        create_tracker("nope")
    message = str(info.value)
    known, _, unavailable = message.partition("; unavailable here: ")
    assert "mil" in known and "kcf" not in known and "csrt" not in known
    assert unavailable.startswith("kcf, csrt (need the OpenCV contrib modules")
    assert classic.CONTRIB_INSTALL in unavailable
    infos = {info.name: info for info in list_trackers()}
    for name in ("kcf", "csrt"):
        assert not infos[name].available
        assert "opencv-contrib-python-headless" in infos[name].note
        assert infos[name].note.endswith(f"fix: {classic.CONTRIB_INSTALL}")
    assert infos["mil"].available and infos["mil"].note == ""
    with pytest.raises(SiambenchError, match=r"tracker 'kcf' is unavailable here: needs "
                       r"cv2\.TrackerKCF_create .*has no contrib modules; fix: pip uninstall"):
        create_tracker("kcf")


def test_two_opencv_packages_are_named_as_the_cause(no_contrib: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """contrib installed, then opencv-python-headless over it: cv2 lost KCF; say why."""
    monkeypatch.setattr(classic, "_installed_opencv", lambda: [
        "opencv-contrib-python-headless 5.1.0", "opencv-python-headless 5.1.0"])
    reason = classic.unavailable_reason("csrt")
    assert reason is not None and "overwrite each other's cv2 folder" in reason
    assert "opencv-contrib-python-headless 5.1.0, opencv-python-headless 5.1.0" in reason
    assert classic.unavailable_reason("mil") is None
