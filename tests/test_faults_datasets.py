"""Dataset fault catalogue (issue 11): every damaged dataset a user can point siambench at, with
the one-line message it gives, through ``siambench data check`` (CliRunner) and the loaders.

Inputs are the synthetic benchmark in the OTB, VOT and GOT-10k layouts (``write_benchmark``, 2
sequences of 5 frames), copied and then damaged. ``data check`` exits 0 when at least one
sequence is usable (the damaged one is listed under ``malformed:`` with its problem), 1 when the
dataset cannot be loaded at all (``Error: ...``); never with a traceback.

The end of the file fuzzes (bounded hypothesis) the dataset-side parsers that
``siambench.textio`` does not cover: VOT ``sequence`` files, GOT-10k ``meta_info.ini``
and resolutions, pysot-style JSON (VOT and OTB), ``list.txt`` files, OTB ``attrs.txt`` and LaSOT
flag files. Any input gives a result or a :class:`SiambenchError`, never another exception.
(The OTB, UAV and LaSOT frame-range tables are shipped manifests, not user input.)
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siambench.cli import cli
from siambench.datasets import got10k, lasot, load_dataset, otb, uav, vot
from siambench.datasets.synthetic import write_benchmark
from siambench.errors import SiambenchError

DATASETS = {"otb": "synthetic", "vot": "vot2018", "got10k": "got10k-val"}
FRAMES = {"otb": "img/0003.jpg", "vot": "color/00000003.jpg", "got10k": "00000003.jpg"}
GT_FILES = {"otb": "groundtruth_rect.txt", "vot": "groundtruth.txt", "got10k": "groundtruth.txt"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pristine")
    return {fmt: write_benchmark(base / fmt, fmt, sequences=2, frames=5, size=(64, 48),
                                 workers=1, progress=False) for fmt in DATASETS}


def _vot_json(root: Path, name: str = "VOT2018.json") -> Path:
    """A pysot-style json of the VOT layout at ``root`` (image names relative to ``root``)."""
    table = {}
    for sequence in load_dataset("vot2018", root):
        count = len(sequence)
        table[sequence.name] = {
            "video_dir": sequence.name, "init_rect": [1, 1, 5, 5],
            "img_names": [f"{sequence.name}/color/{i:08d}.jpg" for i in range(1, count + 1)],
            "gt_rect": sequence.groundtruth.tolist(), "occlusion": [0] * count}
    path = root / name
    path.write_text(json.dumps(table))
    return path


# -- the damages: each changes the copy at ``root`` (its first sequence is ``seq``) and returns the
# root to check when that is not ``root`` itself -----------------------------------------------

Damage = Callable[[Path, Path, str], "Path | None"]


def _frame(seq: Path, fmt: str) -> Path:
    return seq / FRAMES[fmt]


def missing_frame(root, seq, fmt):
    _frame(seq, fmt).unlink()


def corrupt_frame(root, seq, fmt):
    _frame(seq, fmt).write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")


def zero_byte_frame(root, seq, fmt):
    _frame(seq, fmt).write_bytes(b"")


def _without_labels(seq: Path, fmt: str) -> None:
    if fmt == "vot":  # tag files would be reported first, as longer than the ground truth
        for tag in seq.glob("*.tag"):
            tag.unlink()


def gt_short(root, seq, fmt):
    _without_labels(seq, fmt)
    path = seq / GT_FILES[fmt]
    path.write_text("".join(path.read_text().splitlines(True)[:-1]))


def gt_long(root, seq, fmt):
    _without_labels(seq, fmt)
    path = seq / GT_FILES[fmt]
    path.write_text(path.read_text() + path.read_text().splitlines(True)[-1])


def gt_not_numbers(root, seq, fmt):
    path = seq / GT_FILES[fmt]
    lines = path.read_text().splitlines(True)
    path.write_text(lines[0] + "x,1,2,3\n" + "".join(lines[2:]))


def frame_link_loop(root, seq, fmt):
    frame = _frame(seq, fmt)
    frame.unlink()
    frame.symlink_to(frame.name)


def frames_folder_link_loop(root, seq, fmt):
    folder = _frame(seq, fmt).parent
    shutil.rmtree(folder)
    folder.symlink_to(folder.name)


def link_cycle_inside(root, seq, fmt):
    (_frame(seq, fmt).parent / "up").symlink_to("..")  # harmless: loaders do not recurse


def sequence_link_loop(root, seq, fmt):
    shutil.rmtree(seq)
    seq.symlink_to(seq.name)


def sequence_broken_link(root, seq, fmt):
    shutil.rmtree(seq)
    seq.symlink_to(root / "moved-away")


def sequence_is_a_file(root, seq, fmt):
    shutil.rmtree(seq)
    seq.write_text("not a folder\n")


def sequence_file_malformed(root, seq, fmt):
    (seq / "sequence").write_text("channels.color=color/%08d.jpg\nthis line has no equals sign\n")


def list_empty(root, seq, fmt):
    (root / "list.txt").write_text("\n\n")


def list_wrong_names(root, seq, fmt):
    (root / "list.txt").write_text("nothing-here\n../elsewhere\n")


def list_one_unknown(root, seq, fmt):
    with (root / "list.txt").open("a") as stream:
        stream.write("not-a-sequence\n")


def list_is_a_folder(root, seq, fmt):
    (root / "list.txt").unlink()
    (root / "list.txt").mkdir()


def list_binary(root, seq, fmt):
    (root / "list.txt").write_bytes(b"\x00\x01\x02binary\x00")


def root_is_a_file(root, seq, fmt):
    return _frame(seq, fmt)


def root_is_a_text_file(root, seq, fmt):
    return root / "list.txt"


def root_link_loop(root, seq, fmt):
    loop = root.parent / "loop"
    loop.symlink_to("loop")
    return loop


def root_broken_link(root, seq, fmt):
    link = root.parent / "link"
    link.symlink_to(root.parent / "unmounted")
    return link


def root_is_the_json(root, seq, fmt):
    return _vot_json(root)


def root_is_another_years_json(root, seq, fmt):
    return _vot_json(root, "VOT2016.json")


# (id, layout, damage, expected text (regex; {seq}: the damaged sequence's folder, {root}: the
# root checked), exit code of `data check`)
SEQ_OK = r"2 of 2 sequences usable"
ONE_OK = r"1 of 2 sequences usable"
CATALOGUE: list[tuple[str, str, Damage, str, int]] = [
    # frames
    ("otb-missing-frame", "otb", missing_frame,
     r"^    {name}: 5 ground-truth rows for 4 frames \(missing from the frame numbering: "
     r"0003\.jpg\)$", 0),
    ("vot-missing-frame", "vot", missing_frame,
     r"^    {name}: 1 of 5 frames missing, the first is {seq}/color/00000003\.jpg$", 0),
    ("got10k-missing-frame", "got10k", missing_frame,
     r"^    {name}: 5 ground-truth rows for 4 frames \(missing from the frame numbering: "
     r"00000003\.jpg\)$", 0),
    *[(f"{fmt}-corrupt-frame", fmt, corrupt_frame,
       rf"^    {{seq}}/{re.escape(FRAMES[fmt])}: cannot decode the image \(the file is corrupt or "
       r"not an image\); replace it with an intact copy of the benchmark's frame$", 0)
      for fmt in DATASETS],
    *[(f"{fmt}-zero-byte-frame", fmt, zero_byte_frame,
       rf"^    {{seq}}/{re.escape(FRAMES[fmt])}: cannot decode the image \(the file is empty\)", 0)
      for fmt in DATASETS],
    *[(f"{fmt}-frame-link-loop", fmt, frame_link_loop,
       rf"^    {{name}}: 1 of 5 frames missing, the first is {{seq}}/{re.escape(FRAMES[fmt])} "
       r"\(a symbolic link loop, expected an image file\)$", 0) for fmt in DATASETS],
    ("otb-frames-folder-link-loop", "otb", frames_folder_link_loop,
     r"^    {seq}/img: is a symbolic link loop, expected the folder of frames$", 0),
    ("vot-frames-folder-link-loop", "vot", frames_folder_link_loop,
     r"^    {name}: no images: {seq}/color is a symbolic link loop, expected the folder of "
     r"frames$", 0),
    *[(f"{fmt}-link-cycle-inside", fmt, link_cycle_inside, SEQ_OK, 0) for fmt in DATASETS],
    # ground truth
    ("otb-gt-short", "otb", gt_short, r"^    {name}: 4 ground-truth rows for 5 frames$", 0),
    ("vot-gt-short", "vot", gt_short, r"^    {name}: 4 ground-truth rows for 5 frames$", 0),
    ("got10k-gt-short", "got10k", gt_short,
     r"^    {seq}/absence\.label: 5 lines for 4 ground-truth rows \(expected one label per "
     r"frame\)$", 0),
    ("otb-gt-long", "otb", gt_long, r"^    {name}: 6 ground-truth rows for 5 frames$", 0),
    ("vot-gt-long", "vot", gt_long,
     r"^    {name}: 1 of 6 frames missing, the first is {seq}/color/00000006\.jpg$", 0),
    ("got10k-gt-long", "got10k", gt_long,
     r"^    {seq}/absence\.label: 5 lines for 6 ground-truth rows", 0),
    *[(f"{fmt}-gt-not-numbers", fmt, gt_not_numbers,
       rf"^    {{seq}}/{GT_FILES[fmt]}, line 2: non-numeric value 'x'", 0) for fmt in DATASETS],
    # sequence folders
    ("otb-sequence-link-loop", "otb", sequence_link_loop,
     r"^    {seq}: is a symbolic link loop, expected a sequence folder$", 0),
    ("otb-sequence-broken-link", "otb", sequence_broken_link,
     r"^    {seq}: is a broken symbolic link \(to \S+/moved-away\), expected a sequence "
     r"folder$", 0),
    *[(f"{fmt}-sequence-link-loop", fmt, sequence_link_loop,
       r"^    {seq}: is a symbolic link loop, expected the sequence folder \(listed in "
       r"list\.txt\)$", 0) for fmt in ("vot", "got10k")],
    *[(f"{fmt}-sequence-broken-link", fmt, sequence_broken_link,
       r"^    {seq}: is a broken symbolic link \(to \S+/moved-away\), expected the sequence "
       r"folder \(listed in list\.txt\)$", 0) for fmt in ("vot", "got10k")],
    *[(f"{fmt}-sequence-is-a-file", fmt, sequence_is_a_file,
       r"^    {seq}: is a file, expected the sequence folder \(listed in list\.txt\)$", 0)
      for fmt in ("vot", "got10k")],
    ("vot-sequence-file-malformed", "vot", sequence_file_malformed,
     r"^    {seq}/sequence, line 2: 'this line has no equals sign' is not a 'key=value' line", 0),
    # list files
    *[(f"{fmt}-list-empty", fmt, list_empty,
       r"^Error: {root}/list\.txt: empty sequence list \(expected one sequence folder name per "
       r"line\)$", 1) for fmt in ("vot", "got10k")],
    *[(f"{fmt}-list-wrong-names", fmt, list_wrong_names,
       r"^Error: {root}/list\.txt: none of the 2 sequences it lists has a folder in {root} "
       r"\(first: 'nothing-here'\)\. Expected folder structure: ", 1) for fmt in ("vot", "got10k")],
    *[(f"{fmt}-list-one-unknown", fmt, list_one_unknown, r"^missing \(1\): not-a-sequence$", 0)
      for fmt in ("vot", "got10k")],
    *[(f"{fmt}-list-is-a-folder", fmt, list_is_a_folder,
       r"^Error: {root}/list\.txt: is a folder, expected the text file of sequence names", 1)
      for fmt in ("vot", "got10k")],
    *[(f"{fmt}-list-binary", fmt, list_binary, r"^Error: {root}/list\.txt: not a text file", 1)
      for fmt in ("vot", "got10k")],
    # roots
    *[(f"{fmt}-root-is-a-frame", fmt, root_is_a_file,
       r"^Error: {root} is a file, expected a folder" + (r" \(or a \.json annotation file\)"
                                                         if fmt == "vot" else "")
       + rf": the root of dataset {DATASETS[fmt]}\. Expected folder structure: ", 1) for fmt in DATASETS],
    ("vot-root-is-list-txt", "vot", root_is_a_text_file,
     r"^Error: {root} is a file, expected a folder \(or a \.json annotation file\)", 1),
    *[(f"{fmt}-root-link-loop", fmt, root_link_loop,
       r"^Error: {root} is a symbolic link loop, expected a folder", 1) for fmt in DATASETS],
    *[(f"{fmt}-root-broken-link", fmt, root_broken_link,
       r"^Error: {root} is a broken symbolic link \(to \S+/unmounted\), expected a folder", 1)
      for fmt in DATASETS],
    ("vot-root-is-the-json", "vot", root_is_the_json,
     r"^vot2018 at {root}: 2 of 2 sequences usable \(10 frames\)$", 0),
    ("vot-root-is-another-years-json", "vot", root_is_another_years_json,
     r"^Error: {root} is the VOT2016 annotation file, but the dataset asked for is vot2018: pass "
     r"--dataset vot2016, or the VOT2018\.json$", 1),
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[case[0] for case in CATALOGUE])
def test_data_check_catalogue(tmp_path: Path, pristine: dict[str, Path],
                              case: tuple[str, str, Damage, str, int]) -> None:
    _, fmt, damage, expected, code = case
    root = tmp_path / fmt
    shutil.copytree(pristine[fmt], root, symlinks=True)
    seq = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())[0]
    checked = damage(root, seq, fmt) or root
    result = CliRunner().invoke(cli, ["data", "check", DATASETS[fmt], "--root", str(checked),
                                      "--decode", "all"])
    assert "Traceback" not in result.output and isinstance(result.exception, (SystemExit,
                                                                                type(None)))
    assert result.exit_code == code, result.output
    pattern = expected.format(seq=re.escape(str(seq)), root=re.escape(str(checked)),
                              name=re.escape(seq.name))
    assert any(re.search(pattern, line) for line in result.output.splitlines()), \
        f"{pattern!r} not in:\n{result.output}"
    if code == 0 and "usable" not in expected and "missing" not in expected:
        assert ONE_OK in result.output  # the other sequence is still usable


def test_loaders_raise_what_data_check_prints(tmp_path: Path, pristine: dict[str, Path]) -> None:
    """The same messages come from the API: loading raises, using the sequence raises."""
    root = tmp_path / "vot"
    shutil.copytree(pristine["vot"], root)
    seq = sorted(p for p in root.iterdir() if p.is_dir())[0]
    sequence_link_loop(root, seq, "vot")
    dataset = load_dataset("vot2018", root)
    broken = dataset[seq.name]
    assert len(broken) == 0 and not broken.has_frames
    with pytest.raises(SiambenchError, match="is a symbolic link loop, expected the sequence"):
        broken.groundtruth  # noqa: B018
    with pytest.raises(SiambenchError, match=r"is a file, expected a folder"):
        load_dataset("got10k-val", root / "list.txt")
    frame_link_loop(root, sorted(p for p in root.iterdir() if p.is_dir())[-1], "vot")
    with pytest.raises(SiambenchError, match=r"00000003\.jpg: is a symbolic link loop, expected "
                                             r"an image file$"):
        load_dataset("vot2018", root)[-1].frame(2)


def test_lasot_and_uav_links_that_lead_nowhere_are_sequences_with_the_reason(
        tmp_path: Path) -> None:
    lasot_root = tmp_path / "LaSOT"
    (lasot_root / "airplane").mkdir(parents=True)
    (lasot_root / "airplane" / "airplane-1").symlink_to(tmp_path / "unmounted")
    dataset = lasot.load(lasot_root, "test")
    assert dataset.names == ["airplane-1"]
    problems = dataset["airplane-1"].problems()
    assert len(problems) == 1 and re.search(r"airplane-1: is a broken symbolic link \(to "
                                            r"\S+unmounted\), expected the sequence folder$",
                                            problems[0])
    uav_root = tmp_path / "anno"
    uav_root.mkdir()
    (uav_root / "bike1.txt").symlink_to("bike1.txt")
    dataset = uav.load(uav_root, "uav123")
    assert dataset.names == ["bike1"]
    assert dataset["bike1"].problems()[0].endswith(
        "bike1.txt: is a symbolic link loop, expected the annotation file")
    with pytest.raises(SiambenchError, match=r"anno/bike1\.txt is not a folder \(it is a symbolic "
                                             r"link loop\)"):
        uav.load(uav_root / "bike1.txt", "uav123")
    with pytest.raises(SiambenchError, match=r"nowhere is not a folder \(nothing is there\)"):
        lasot.load(tmp_path / "nowhere", "test")


def test_places_looked_at_say_what_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --root: a candidate that exists as the wrong kind is named as such."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "VOT2018").write_text("a file, not the dataset\n")
    if (data / "vot2018").exists():
        pytest.skip("a case-insensitive file system")
    (data / "vot2018").symlink_to("vot2018")
    monkeypatch.setenv("SIAMBENCH_DATA", str(data))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["data", "check", "vot2018"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.splitlines()
    assert f"  - {data / 'VOT2018'} (a file, expected a folder)" in lines
    assert f"  - {data / 'vot2018'} (a symbolic link loop, expected a folder)" in lines
    assert f"  - {tmp_path / 'datasets' / 'VOT2018'}" in lines


# -- roots that are annotation files: data check, run and report ----------------------------------

def _otb_json(root: Path, pristine_otb: Path) -> Path:
    """OTB2015.json naming one synthetic sequence's frames as OTB's Basketball (pysot layout)."""
    seq = sorted(p for p in pristine_otb.iterdir() if p.is_dir())[0]
    shutil.copytree(seq, root / "Basketball")
    gt = [[float(v) for v in re.split(r"[,\s]+", line.strip())]
          for line in (seq / "groundtruth_rect.txt").read_text().splitlines()]
    table = {"Basketball": {"video_dir": "Basketball", "init_rect": gt[0], "gt_rect": gt,
                            "img_names": [f"Basketball/img/{i:04d}.jpg" for i in range(1, 6)],
                            "attr": []}}
    path = root / "OTB2015.json"
    path.write_text(json.dumps(table))
    return path


def test_otb_root_is_the_json(tmp_path: Path, pristine: dict[str, Path]) -> None:
    path = _otb_json(tmp_path, pristine["otb"])
    dataset = load_dataset("otb100", path)
    assert dataset.root == path and dataset.names == ["Basketball"]
    assert dataset["Basketball"].has_frames and len(dataset["Basketball"]) == 5
    result = CliRunner().invoke(cli, ["data", "check", "otb100", "--root", str(path)])
    assert result.exit_code == 0, result.output
    assert f"otb100 at {path}: 1 of 100 sequences usable (5 frames)" in result.output
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    result = CliRunner().invoke(cli, ["data", "check", "otb100", "--root", str(other)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"Error: {other} is a file, expected a folder (or a .json annotation file)" \
        in result.output
    with pytest.raises(SiambenchError, match=r"none of the 100 otb100 sequences is in this JSON"):
        load_dataset("otb100", _vot_json(_copy(pristine["vot"], tmp_path / "vot")))


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_run_and_report_with_a_json_root(tmp_path: Path, pristine: dict[str, Path]) -> None:
    root = _copy(pristine["vot"], tmp_path / "vot")
    path = _vot_json(root)
    (root / "list.txt").unlink()  # only the json describes the dataset now
    results = tmp_path / "results"
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--tracker", "identity", "--dataset", "vot2018",
                                 "--root", str(path), "--results-dir", str(results), "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (results / "vot2018" / "identity" / "baseline").iterdir()) \
        == sorted(load_dataset("vot2018", path).names)
    manifest = json.loads((results / "vot2018" / "identity" / "run.json").read_text())
    assert manifest["dataset"]["root"] == str(path.resolve())
    result = runner.invoke(cli, ["report", "--dataset", "vot2018", "--root", str(path),
                                 "--results-dir", str(results / "vot2018"), "--out",
                                 str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    assert "identity" in result.output and (tmp_path / "reports").is_dir()
    for command in (["run", "--tracker", "identity", "--dataset", "got10k-val"],
                    ["report", "--dataset", "got10k-val", "--results-dir", str(results)]):
        result = runner.invoke(cli, [*command, "--root", str(path)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"Error: {path} is a file, expected a folder: the root of dataset got10k-val" \
            in result.output


# -- fuzzing ------------------------------------------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_TEXT = st.text(alphabet=st.sampled_from(list("abcxyz019%d.=:,;-_/()[]# \t\r\n\\")) | st.characters(),
                max_size=120)


def _use(dataset) -> None:
    """Touch everything a run or a check reads of every sequence."""
    for sequence in dataset:
        try:
            len(sequence)
            sequence.groundtruth  # noqa: B018
            sequence.flags  # noqa: B018
            sequence.frame_paths  # noqa: B018
            sequence.image_size  # noqa: B018
            sequence.meta  # noqa: B018
        except SiambenchError:
            pass
        assert isinstance(sequence.problems(decode="none"), list)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _fresh(base: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=base))


@FUZZ
@given(text=_TEXT, raw=st.binary(max_size=40), as_bytes=st.booleans())
def test_fuzz_vot_sequence_file(fuzz_dir: Path, text: str, raw: bytes, as_bytes: bool) -> None:
    root = _fresh(fuzz_dir)
    seq = root / "s"
    seq.mkdir()
    (seq / "groundtruth.txt").write_text("1,2,3,4\n1,2,3,4\n")
    (seq / "sequence").write_bytes(raw if as_bytes else text.encode("utf-8", "surrogatepass"))
    (root / "list.txt").write_text("s\n")
    try:
        values = vot.read_sequence_file(seq / "sequence")
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
    except SiambenchError:
        pass
    _use(vot.load(root, "vot2018"))


@FUZZ
@given(text=_TEXT, resolution=_TEXT)
def test_fuzz_got10k_meta_info(fuzz_dir: Path, text: str, resolution: str) -> None:
    root = _fresh(fuzz_dir)
    seq = root / "s"
    seq.mkdir()
    (seq / "groundtruth.txt").write_text("1,2,3,4\n")
    for label in ("absence.label", "cut_by_image.label"):
        (seq / label).write_text("0\n")
    (seq / "cover.label").write_text("8\n")
    body = f"[METAINFO]\n{text}\nresolution: {resolution}\n"
    (seq / "meta_info.ini").write_bytes(body.encode("utf-8", "surrogatepass"))
    (root / "list.txt").write_text("s\n")
    try:
        size = got10k.parse_resolution(resolution, seq / "meta_info.ini")
        assert all(isinstance(v, int) and v > 0 for v in size)
    except SiambenchError:
        pass
    _use(got10k.load(root, "val"))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True) | _TEXT,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=25)
_REGION = st.lists(st.floats(-1e6, 1e6) | st.integers(-5, 500) | st.none(), min_size=0,
                   max_size=9)
_ENTRY = st.fixed_dictionaries(
    {}, optional={"gt_rect": st.lists(_REGION, max_size=5) | _JSON,
                  "img_names": st.lists(_TEXT | st.just("s/color/00000001.jpg"), max_size=5) | _JSON,
                  "image_files": st.lists(_TEXT, max_size=5) | _JSON,
                  "video_dir": _TEXT | _JSON, "name": _TEXT | _JSON,
                  "width": _JSON, "height": _JSON, "occlusion": st.lists(_JSON, max_size=6),
                  "camera_motion": _JSON, "init_rect": _JSON, "attr": _JSON})


@FUZZ
@given(table=st.dictionaries(st.sampled_from(["Basketball", "s", "Tiger1", "x"]) | _TEXT,
                             _ENTRY | _JSON, max_size=3) | _JSON,
       raw=st.none() | st.binary(max_size=60))
def test_fuzz_pysot_json(fuzz_dir: Path, table: object, raw: bytes | None) -> None:
    root = _fresh(fuzz_dir)
    (root / "s" / "color").mkdir(parents=True)
    (root / "s" / "color" / "00000001.jpg").write_bytes(b"\xff\xd8 not decoded here")
    data = raw if raw is not None else json.dumps(table).encode()
    for name, load in (("VOT2018.json", lambda p: vot.load(p, "vot2018")),
                       ("OTB2015.json", lambda p: otb.load(p, "otb100"))):
        path = root / name
        path.write_bytes(data)
        for source in (path, root):  # the json itself as the root, and its folder
            try:
                dataset = load(source)
            except SiambenchError:
                continue
            _use(dataset)


@FUZZ
@given(text=_TEXT, raw=st.binary(max_size=40), as_bytes=st.booleans())
def test_fuzz_list_files(fuzz_dir: Path, text: str, raw: bytes, as_bytes: bool) -> None:
    root = _fresh(fuzz_dir)
    for name in ("a", "b"):
        (root / name).mkdir()
    (root / "b" / "groundtruth.txt").write_text("1,2,3,4\n")
    (root / "loop").symlink_to("loop")
    (root / "list.txt").write_bytes(raw if as_bytes else text.encode("utf-8", "surrogatepass"))
    for load in (lambda: vot.load(root, "vot2018"), lambda: got10k.load(root, "val")):
        try:
            dataset = load()
        except SiambenchError:
            continue
        _use(dataset)


@FUZZ
@given(attrs=_TEXT, flags=_TEXT, length=st.integers(0, 6))
def test_fuzz_otb_attrs_and_lasot_flags(fuzz_dir: Path, attrs: str, flags: str,
                                        length: int) -> None:
    root = _fresh(fuzz_dir)
    (root / "s" / "img").mkdir(parents=True)
    (root / "s" / "groundtruth_rect.txt").write_text("1,2,3,4\n")
    (root / "s" / "attrs.txt").write_bytes(attrs.encode("utf-8", "surrogatepass"))
    try:
        dataset = otb.load_folder(root, "x")
        assert all(isinstance(code, str) for code in dataset[0].attributes)
    except SiambenchError:
        pass
    (root / "full_occlusion.txt").write_bytes(flags.encode("utf-8", "surrogatepass"))
    try:
        values = lasot.read_binary_flags(root / "full_occlusion.txt", length)
        assert values.dtype == np.bool_ and values.shape == (length,)
    except SiambenchError:
        pass
