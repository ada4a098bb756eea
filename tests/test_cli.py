"""The CLI through click's runner: help, version, data list/check/synth and error handling."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from siambench import __version__
from siambench.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_help(runner):
    paths = list(_commands(cli))
    assert ("data", "check") in paths and ("data", "synth") in paths
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output


def test_data_list_names_every_dataset_and_where_it_is_looked_for(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SIAMBENCH_DATA", str(tmp_path))
    (tmp_path / "VOT2018").mkdir()
    result = runner.invoke(cli, ["data", "list"])
    assert result.exit_code == 0
    for name in ["synthetic", "otb100", "otb2013", "otb50", "vot2016", "vot2019", "got10k-val",
                 "lasot", "uav123", "uav20l", "uav123-10fps"]:
        assert f"\n{name}" in "\n" + result.output
    assert f"found at {tmp_path / 'VOT2018'}" in result.output
    assert str(tmp_path / "OTB100") in result.output


def test_unknown_dataset_is_one_clean_error(runner):
    result = runner.invoke(cli, ["data", "check", "otb99"])
    assert result.exit_code == 1
    assert "unknown dataset 'otb99'" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_missing_dataset_names_places_and_layout(runner, tmp_path):
    result = runner.invoke(cli, ["data", "check", "vot2018", "--root", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert str(tmp_path / "nope") in result.output and "list.txt" in result.output
    assert "Traceback" not in result.output


def test_data_check_synthetic_generates_and_passes(runner):
    result = runner.invoke(cli, ["data", "check", "synthetic", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "20 of 20 sequences usable (2000 frames)" in result.output


@pytest.mark.parametrize("fmt, name", [("otb", "otb100"), ("vot", "vot2018"),
                                       ("got10k", "got10k-val")])
def test_data_synth_writes_a_layout_that_data_check_reads(runner, tmp_path, fmt, name):
    out = tmp_path / fmt
    result = runner.invoke(cli, ["data", "synth", "--out", str(out), "--format", fmt,
                                 "--sequences", "2", "--frames", "5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert f"wrote 2 sequences x 5 frames ({fmt} layout)" in result.output
    if fmt == "otb":  # synthetic names are not OTB-100 names: the generic OTB reader reads them
        result = runner.invoke(cli, ["data", "check", "synthetic", "--root", str(out)])
        assert "2 of 2 sequences usable (10 frames)" in result.output, result.output
        return
    result = runner.invoke(cli, ["data", "check", name, "--root", str(out), "--decode", "all"])
    assert result.exit_code == 0, result.output
    assert "2 of 2 sequences usable (10 frames)" in result.output


def test_data_check_reports_malformed_sequences_and_exits_1_when_none_usable(runner, tmp_path):
    out = tmp_path / "vot"
    runner.invoke(cli, ["data", "synth", "--out", str(out), "--format", "vot", "--sequences", "2",
                        "--frames", "4"])
    first, second = sorted(p for p in out.iterdir() if p.is_dir())
    (first / "groundtruth.txt").write_text("1,2,3\n")
    (second / "color" / "00000001.jpg").write_bytes(b"broken")
    result = runner.invoke(cli, ["data", "check", "vot2018", "--root", str(out)])
    assert result.exit_code == 1
    assert "0 of 2 sequences usable" in result.output
    assert f"malformed: {first.name}" in result.output
    assert "groundtruth.txt, line 1: 3 values, expected 4 or 8 numbers" in result.output
    assert "00000001.jpg: cannot decode the image" in result.output
