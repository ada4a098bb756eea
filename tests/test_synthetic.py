"""Tests of the synthetic benchmark generator and its OTB / VOT / GOT-10k writers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from siambench.cli import cli
from siambench.datasets import load_dataset, synthetic
from siambench.datasets.synthetic import (
    GENERATOR_VERSION,
    MANIFEST,
    OTB_ATTRIBUTES,
    SPLITS,
    TEST_SEED,
    TRAIN_SEED,
    SplitSpec,
    generate_sequence,
    write_benchmark,
    write_got10k_sequence,
    write_otb_sequence,
    write_vot_sequence,
)
from siambench.errors import SiambenchError
from siambench.textio import read_number_rows


@pytest.fixture(scope="module")
def test_split() -> list[synthetic.SyntheticSequence]:
    """The default test split, in memory (20 x 100 frames, about 2 s)."""
    spec = SPLITS["test"]
    return [generate_sequence(spec.seed, index, spec.frames) for index in range(spec.sequences)]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


# -- determinism and splits --------------------------------------------------------------------------

def test_same_seed_gives_identical_sequence_and_files(tmp_path: Path) -> None:
    a, b = generate_sequence(5, 3, frames=8), generate_sequence(5, 3, frames=8)
    assert a.name == b.name == "synth-003-fast-motion"
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.polygons, b.polygons)
    assert a.attributes == b.attributes
    write_otb_sequence(tmp_path / "a", a)
    write_otb_sequence(tmp_path / "b", b)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                     if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*")
                     if p.is_file())
    assert files_a == files_b and len(files_a) >= 8 + 3
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_different_seed_or_index_differs() -> None:
    base = generate_sequence(0, 1, frames=4)
    other_seed = generate_sequence(1, 1, frames=4)
    other_index = generate_sequence(0, 2, frames=4)
    assert not np.array_equal(base.frames, other_seed.frames)
    assert not np.array_equal(base.boxes, other_seed.boxes)
    assert not np.array_equal(base.frames[0], other_index.frames[0])


def test_splits_are_disjoint_by_seed() -> None:
    assert TEST_SEED != TRAIN_SEED
    assert SPLITS["test"].seed == TEST_SEED and SPLITS["train"].seed == TRAIN_SEED
    assert len({spec.seed for spec in SPLITS.values()}) == len(SPLITS)   # disjoint splits
    assert (SPLITS["test"].sequences, SPLITS["test"].frames) == (20, 100)
    assert SPLITS["train"].sequences > SPLITS["test"].sequences
    # the same index in the two splits is a different sequence
    test0, train0 = generate_sequence(TEST_SEED, 0, 3), generate_sequence(TRAIN_SEED, 0, 3)
    assert not np.array_equal(test0.frames[0], train0.frames[0])


# -- the default test split as a benchmark ----------------------------------------------------------

def test_every_attribute_appears_several_times(test_split) -> None:
    counts = {code: sum(code in seq.attributes for seq in test_split) for code in OTB_ATTRIBUTES}
    assert all(count >= 2 for count in counts.values()), counts
    assert all(seq.attributes for seq in test_split)
    assert len({seq.name for seq in test_split}) == 20
    assert test_split[7].name == "synth-007-low-resolution"


def test_identity_tracker_scores_low(test_split) -> None:
    ious = [_iou(np.repeat(seq.boxes[:1], len(seq), axis=0), seq.boxes) for seq in test_split]
    mean_iou = float(np.mean([iou.mean() for iou in ious]))
    thresholds = np.linspace(0, 1, 21)
    auc = float(np.mean([np.mean([(iou > t).mean() for t in thresholds]) for iou in ious]))
    assert mean_iou < 0.3, mean_iou
    assert auc < 0.3, auc
    # difficulty varies between sequences
    per_sequence = [iou.mean() for iou in ious]
    assert max(per_sequence) - min(per_sequence) > 0.15


def test_first_frame_is_clean(test_split) -> None:
    for seq in test_split:
        assert seq.visible[0] == 1.0 and seq.cover[0] == 8 and not seq.absent[0], seq.name
        assert seq.boxes[0, 2] >= 8 and seq.boxes[0, 3] >= 8


def test_absent_frames_have_cover_zero_and_flags_agree(test_split) -> None:
    some_absent = False
    for seq in test_split:
        assert np.array_equal(seq.cover == 0, seq.absent), seq.name
        assert np.all((seq.cover >= 0) & (seq.cover <= 8))
        assert np.all(seq.cover[seq.visible >= 1.0] == 8)
        assert np.all(seq.out_of_view <= seq.absent)
        assert np.all(seq.cut_by_image[seq.out_of_view])
        some_absent |= bool(seq.absent.any())
        assert set(seq.tags) == set(synthetic.VOT_TAGS)
        assert all(len(values) == len(seq) for values in seq.tags.values())
    assert some_absent


def test_vot_tags_follow_the_design(test_split) -> None:
    for seq in test_split:
        if "IV" not in seq.attributes:
            assert not seq.tags["illum_change"].any(), seq.name
        assert np.array_equal(seq.tags["occlusion"], seq.occlusion >= 0.1)
    moving = [bool(seq.tags["camera_motion"].any()) for seq in test_split]
    assert any(moving) and not all(moving)  # some cameras pan/zoom, some stand still
    assert sum(seq.tags["motion_change"].any() for seq in test_split) >= 10


# -- geometry ----------------------------------------------------------------------------------------

def test_polygons_are_rotated_rectangles_with_bbox_ground_truth(test_split) -> None:
    for seq in test_split[:6]:
        pts = seq.polygons.reshape(-1, 4, 2)
        x, y = pts[..., 0], pts[..., 1]
        area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y, axis=1))
        np.testing.assert_allclose(area, seq.rotated[:, 2] * seq.rotated[:, 3], rtol=1e-9)
        side1, side2 = pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 1]
        np.testing.assert_allclose(np.sum(side1 * side2, axis=1), 0, atol=1e-6)
        np.testing.assert_allclose(np.hypot(*side1.T), seq.rotated[:, 2], rtol=1e-9)
        assert np.array_equal(seq.boxes[:, 0], x.min(1))
        assert np.array_equal(seq.boxes[:, 2], x.max(1) - x.min(1))
        assert np.array_equal(seq.boxes[:, 3], y.max(1) - y.min(1))


@pytest.mark.parametrize("seed,index", [(0, 5), (0, 0), (3, 8)])
def test_ground_truth_covers_the_rendered_target(seed: int, index: int) -> None:
    seq = generate_sequence(seed, index, frames=30, with_masks=True)
    height, width = seq.masks.shape[1:]
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    for i in range(len(seq)):
        mask = seq.masks[i] > 0.5
        if not mask.any():
            continue
        poly = seq.polygons[i].reshape(4, 2).astype(np.float32)
        for px, py in zip(cols[mask][::7], rows[mask][::7]):
            assert cv2.pointPolygonTest(poly, (float(px), float(py)), True) > -1.0, (i, px, py)
        if seq.in_view[i] == 1.0:
            x, y, w, h = seq.boxes[i]
            ys, xs = np.nonzero(mask)
            assert xs.min() >= np.floor(x) - 1 and xs.max() + 1 <= np.ceil(x + w) + 1
            assert ys.min() >= np.floor(y) - 1 and ys.max() + 1 <= np.ceil(y + h) + 1
            # the silhouette touches each side of its rectangle: the mask fills the box's extent
            # along the rectangle's axes, so its area is a sizeable share of w * h
            assert seq.masks[i].sum() >= 0.7 * seq.rotated[i, 2] * seq.rotated[i, 3] - 2


def test_rectangle_target_fills_its_box_exactly() -> None:
    seq = generate_sequence(0, 1, frames=10, attributes=("BC",), with_masks=True)
    if seq.object_class != "textured rect":  # shape is random: find a rect-shaped one
        seq = next(s for s in (generate_sequence(0, k, 10, attributes=("BC",), with_masks=True)
                               for k in range(2, 40)) if s.object_class == "textured rect")
    for i in range(len(seq)):
        if seq.in_view[i] == 1.0:
            np.testing.assert_allclose(seq.masks[i].sum(), seq.rotated[i, 2] * seq.rotated[i, 3],
                                       rtol=0.02)
            # a rectangle's corners are in its silhouette: its bounding box is the ground truth
            ys, xs = np.nonzero(seq.masks[i] > 0.5)
            x, y, w, h = seq.boxes[i]
            assert abs(xs.min() - x) <= 1 and abs(xs.max() + 1 - (x + w)) <= 1
            assert abs(ys.min() - y) <= 1 and abs(ys.max() + 1 - (y + h)) <= 1


def test_requested_attributes_are_built_in() -> None:
    seq = generate_sequence(2, 0, frames=60, attributes=("OCC", "IV"))
    assert seq.theme == "occlusion" and seq.name == "synth-000-occlusion"
    assert "IV" in seq.attributes
    assert seq.tags["illum_change"].any()
    with pytest.raises(SiambenchError, match="XX"):
        generate_sequence(0, 0, frames=3, attributes=("XX",))
    with pytest.raises(SiambenchError, match="at least 2 frames"):
        generate_sequence(0, 0, frames=1)


# -- writers -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small() -> synthetic.SyntheticSequence:
    return generate_sequence(0, 0, frames=12)


def test_otb_writer(tmp_path: Path, small) -> None:
    folder = write_otb_sequence(tmp_path, small)
    assert folder == tmp_path / "synth-000-occlusion"
    images = sorted((folder / "img").iterdir())
    assert [p.name for p in images[:2]] == ["0001.jpg", "0002.jpg"] and len(images) == 12
    gt = read_number_rows(folder / "groundtruth_rect.txt")
    assert gt.shape == (12, 4)
    assert np.array_equal(gt, small.boxes + [1, 1, 0, 0])  # repr: exact round trip
    first = (folder / "groundtruth_rect.txt").read_text().splitlines()[0].split(",")
    assert [float(v) for v in first] == list(small.boxes[0] + [1, 1, 0, 0])
    assert (folder / "attrs.txt").read_text() == ", ".join(small.attributes)
    assert len((folder / "cover.label").read_text().splitlines()) == 12
    frame = cv2.cvtColor(cv2.imread(str(images[0])), cv2.COLOR_BGR2RGB)
    assert frame.shape == (240, 320, 3)
    assert np.abs(frame.astype(int) - small.frames[0]).mean() < 4  # JPEG of the same frame


def test_vot_writer(tmp_path: Path, small) -> None:
    folder = write_vot_sequence(tmp_path, small)
    assert (folder / "color" / "00000001.jpg").is_file()
    assert len(list((folder / "color").iterdir())) == 12
    polys = read_number_rows(folder / "groundtruth.txt", (8,))
    assert polys.shape == (12, 8) and np.array_equal(polys, small.polygons)  # 0-based
    assert (folder / "sequence").read_text().splitlines() == [
        "channels.color=color/%08d.jpg", "format=default", "fps=30", "name=synth-000-occlusion"]
    for tag in synthetic.VOT_TAGS:
        path = folder / f"{tag}.tag"
        assert path.is_file() == bool(small.tags[tag].any()), tag
        if path.is_file():
            lines = path.read_text().splitlines()
            assert lines == [str(int(v)) for v in small.tags[tag]]
    assert not (folder / "illum_change.tag").exists()  # no IV in this sequence


def test_got10k_writer(tmp_path: Path, small) -> None:
    folder = write_got10k_sequence(tmp_path, small)
    assert len(list(folder.glob("*.jpg"))) == 12 and (folder / "00000012.jpg").is_file()
    gt = read_number_rows(folder / "groundtruth.txt")
    assert np.array_equal(gt, small.boxes)
    for label in ("absence", "cover", "cut_by_image"):
        assert len((folder / f"{label}.label").read_text().splitlines()) == 12
    meta = (folder / "meta_info.ini").read_text().splitlines()
    assert meta[0] == "[METAINFO]"
    values = dict(line.split(": ", 1) for line in meta[1:])
    assert values["resolution"] == "(320, 240)"
    assert values["object_class"].startswith("textured ")
    assert values["motion_class"] == "occlusion"


def test_benchmark_layouts_read_by_the_real_loaders(tmp_path: Path) -> None:
    from siambench.datasets import got10k, otb, vot

    otb_root = write_benchmark(tmp_path / "otb", "otb", sequences=3, frames=6, seed=4)
    ds = otb.load_folder(otb_root, "synth")
    assert ds.names == ["synth-000-occlusion", "synth-001-distractors", "synth-002-illumination"]
    assert ds[1].groundtruth.shape == (6, 4) and len(ds[1].frame_paths) == 6
    assert ds[0].attributes == generate_sequence(4, 0, 6).attributes

    vot_root = write_benchmark(tmp_path / "vot", "vot", sequences=2, frames=6, seed=4)
    assert (vot_root / "list.txt").read_text() == "synth-000-occlusion\nsynth-001-distractors\n"
    vds = vot.load_sequence_folder(vot_root, "vot2018")
    assert vds[0].groundtruth.shape == (6, 8) and len(vds[0].frame_paths) == 6
    # VOT ground truth has origin 0 (registry): the written polygons are the 0-based ones
    assert np.array_equal(vds[0].groundtruth, generate_sequence(4, 0, 6).polygons)
    assert set(vds[0].tags) >= set(synthetic.VOT_TAGS)

    got_root = write_benchmark(tmp_path / "val", "got10k", sequences=2, frames=6, seed=4)
    gds = got10k.load(got_root, "val")
    assert gds[0].groundtruth.shape == (6, 4)
    assert gds[0].image_size == (320, 240)
    assert np.array_equal(gds[0].cover, generate_sequence(4, 0, 6).cover)

    from got10k.datasets import GOT10k  # the official toolkit reads the layout too
    img_files, anno, meta = GOT10k(str(tmp_path), subset="val", return_meta=True)[0]
    assert len(img_files) == 6 and anno.shape == (6, 4)
    assert meta["resolution"] == "(320, 240)" and meta["cover"].shape == (6,)


def test_manifest_written_last_and_workers_give_same_bytes(tmp_path: Path) -> None:
    one = write_benchmark(tmp_path / "one", "got10k", sequences=2, frames=3, seed=9, workers=1)
    two = write_benchmark(tmp_path / "two", "got10k", sequences=2, frames=3, seed=9, workers=2)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    for rel in files:
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel
    manifest = json.loads((one / MANIFEST).read_text())
    assert manifest["version"] == GENERATOR_VERSION and manifest["seed"] == 9
    assert manifest["split"] == "custom" and len(manifest["entries"]) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_interrupted_generation_leaves_no_set_but_keeps_finished_sequences(tmp_path: Path,
                                                                          monkeypatch) -> None:
    calls = []

    def failing(out, seq, quality):
        calls.append(seq.index)
        if seq.index == 1:
            raise KeyboardInterrupt
        return synthetic.write_otb_sequence(out, seq, quality)

    monkeypatch.setitem(synthetic._WRITERS, "otb", failing)
    with pytest.raises(KeyboardInterrupt):
        write_benchmark(tmp_path / "set", "otb", sequences=3, frames=2, workers=1)
    assert calls == [0, 1]
    # no folder that looks complete; sequence 0 is kept for a rerun (tests/test_synthetic_generation.py)
    assert [p.name for p in tmp_path.iterdir()] == ["set.partial"]
    assert sorted(p.name for p in (tmp_path / "set.partial" / "set").iterdir()) == ["synth-000-occlusion"]


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(SiambenchError, match="refusing to replace"):
        write_benchmark(tmp_path / "mine", "otb", sequences=1, frames=2)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "x"
    with pytest.raises(SiambenchError, match="layout"):
        write_benchmark(tmp_path / "x", "lasot", sequences=1, frames=2)


# -- the registry loader -----------------------------------------------------------------------------

def test_load_generates_once_and_regenerates_on_new_version(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(SPLITS, "test", SplitSpec(TEST_SEED, 3, 5, "synthetic"))
    root = tmp_path / "synthetic"
    ds = load_dataset("synthetic", root)
    assert ds.name == "synthetic" and len(ds) == 3
    manifest = json.loads((root / MANIFEST).read_text())
    assert (manifest["split"], manifest["seed"], manifest["sequences"]) == ("test", 0, 3)
    seq = ds["synth-001-distractors"]
    expected = generate_sequence(TEST_SEED, 1, 5)
    assert seq.attributes == expected.attributes and "BC" in seq.attributes
    assert np.array_equal(seq.groundtruth, expected.boxes + [1, 1, 0, 0])
    assert len(seq) == 5 and seq.image_size == expected.image_size
    assert np.array_equal(seq.cover, expected.cover)
    assert np.array_equal(seq.tags["camera_motion"], expected.tags["camera_motion"])
    assert seq.meta["theme"] == "distractors"

    stamp = (root / MANIFEST).stat().st_mtime_ns
    load_dataset("synthetic", root)  # reused
    assert (root / MANIFEST).stat().st_mtime_ns == stamp

    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", "999")
    ds = load_dataset("synthetic", root)
    assert json.loads((root / MANIFEST).read_text())["version"] == "999"
    assert len(ds) == 3
    assert not [p for p in tmp_path.iterdir() if p.name != "synthetic"]


def test_load_regenerates_a_split_cached_under_its_older_definition(tmp_path: Path,
                                                                     monkeypatch) -> None:
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 2, 3, "synthetic-train"))
    root = tmp_path / "train"
    assert len(load_dataset("synthetic-train", root)) == 2
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 3, 2, "synthetic-train"))
    ds = load_dataset("synthetic-train", root)
    manifest = json.loads((root / MANIFEST).read_text())
    assert (len(ds), len(ds[0].groundtruth)) == (3, 2)
    assert (manifest["split"], manifest["sequences"], manifest["frames"]) == ("train", 3, 2)


def test_load_rejects_the_other_split_and_unknown_variant(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 2, 3, "synthetic-train"))
    root = tmp_path / "train"
    ds = load_dataset("synthetic-train", root)
    assert ds.name == "synthetic-train" and len(ds) == 2
    with pytest.raises(SiambenchError, match="'train' split"):
        synthetic.load(root, "test")
    with pytest.raises(SiambenchError, match="'train' split"):
        synthetic.load(root, "val")
    with pytest.raises(SiambenchError, match="unknown synthetic split"):
        synthetic.load(root, "holdout")


def test_default_cache_location(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(SPLITS, "test", SplitSpec(TEST_SEED, 1, 2, "synthetic"))
    monkeypatch.setenv("SIAMBENCH_CACHE", str(tmp_path / "cache"))
    ds = load_dataset("synthetic")
    assert ds.root == tmp_path / "cache" / "synthetic"
    assert (tmp_path / "cache" / "synthetic" / MANIFEST).is_file()


def test_a_sequence_lost_from_a_generated_set_is_listed_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(SPLITS, "test", SplitSpec(TEST_SEED, 3, 4, "synthetic"))
    root = tmp_path / "synthetic"
    first, second, third = load_dataset("synthetic", root, progress=False).names
    shutil.rmtree(root / second)
    (root / second).write_text("not a folder any more")
    dataset = load_dataset("synthetic", root, progress=False)
    assert dataset.names == [first, third] and dataset.meta["missing"] == [second]
    result = CliRunner().invoke(cli, ["data", "check", "synthetic", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "2 of 3 sequences usable" in result.output and f"missing (1): {second}" in result.output
