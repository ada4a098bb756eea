"""``siambench run`` through click's runner: layouts, run.json, scores, failures, shards,
workers, config changes and the manifest helpers."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError
from siambench.report.build import build_report
from siambench.run import headline_scores, parse_shard, run_benchmark, split_set_options
from siambench.run.manifest import (
    config_hash,
    describe_differences,
    read_statuses,
    update_manifest,
    verify_complete,
    write_status,
)
from siambench.trackers import registry
from siambench.trackers.base import Tracker, TrackOutput

FRAMES = 8


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("run-data")
    return {fmt: write_benchmark(base / fmt, fmt, sequences=3, frames=FRAMES, seed=5,
                                 workers=1) for fmt in ("otb", "vot", "got10k")}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _run(runner: CliRunner, *args: str):
    return runner.invoke(cli, ["run", *args], catch_exceptions=False)


def _boxes_text(folder: Path) -> dict[str, bytes]:
    """Every result file except the (timing-dependent) time files, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "_time" not in p.name and ".siambench" not in p.parts
            and p.name != "run.json"}


def test_identity_on_otb_layout_writes_results_manifest_and_scores(runner, layouts, tmp_path):
    res = tmp_path / "res"
    result = _run(runner, "--tracker", "identity", "--root", str(layouts["otb"]),
                  "--results-dir", str(res), "--quiet")
    assert result.exit_code == 0, result.output
    folder = res / "synthetic" / "identity"
    dataset = load_dataset("synthetic", layouts["otb"])
    for seq in dataset:
        rows = np.loadtxt(folder / f"{seq.name}.txt", delimiter=",")
        assert rows.shape == (FRAMES, 4)
        # identity: every row is the first ground-truth box, back in the 1-based GT frame
        np.testing.assert_allclose(rows, np.tile(seq.groundtruth[0], (FRAMES, 1)), rtol=0,
                                   atol=1e-12)
        times = np.loadtxt(folder / f"{seq.name}_time.txt")
        assert times.shape == (FRAMES,) and np.all(times >= 0)
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["tracker"] == "identity" and manifest["label"] == "identity"
    assert manifest["config_hash"] == config_hash("identity", {}, {})
    assert manifest["weights_checksum"] == "none" and manifest["weights"]["random"] is False
    assert manifest["dataset"] == {"name": "synthetic", "root": str(layouts["otb"].resolve()),
                                   "protocol": "ope", "origin": 1, "result_format": "ope",
                                   "metric_family": "ope"}
    assert manifest["repetitions"] == 1 and manifest["seed"] == 0
    assert set(manifest["versions"]) == {"siambench", "torch", "numpy", "opencv", "python"}
    assert manifest["device"] == "cpu" and manifest["host"] and manifest["started"]
    assert manifest["ended"] is not None
    assert {n: s["status"] for n, s in manifest["sequences"].items()} == \
        {n: "done" for n in dataset.names}
    assert all(s["frames"] == FRAMES and s["repetitions"] == 1
               for s in manifest["sequences"].values())
    assert manifest["summary"]["done"] == 3 and manifest["summary"]["frames"] == 3 * FRAMES
    # the printed scores are build_report's on this folder
    expected = build_report("synthetic", root=layouts["otb"], results_dir=res / "synthetic",
                            compare=["identity"], out=tmp_path / "rep").terminal_table()
    assert expected in result.output
    assert "3 sequences run, 0 already complete (skipped), 0 failed" in result.output
    assert f"results: {folder}" in result.output


def test_rerun_skips_complete_sequences_and_redoes_a_tampered_one(runner, layouts, tmp_path):
    res = tmp_path / "res"
    args = ["--tracker", "identity", "--root", str(layouts["otb"]), "--results-dir", str(res),
            "--quiet"]
    assert _run(runner, *args).exit_code == 0
    folder = res / "synthetic" / "identity"
    before = _boxes_text(folder)
    again = _run(runner, *args)
    assert "0 sequences run, 3 already complete (skipped)" in again.output
    name = load_dataset("synthetic", layouts["otb"]).names[1]
    (folder / f"{name}.txt").write_text("1,2,3,4\n")  # not what the status recorded
    third = _run(runner, *args)
    assert "1 sequences run, 2 already complete (skipped)" in third.output
    assert _boxes_text(folder) == before


def test_vot_layout_status_lines_and_oracle(runner, layouts, tmp_path):
    res = tmp_path / "res"
    result = _run(runner, "--tracker", "oracle", "--dataset", "vot2018", "--root",
                  str(layouts["vot"]), "--results-dir", str(res), "--quiet")
    assert result.exit_code == 0, result.output
    folder = res / "vot2018" / "oracle"
    dataset = load_dataset("vot2018", layouts["vot"])
    for seq in dataset:
        lines = (folder / "baseline" / seq.name / f"{seq.name}_001.txt").read_text().splitlines()
        assert len(lines) == FRAMES and lines[0] == "1"
        assert all(len(line.split(",")) == 4 for line in lines[1:])  # no failure: regions
        assert not (folder / "baseline" / seq.name / f"{seq.name}_002.txt").exists()
        assert (folder / "baseline" / seq.name / f"{seq.name}_001_time.value").is_file()
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["dataset"]["result_format"] == "vot" and manifest["dataset"]["origin"] == 0
    assert manifest["dataset"]["metric_family"] == "vot"
    assert manifest["repetitions"] == 15  # the protocol's; the deterministic tracker ran once
    assert all(s["repetitions"] == 1 for s in manifest["sequences"].values())
    assert "failures" in result.output and "oracle" in result.output


def test_got10k_layout_oracle_reproduces_the_ground_truth(runner, layouts, tmp_path):
    res = tmp_path / "res"
    result = _run(runner, "--tracker", "oracle", "--dataset", "got10k-val", "--root",
                  str(layouts["got10k"]), "--results-dir", str(res), "--quiet")
    assert result.exit_code == 0, result.output
    folder = res / "got10k-val" / "oracle"
    for seq in load_dataset("got10k-val", layouts["got10k"]):
        rows = np.loadtxt(folder / seq.name / f"{seq.name}_001.txt", delimiter=",")
        np.testing.assert_array_equal(rows, seq.groundtruth)  # origin 0: exact
        assert np.loadtxt(folder / seq.name / f"{seq.name}_time.txt").shape == (FRAMES,)
    # AO, SR0.5, SR0.75, each with its (empty) bootstrap interval
    assert re.search(r"1\.000 ± 0\.000\s+1\.000 ± 0\.000\s+1\.000 ± 0\.000", result.output), \
        result.output


class _Boom(Tracker):
    """Identity that raises when initialised for the second time (the second sequence)."""

    name = "boom"
    deterministic = True

    def __init__(self) -> None:
        self.inits = 0
        self.box = None

    def init(self, frame, box):
        self.inits += 1
        if self.inits == 2:
            raise RuntimeError("boom on purpose")
        self.box = np.asarray(box, dtype=float)

    def update(self, frame):
        return TrackOutput(self.box, 1.0)


def test_a_failing_sequence_is_recorded_listed_and_makes_the_exit_status_non_zero(
        runner, layouts, tmp_path, monkeypatch):
    plugin = SimpleNamespace(load=lambda: _Boom, value="tests.test_run:_Boom")
    monkeypatch.setattr(registry, "_entry_points", lambda: {"boom": plugin})
    res = tmp_path / "res"
    result = runner.invoke(cli, ["run", "--tracker", "boom", "--root", str(layouts["otb"]),
                                 "--results-dir", str(res), "--quiet"])
    names = load_dataset("synthetic", layouts["otb"]).names
    assert result.exit_code == 1
    assert f"failed: {names[1]}: RuntimeError: boom on purpose" in result.output
    assert "2 sequences run, 0 already complete (skipped), 1 failed" in result.output
    assert "success_auc" in result.output  # the others are still scored
    manifest = json.loads((res / "synthetic" / "boom" / "run.json").read_text())
    assert manifest["sequences"][names[1]] == {**manifest["sequences"][names[1]],
                                               "status": "failed",
                                               "error": "RuntimeError: boom on purpose"}
    assert [manifest["sequences"][n]["status"] for n in (names[0], names[2])] == ["done", "done"]
    assert not (res / "synthetic" / "boom" / f"{names[1]}.txt").exists()
    # a rerun retries only the failed sequence (a new tracker: its first init succeeds)
    again = runner.invoke(cli, ["run", "--tracker", "boom", "--root", str(layouts["otb"]),
                                "--results-dir", str(res), "--quiet"])
    assert again.exit_code == 0 and "1 sequences run, 2 already complete" in again.output


@pytest.mark.slow
def test_random_weights_recorded_and_warned_and_config_change_refused(runner, layouts, tmp_path,
                                                                     trackers_without_weights):
    res = tmp_path / "res"
    name = load_dataset("synthetic", layouts["otb"]).names[0]
    base = ["--tracker", "siamrpn", "--root", str(layouts["otb"]), "--results-dir", str(res),
            "--sequences", name, "--quiet"]
    missing = runner.invoke(cli, ["run", *base])
    assert missing.exit_code != 0 and "has no weights" in missing.output
    small = ["--weights", "random", "--set", "model.width_mult=0.25"]
    first = runner.invoke(cli, ["run", *base, *small])
    assert first.exit_code == 0, first.output
    assert "warning: random weights: scores are meaningless" in first.output
    folder = res / "synthetic" / "siamrpn"
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["weights_checksum"] == "random:0" and manifest["weights"]["random"] is True
    assert manifest["model_config"] == {"width_mult": 0.25}
    assert manifest["params_set"] == "default" and manifest["params"]["penalty_k"] == 0.04
    assert manifest["config_hash"] == config_hash("siamrpn", manifest["params"],
                                                  {"width_mult": 0.25})
    changed = runner.invoke(cli, ["run", *base, *small, "--set", "penalty_k=0.1"])
    assert changed.exit_code != 0
    assert "params.penalty_k: 0.04 -> 0.1" in changed.output and "--force" in changed.output
    assert "--name" in changed.output
    forced = runner.invoke(cli, ["run", *base, *small, "--set", "penalty_k=0.1", "--force"])
    assert forced.exit_code == 0, forced.output
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["params"]["penalty_k"] == 0.1
    assert list(manifest["sequences"]) == [name]
    other_seed = runner.invoke(cli, ["run", *base, *small, "--set", "penalty_k=0.1",
                                     "--seed", "3"])
    assert other_seed.exit_code != 0 and "weights: random:0 -> random:3" in other_seed.output


def test_shards_split_and_merge_into_one_folder(runner, layouts, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    common = ["--tracker", "identity", "--root", str(layouts["otb"]), "--quiet"]
    assert _run(runner, *common, "--results-dir", str(whole)).exit_code == 0
    names = load_dataset("synthetic", layouts["otb"]).names
    first = _run(runner, *common, "--results-dir", str(split), "--shard", "1/2")
    assert first.exit_code == 0
    manifest = json.loads((split / "synthetic" / "identity" / "run.json").read_text())
    assert {n: s["status"] for n, s in manifest["sequences"].items()} == \
        {names[0]: "done", names[1]: "pending", names[2]: "done"}
    second = _run(runner, *common, "--results-dir", str(split), "--shard", "2/2")
    assert "1 sequences run, 0 already complete" in second.output
    manifest = json.loads((split / "synthetic" / "identity" / "run.json").read_text())
    assert all(s["status"] == "done" for s in manifest["sequences"].values())
    assert [s["shard"] for s in manifest["sessions"]] == ["1/2", "2/2"]
    assert _boxes_text(split / "synthetic" / "identity") == \
        _boxes_text(whole / "synthetic" / "identity")


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "a/b", "2"])
def test_invalid_shards_are_refused(text):
    with pytest.raises(SiambenchError, match="--shard"):
        parse_shard(text)


def test_parse_shard():
    assert parse_shard("1/1") == (1, 1) and parse_shard(" 3 / 4 ") == (3, 4)
    assert parse_shard(None) is None


def test_two_workers_give_the_same_results_as_one(runner, layouts, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    common = ["--tracker", "identity", "--dataset", "vot2018", "--root", str(layouts["vot"]),
              "--quiet"]
    assert _run(runner, *common, "--results-dir", str(one)).exit_code == 0
    result = _run(runner, *common, "--results-dir", str(two), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert _boxes_text(two / "vot2018" / "identity") == _boxes_text(one / "vot2018" / "identity")
    manifest = json.loads((two / "vot2018" / "identity" / "run.json").read_text())
    assert manifest["sessions"][0]["workers"] == 2 and manifest["summary"]["done"] == 3


def test_argument_errors(runner, layouts, tmp_path):
    common = ["--tracker", "identity", "--root", str(layouts["otb"]), "--results-dir",
              str(tmp_path)]
    reps = runner.invoke(cli, ["run", *common, "--repetitions", "2"])
    assert reps.exit_code != 0 and "--repetitions must be 1" in reps.output
    unknown = runner.invoke(cli, ["run", *common, "--sequences", "nope"])
    assert unknown.exit_code != 0 and "no sequence 'nope'" in unknown.output
    params = runner.invoke(cli, ["run", *common, "--set", "x=1"])
    assert params.exit_code != 0 and "no parameters" in params.output
    device = runner.invoke(cli, ["run", *common, "--device", "tpu"])
    assert device.exit_code != 0 and "--device expects cpu, cuda or cuda:i" in device.output


def test_cuda_requested_without_cuda_is_a_clean_error(runner, layouts, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    result = runner.invoke(cli, ["run", "--tracker", "identity", "--root", str(layouts["otb"]),
                                 "--results-dir", str(tmp_path), "--device", "cuda"])
    assert result.exit_code != 0 and "CUDA is not available" in result.output
    assert "Traceback" not in result.output


def test_sequences_option_and_name_label(runner, layouts, tmp_path):
    names = load_dataset("synthetic", layouts["otb"]).names
    wanted = f"{names[2]},{names[0]}"
    result = _run(runner, "--tracker", "identity", "--root", str(layouts["otb"]),
                  "--results-dir", str(tmp_path), "--sequences", wanted, "--name", "mine",
                  "--quiet")
    assert result.exit_code == 0
    folder = tmp_path / "synthetic" / "mine"
    assert sorted(p.stem for p in folder.glob("*.txt") if "_time" not in p.stem) == \
        sorted([names[0], names[2]])
    assert list(json.loads((folder / "run.json").read_text())["sequences"]) == \
        [names[0], names[2]]


def test_progress_bars_are_drawn_unless_quiet(runner, layouts, tmp_path):
    loud = _run(runner, "--tracker", "identity", "--root", str(layouts["otb"]),
                "--results-dir", str(tmp_path))
    assert "frame/s" in loud.output and f"{3 * FRAMES}/{3 * FRAMES}" in loud.output
    quiet = _run(runner, "--tracker", "identity", "--root", str(layouts["otb"]),
                 "--results-dir", str(tmp_path), "--quiet")
    assert "frame/s" not in quiet.output


def test_withheld_ground_truth_gives_a_note_not_an_error(layouts, tmp_path):
    summary = run_benchmark("identity", dataset="got10k-val", root=layouts["got10k"],
                            results_dir=tmp_path, progress=False)
    assert summary.ok and len(summary.done) == 3
    broken = summary.__class__(**{**summary.__dict__, "dataset": "got10k-test",
                                  "root": tmp_path / "nowhere"})
    table, note = headline_scores(broken)
    assert table is None and note.startswith("no scores: ")


def test_config_hash_is_sha256_of_canonical_json():
    text = '{"model_config":{},"params":{"a":1,"b":[1,2]},"tracker":"x"}'
    assert config_hash("x", {"b": (1, 2), "a": 1}) == hashlib.sha256(text.encode()).hexdigest()
    assert config_hash("x", {"a": 1}) != config_hash("x", {"a": 1.5})


def test_describe_differences():
    old = {"tracker": "siamrpn", "params": {"lr": 0.4, "k": 1}, "model_config": {},
           "weights_checksum": "abc"}
    new = {"tracker": "siamrpn", "params": {"lr": 0.3, "k": 1}, "model_config": {"w": 2},
           "weights_checksum": "def"}
    assert describe_differences(old, new) == ["params.lr: 0.4 -> 0.3",
                                              "model_config.w: '(unset)' -> 2",
                                              "weights: abc -> def"]


def test_verify_complete_needs_same_config_weights_and_checksums(tmp_path):
    (tmp_path / "a.txt").write_text("1,2,3,4\n")
    digest = hashlib.sha256(b"1,2,3,4\n").hexdigest()
    status = {"status": "done", "config_hash": "c", "weights_checksum": "w",
              "files": {"a.txt": digest}}
    assert verify_complete(tmp_path, status, "c", "w")
    assert not verify_complete(tmp_path, status, "c2", "w")
    assert not verify_complete(tmp_path, status, "c", "w2")
    assert not verify_complete(tmp_path, {**status, "status": "failed"}, "c", "w")
    (tmp_path / "a.txt").write_text("1,2,3,5\n")
    assert not verify_complete(tmp_path, status, "c", "w")
    assert read_statuses(tmp_path / "none") == {}


@pytest.mark.parametrize("dataset, pooled", [
    ({"result_format": "got10k", "metric_family": "got10k"}, True),
    ({"result_format": "ope", "metric_family": "ope"}, False),  # e.g. got10k-train
    ({"layout": "got10k"}, True),  # run.json written before metric_family was recorded
    ({"layout": "ope"}, False),
])
def test_manifest_pools_fps_mean_for_the_got10k_metric_family(tmp_path, dataset, pooled):
    """Two done sequences, 10 fps over 1 frame and 40 fps over 3: the mean over sequences is
    25, pooled over the frames (GOT-10k) (10 + 3 * 40) / 4 = 32.5."""
    for name, rate, frames in (("a", 10.0, 1), ("b", 40.0, 3)):
        write_status(tmp_path, name, {"sequence": name, "status": "done", "fps_mean": rate,
                                      "tracked_frames": frames})
    header = {"config_hash": "h", "dataset": {"name": "got10k-val", **dataset}}
    manifest = update_manifest(tmp_path, header, {"id": "s"}, [])
    assert manifest["summary"]["fps_mean"] == (32.5 if pooled else 25.0)


def test_split_set_options():
    overrides, model = split_set_options("siamrpn", None, ["penalty_k=0.1",
                                                           "model.width_mult=0.5"])
    assert overrides == {"penalty_k": 0.1} and model == {"width_mult": 0.5}
    with pytest.raises(SiambenchError, match="unknown parameter"):
        split_set_options("siamrpn", None, ["nope=1"])
    assert split_set_options("identity", None, []) == ({}, {})


def test_real_otb_and_vot_sequences(shared_data, tmp_path):
    otb = run_benchmark("oracle", dataset="otb100",
                        root=shared_data / "jwlim_tracker_benchmark" / "data",
                        sequences=["Crossing"], results_dir=tmp_path, progress=False)
    assert otb.ok and otb.done == ["Crossing"]
    rows = np.loadtxt(tmp_path / "otb100" / "oracle" / "Crossing.txt", delimiter=",")
    gt = load_dataset("otb100", shared_data / "jwlim_tracker_benchmark" / "data")["Crossing"]
    assert rows.shape == (120, 4)
    np.testing.assert_allclose(rows, gt.groundtruth, rtol=0, atol=1e-9)
    vot = run_benchmark("identity", dataset="vot2018",
                        root=shared_data / "AlvaroNavarroMora_RVA_VisionChallenge" / "sequences",
                        sequences=["ball1"], results_dir=tmp_path, progress=False)
    assert vot.ok
    lines = (tmp_path / "vot2018" / "identity" / "baseline" / "ball1" /
             "ball1_001.txt").read_text().splitlines()
    assert len(lines) == 105 and lines[0] == "1" and "2" in lines
    table, note = headline_scores(vot)
    assert note is None and "identity" in table


def test_save_video_writes_one_file_per_sequence(runner, layouts, tmp_path):
    result = _run(runner, "--tracker", "identity", "--dataset", "vot2018", "--root",
                  str(layouts["vot"]), "--results-dir", str(tmp_path / "res"), "--save-video",
                  str(tmp_path / "videos"), "--quiet")
    assert result.exit_code == 0, result.output
    names = load_dataset("vot2018", layouts["vot"]).names
    videos = sorted(p.stem for p in (tmp_path / "videos").iterdir() if p.stat().st_size > 0)
    assert videos == sorted(names)
    statuses = read_statuses(tmp_path / "res" / "vot2018" / "identity")
    assert all(Path(s["video"]).stem == n for n, s in statuses.items())
