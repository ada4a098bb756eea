"""``siambench tune``: the search space, a study shared by two worker processes, resuming a
killed study, the best set loading with ``--params``, and the errors a user can make.

Trials track the bundled SiamRPN on two sequences of ``synthetic-val`` (about a second each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.errors import SiambenchError, UnknownNameError
from siambench.trackers.params import load_param_file, read_set_file
from siambench.tune.space import grid_of, parse_space

SEQUENCES = "synth-000-occlusion,synth-001-distractors"
REFERENCE = {"penalty_k": 0.04, "instance_size": 255, "crop": "warp", "adaptive": False,
             "anchor_ratios": [0.33, 0.5, 1.0, 2.0, 3.0]}


def _tune(out: Path, *extra: str, trials: int = 4) -> list[str]:
    return ["tune", "--tracker", "siamrpn", "--dataset", "synthetic-val", "--sequences", SEQUENCES,
            "--space", "penalty_k=0.0:0.5", "--space", "window_influence=0.1:0.8",
            "--trials", str(trials), "--out", str(out), *extra]


def _trials(out: Path) -> list[optuna.trial.FrozenTrial]:
    storage = f"sqlite:///{out / 'study.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    return optuna.load_study(study_name=summary.study_name, storage=storage).get_trials()


# -- the space ----------------------------------------------------------------------------------

def test_space_ranges_steps_and_choices() -> None:
    dims = parse_space(["penalty_k=0.0:0.5", "instance_size=255:287:16", "crop=warp,pysot",
                        "adaptive=true", "anchor_ratios=[0.5, 1.0],[1.0]"], REFERENCE)
    kinds = {d.name: (d.kind, d.low, d.high, d.step, d.choices) for d in dims}
    assert kinds["penalty_k"] == ("float", 0.0, 0.5, None, ())
    assert kinds["instance_size"] == ("int", 255, 287, 16, ())
    assert kinds["crop"][0] == "choice" and kinds["crop"][4] == ("warp", "pysot")
    assert kinds["adaptive"][4] == (True,)
    assert grid_of(dims[1:]) == {"instance_size": [255, 271, 287], "crop": ["warp", "pysot"],
                                 "anchor_ratios": [0, 1]}
    assert not dims[0].discrete and dims[1].values() == [255, 271, 287]
    assert parse_space(["penalty_k=0:0.2:0.1"], REFERENCE)[0].values() == [0.0, 0.1, 0.2]


@pytest.mark.parametrize("item, message", [
    ("nope=0:1", "has no parameter 'nope'"),
    ("penalty_k=0.5:0.1", "LOW must be below HIGH"),
    ("penalty_k=0:1:0", "STEP must be positive"),
    ("penalty_k=0:1:2:3", "LOW:HIGH or LOW:HIGH:STEP"),
    ("penalty_k=a:b", "is not a number"),
    ("instance_size=255.5:300", "whole numbers"),
    ("crop=0:1", "give its values as A,B,C"),
    ("instance_size=big,small", "expects a int"),
    ("penalty_k", "expected NAME=LOW:HIGH"),
])
def test_space_errors(item: str, message: str) -> None:
    with pytest.raises(SiambenchError, match=message):
        parse_space([item], REFERENCE)


def test_space_needs_one_dimension_and_no_duplicates() -> None:
    with pytest.raises(SiambenchError, match="at least one --space"):
        parse_space([], REFERENCE)
    with pytest.raises(SiambenchError, match="twice"):
        parse_space(["penalty_k=0:1", "penalty_k=0:2"], REFERENCE)
    with pytest.raises(UnknownNameError):
        parse_space(["x=1"], REFERENCE)


@settings(max_examples=60, deadline=None)
@given(low=st.floats(-1e3, 1e3, allow_nan=False), width=st.floats(1e-3, 1e3),
       steps=st.integers(1, 40))
def test_a_stepped_range_holds_its_ends(low: float, width: float, steps: int) -> None:
    high = low + width
    (dim,) = parse_space([f"penalty_k={low!r}:{high!r}:{width / steps!r}"], REFERENCE)
    values = dim.values()
    assert len(values) in (steps, steps + 1)
    assert values[0] == pytest.approx(low) and values[-1] <= high + 1e-6 * max(1, abs(high))
    assert all(b > a for a, b in zip(values, values[1:], strict=False))


def test_a_set_file_is_one_parameter_set(tmp_path: Path) -> None:
    file = load_param_file("siamrpn")
    path = tmp_path / "best.yaml"
    path.write_text(yaml.safe_dump({"tracker": "siamrpn", "params": {"penalty_k": 0.3}}))
    assert file.resolve(str(path))["penalty_k"] == 0.3
    assert file.resolve(str(path))["lr"] == file.get(None)["lr"]  # the rest: the default set
    (tmp_path / "bad.yaml").write_text("params: {penalty: 1}\n")
    with pytest.raises(UnknownNameError, match="penalty"):
        file.resolve(str(tmp_path / "bad.yaml"))
    with pytest.raises(SiambenchError, match="no such file"):
        read_set_file(tmp_path / "missing.yaml")


# -- studies ------------------------------------------------------------------------------------

def test_two_workers_share_one_study_and_the_best_set_loads(tmp_path: Path) -> None:
    out = tmp_path / "study"
    result = CliRunner().invoke(cli, _tune(out, "--workers", "2", "--no-prune"))
    assert result.exit_code == 0, result.output
    trials = _trials(out)
    finished = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(finished) >= 4 and not [t for t in trials if t.state.name == "RUNNING"]
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # none lost
    params = [tuple(sorted(t.params.items())) for t in finished]
    assert len(set(params)) == len(params)  # distinct: each worker samples with its own seed
    assert len({t.user_attrs["pid"] for t in finished}) == 2  # both workers tracked trials
    table = pd.read_csv(out / "trials.csv")
    assert len(table) == len(trials) and set(table["split"]) == {"validation"}
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["value"] == max(t.value for t in finished) and best["split"] == "validation"
    for name in ("history", "importance", "slice_penalty_k", "slice_window_influence"):
        assert (out / f"{name}.png").is_file() and (out / f"{name}.pdf").is_file()
    assert "best.yaml" in (out / "index.html").read_text()
    # the best set reproduces its trial's score through siambench run --params
    rerun = CliRunner().invoke(cli, ["run", "--tracker", "siamrpn", "--dataset", "synthetic-val",
                                     "--sequences", SEQUENCES, "--params", str(out / "best.yaml"),
                                     "--results-dir", str(tmp_path / "check"), "--quiet"])
    assert rerun.exit_code == 0, rerun.output
    assert f"{best['value']:.3f}" in rerun.output
    # rerunning continues the study: the total is --trials
    more = CliRunner().invoke(cli, _tune(out, "--no-prune", trials=5))
    assert more.exit_code == 0, more.output
    # (two workers may have finished a fifth trial already: up to workers - 1 past the total)
    assert len([t for t in _trials(out) if t.state.name == "COMPLETE"]) == max(5, len(finished))


def test_a_killed_tune_is_continued_to_the_requested_total(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "siambench", *_tune(out, "--heartbeat", "1", "--no-prune",
                                                         trials=3)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "trials" / "0001").is_dir():  # the second trial has started
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(2.5)  # past the grace period (2 heartbeats): the killed trial is stale
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    states = [t.state.name for t in _trials(out)]
    assert states.count("COMPLETE") == 3 and states.count("FAIL") == 1  # recorded, not lost
    assert "RUNNING" not in states
    assert "fail" in set(pd.read_csv(out / "trials.csv")["state"])


test_a_killed_tune_is_continued_to_the_requested_total = pytest.mark.slow(
    test_a_killed_tune_is_continued_to_the_requested_total)


def test_tuning_on_a_test_split_is_warned_about_and_recorded(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tune", "--tracker", "siamrpn", "--dataset", "synthetic",
                                      "--sequences", "synth-000-occlusion", "--space",
                                      "penalty_k=0.0:0.5", "--trials", "1", "--out",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "synthetic is a test split" in result.output and "synthetic-val" in result.output
    assert set(pd.read_csv(tmp_path / "trials.csv")["split"]) == {"test"}
    assert yaml.safe_load((tmp_path / "best.yaml").read_text())["split"] == "test"


@pytest.mark.parametrize("extra, message", [
    (["--objective", "eao"], "have no eao; choose auc or precision"),
    (["--sampler", "grid"], "a continuous range has no grid"),
    (["--set", "penalty_k=0.1"], "given both with --set and --space"),
    (["--tracker", "identity"], "has no parameter file to tune"),
    (["--storage", "nosuchdb://x"], "cannot open the study storage"),
])
def test_user_errors_are_one_clear_message(tmp_path: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, [*_tune(tmp_path / "out", trials=1), *extra])
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_a_study_is_continued_only_with_its_own_settings(tmp_path: Path) -> None:
    out = tmp_path / "one"
    first = CliRunner().invoke(cli, ["tune", "--tracker", "siamrpn", "--dataset", "synthetic-val",
                                     "--sequences", "synth-000-occlusion", "--space",
                                     "penalty_k=0.0:0.5", "--trials", "1", "--out", str(out)])
    assert first.exit_code == 0, first.output
    other = CliRunner().invoke(cli, ["tune", "--tracker", "siamrpn", "--dataset", "synthetic-val",
                                     "--sequences", "synth-000-occlusion", "--space",
                                     "penalty_k=0.0:0.9", "--trials", "2", "--out", str(out),
                                     "--study", "siamrpn-synthetic-val-auc"])
    assert other.exit_code != 0 and "made with other settings (space differ)" in other.output


def test_a_failing_trial_is_recorded_with_its_error(tmp_path: Path) -> None:
    # instance_size 256 does not fit the network's stride: that trial's run fails
    result = CliRunner().invoke(cli, ["tune", "--tracker", "siamrpn", "--dataset", "synthetic-val",
                                      "--sequences", "synth-000-occlusion", "--space",
                                      "instance_size=255,256", "--sampler", "grid", "--trials",
                                      "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "failed: SiambenchError: instance_size 256 must exceed exemplar_size" in result.output
    table = pd.read_csv(tmp_path / "trials.csv").set_index("instance_size")
    assert table.loc[256, "state"] == "fail" and "must exceed" in table.loc[256, "error"]
    assert table.loc[255, "state"] == "complete"
    assert yaml.safe_load((tmp_path / "best.yaml").read_text())["params"]["instance_size"] == 255
