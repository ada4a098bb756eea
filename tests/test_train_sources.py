"""Training sources: the ImageNet VID / DET, YouTube-BB and COCO loaders on constructed layouts,
still-image pairs, --root NAME=PATH, per-dataset frame ranges, the paper/pysot mixes, and a short
training run that mixes constructed VID and COCO folders with the synthetic train split."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.datasets import get_spec, load_dataset
from siambench.datasets.base import Dataset, Sequence
from siambench.errors import DataFormatError, DatasetNotFoundError, SiambenchError
from siambench.train.config import available_configs, resolve_config
from siambench.train.pairs import build_index
from siambench.train.sources import Source, config_sources, parse_roots, parse_source

W, H = 64, 48


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch) -> None:
    """Index caches of these tests go to their own folder (never the user's)."""
    monkeypatch.setenv("SIAMBENCH_CACHE", str(tmp_path / "cache"))


def _image(path: Path, seed: int = 0, size: tuple[int, int] = (W, H)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    ext = ".jpg" if path.suffix.lower() in (".jpg", ".jpeg") else path.suffix
    ok, data = cv2.imencode(ext, frame)
    assert ok
    path.write_bytes(data.tobytes())


def _xml(objects: list[dict], size: tuple[int, int] = (W, H)) -> str:
    parts = [f"<annotation><folder>x</folder><size><width>{size[0]}</width><height>{size[1]}</height>"
             "</size>"]
    for obj in objects:
        extra = "".join(f"<{k}>{obj[k]}</{k}>" for k in ("trackid", "occluded", "generated") if k in obj)
        parts.append(f"<object>{extra}<name>{obj.get('name', 'n01')}</name><bndbox>"
                     f"<xmax>{obj['box'][2]}</xmax><xmin>{obj['box'][0]}</xmin>"
                     f"<ymax>{obj['box'][3]}</ymax><ymin>{obj['box'][1]}</ymin></bndbox></object>")
    return "".join(parts) + "</annotation>"


# ------------------------------------------------------------------------------ layouts

#: VID: video A (train, 4 frames): track 0 in every frame, track 1 in frames 0, 1, 3 (absent in 2,
#: occluded in 1); video B (val, 3 frames): track 0.
VID_A = "ILSVRC2015_train_00000000"
VID_B = "ILSVRC2015_val_00000000"


def make_vid(root: Path) -> Path:
    base = root / "ILSVRC2015"
    a = "train/ILSVRC2015_VID_train_0000/" + VID_A
    b = "val/" + VID_B
    for f in range(4):
        objects = [{"trackid": 0, "box": (10 + f, 5, 29 + f, 24), "occluded": 0, "generated": 0}]
        if f != 2:
            objects.append({"trackid": 1, "box": (30, 20, 49, 39), "occluded": int(f == 1),
                            "generated": 0})
        (base / "Annotations/VID" / a).mkdir(parents=True, exist_ok=True)
        (base / "Annotations/VID" / a / f"{f:06d}.xml").write_text(_xml(objects))
        _image(base / "Data/VID" / a / f"{f:06d}.JPEG", f)
    for f in range(3):
        (base / "Annotations/VID" / b).mkdir(parents=True, exist_ok=True)
        (base / "Annotations/VID" / b / f"{f:06d}.xml").write_text(
            _xml([{"trackid": 0, "box": (0, 0, 15, 11)}]))
        _image(base / "Data/VID" / b / f"{f:06d}.JPEG", 10 + f)
    return root


def make_coco(root: Path) -> Path:
    """2 images: 3 annotations of image 1 (one a crowd, one 0.5 px wide), 1 of image 2."""
    data = {
        "images": [{"id": 1, "file_name": "000000000001.jpg", "width": W, "height": H},
                   {"id": 2, "file_name": "000000000002.jpg", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        "annotations": [
            {"id": 11, "image_id": 1, "category_id": 1, "bbox": [4.5, 6.0, 20.0, 10.25], "iscrowd": 0},
            {"id": 12, "image_id": 1, "category_id": 1, "bbox": [0, 0, 60, 40], "iscrowd": 1},
            {"id": 13, "image_id": 1, "category_id": 3, "bbox": [1, 1, 0.5, 9], "iscrowd": 0},
            {"id": 21, "image_id": 2, "category_id": 3, "bbox": [30.0, 10.0, 16.0, 24.0], "iscrowd": 0},
        ]}
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(data))
    _image(root / "train2017" / "000000000001.jpg", 1)
    _image(root / "train2017" / "000000000002.jpg", 2)
    return root


YT_ID = "aB-c_d9XyZ0"


def make_ytbb(root: Path) -> Path:
    """Track (YT_ID, class 0, object 0): 3 rows, the last absent; track (YT_ID, 3, 1): 2 rows,
    the second frame not downloaded; track (gone, 0, 0): nothing downloaded."""
    rows = [
        f"{YT_ID},0,0,person,0,present,0.25,0.75,0.5,1.0",
        f"{YT_ID},1000,0,person,0,present,0.125,0.5,0.25,0.75",
        f"{YT_ID},2000,0,person,0,absent,-1,-1,-1,-1",
        f"{YT_ID},0,3,dog,1,present,0.0,0.5,0.0,0.5",
        f"{YT_ID},1000,3,dog,1,present,0.0,0.5,0.0,0.5",
        "gone0000000,0,0,person,0,present,0.1,0.2,0.1,0.2",
    ]
    root.mkdir(parents=True)
    (root / "yt_bb_detection_train.csv").write_text("\n".join(rows) + "\n")
    frames = root / "yt_bb_detection_train"
    for t in (0, 1000, 2000):
        _image(frames / "0" / f"{YT_ID}_{t}_0_0.jpg", t)
    _image(frames / "3" / f"{YT_ID}_0_3_1.jpg", 5)
    return root


def make_det(root: Path) -> Path:
    base = root / "ILSVRC2015"
    files = {
        "ILSVRC2013_train/n01440764/n01440764_1": [{"box": (0, 2, 63, 40), "name": "n01440764"},
                                                   {"box": (5, 5, 14, 24), "name": "n01440764"}],
        "ILSVRC2014_train_0000/ILSVRC2014_train_00000001": [{"box": (20, 10, 39, 19), "name": "n02"}],
        "ILSVRC2014_train_0000/ILSVRC2014_train_00000002": [],
    }
    for i, (relative, objects) in enumerate(files.items()):
        xml = base / "Annotations/DET/train" / f"{relative}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(_xml(objects))
        _image(base / "Data/DET/train" / f"{relative}.JPEG", i)
    return root


# ------------------------------------------------------------------------------ loaders

def test_imagenet_vid_tracks_boxes_and_absent_frames(tmp_path: Path) -> None:
    dataset = load_dataset("vid", make_vid(tmp_path / "vid"))
    assert dataset.name == "imagenet-vid"
    assert dataset.names == [f"{VID_A}-0", f"{VID_A}-1", f"{VID_B}-0"]
    a0, a1, b0 = dataset
    # xmin 10, xmax 29 (inclusive) -> x 10, w 20; frame f shifts by f
    assert np.array_equal(a0.groundtruth, [[10 + f, 5, 20, 20] for f in range(4)])
    assert not a0.absent.any()
    assert a1.absent.tolist() == [False, False, True, False]
    assert np.isnan(a1.groundtruth[2]).all() and np.array_equal(a1.groundtruth[3], [30, 20, 20, 20])
    assert a1.tags["occluded"].tolist() == [False, True, False, False]
    assert np.array_equal(b0.groundtruth, [[0, 0, 16, 12]] * 3) and len(b0) == 3
    assert a0.image_size == (W, H) and a0.meta["class"] == "n01"
    assert [p.name for p in a1.frame_paths] == [f"{f:06d}.JPEG" for f in range(4)]
    assert a1.problems(decode="all") == []
    assert get_spec("ilsvrc2015-vid").name == "imagenet-vid" and get_spec("vid").origin == 0


def test_imagenet_vid_index_is_cached_and_rebuilt_when_a_folder_changes(tmp_path: Path,
                                                                         monkeypatch) -> None:
    from siambench.datasets import imagenet_vid

    root = make_vid(tmp_path / "vid")
    load_dataset("imagenet-vid", root)
    assert list((tmp_path / "cache" / "indexes").glob("imagenet-vid-*.npz"))

    def no_parse(*args: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(imagenet_vid, "_parse", no_parse)
    assert len(load_dataset("imagenet-vid", root)) == 3          # from the cache
    folder = root / "ILSVRC2015/Annotations/VID/val" / VID_B
    (folder / "000003.xml").write_text(_xml([{"trackid": 0, "box": (0, 0, 15, 11)}]))
    os.utime(folder, ns=(1, 1))                                   # a new mtime, whatever the clock
    with pytest.raises(AssertionError, match="parsed again"):
        load_dataset("imagenet-vid", root)


def test_imagenet_vid_errors_name_the_file(tmp_path: Path) -> None:
    root = make_vid(tmp_path / "vid")
    bad = root / "ILSVRC2015/Annotations/VID/val" / VID_B / "000001.xml"
    bad.write_text("<annotation><object>")
    with pytest.raises(DataFormatError, match="000001.xml: not valid XML"):
        load_dataset("imagenet-vid", root)
    with pytest.raises(DatasetNotFoundError, match="no ImageNet VID annotations"):
        load_dataset("imagenet-vid", tmp_path / "vid" / "ILSVRC2015" / "Data")


def test_youtube_bb_tracks_pixels_and_absent_rows(tmp_path: Path) -> None:
    dataset = load_dataset("ytbb", make_ytbb(tmp_path / "yt"))
    assert dataset.names == [f"{YT_ID}-0-0", f"{YT_ID}-3-1"]
    assert dataset.meta["missing"] == ["gone0000000-0-0"]
    person, dog = dataset
    # fractions of 64 x 48: x = 0.25·64 = 16, w = 0.5·64 = 32, y = 0.5·48 = 24, h = 0.5·48 = 24
    assert np.array_equal(person.groundtruth[:2], [[16, 24, 32, 24], [8, 12, 24, 24]])
    assert np.isnan(person.groundtruth[2]).all()
    assert person.absent.tolist() == [False, False, True]
    assert dog.absent.tolist() == [False, True] and dog.notes           # frame 2 not downloaded
    assert [p.name for p in person.frame_paths] == [f"{YT_ID}_{t}_0_0.jpg" for t in (0, 1000, 2000)]
    assert person.meta["timestamps_ms"] == [0, 1000, 2000]
    index = build_index([(dataset, 1.0, 0)])
    assert [t.usable.tolist() for t in index.tracks] == [[0, 1], [0]]


def test_youtube_bb_malformed_csv_is_one_error(tmp_path: Path) -> None:
    root = make_ytbb(tmp_path / "yt")
    with (root / "yt_bb_detection_train.csv").open("a") as stream:
        stream.write(f"{YT_ID},3000,0,person,0,maybe,0,1,0,1\n")
    with pytest.raises(DataFormatError, match=r"line 7: object_presence 'maybe'"):
        load_dataset("youtube-bb", root)


def test_coco_skips_crowd_and_tiny_boxes(tmp_path: Path) -> None:
    dataset = load_dataset("coco2017", make_coco(tmp_path / "coco"))
    assert dataset.names == ["000000000001-11", "000000000002-21"]
    assert dataset.meta["skipped_crowd"] == 1 and dataset.meta["skipped_small"] == 1
    first, second = dataset
    assert np.array_equal(first.groundtruth, [[4.5, 6.0, 20.0, 10.25]]) and len(first) == 1
    assert first.meta["category"] == "person" and second.meta["category"] == "car"
    assert first.frame_paths == [tmp_path / "coco" / "train2017" / "000000000001.jpg"]
    assert second.problems(decode="all") == []


def test_imagenet_det_objects_and_empty_images(tmp_path: Path) -> None:
    dataset = load_dataset("det", make_det(tmp_path / "det"))
    assert dataset.names == ["n01440764_1-0", "n01440764_1-1", "ILSVRC2014_train_00000001-0"]
    assert np.array_equal(dataset[0].groundtruth, [[0, 2, 64, 39]])
    assert np.array_equal(dataset[2].groundtruth, [[20, 10, 20, 10]])
    assert dataset[1].meta["class"] == "n01440764"
    assert dataset[2].frame_paths[0].name == "ILSVRC2014_train_00000001.JPEG"
    assert all(not s.problems(decode="all") for s in dataset)


# ------------------------------------------------------------------------------ pairs

def test_still_images_pair_with_an_independently_augmented_copy(tmp_path: Path) -> None:
    from siambench.models import build_model
    from siambench.train.data import PairDataset

    dataset = load_dataset("coco", make_coco(tmp_path / "coco"))
    index = build_index([(dataset, 1.0, 0)])
    table = index.sample_pairs(40, seed=1, epoch=0, frame_range=100)
    assert np.all(table[:, 1] == 0) and np.all(table[:, 3] == 0)          # the only frame, twice
    assert np.all(table[:, 0] == table[:, 2])
    cfg = resolve_config("siamrpn", "cpu", {"model": {"width_mult": 0.25}, "color_prob": 0.0})
    model = build_model("siamrpn", width_mult=0.25, seed=0)
    samples = PairDataset(index, table[:6], cfg, "siamrpn", model.config)
    offsets = []
    for i in range(len(samples)):
        item = samples[i]
        z_box, x_box = _template_box(index, table[i], cfg), item["box"].numpy()
        # the target's centre in each crop, relative to the crop centre
        offsets.append((z_box[:2] + z_box[2:]) / 2 - 63.0)
        offsets.append((x_box[:2] + x_box[2:]) / 2 - 127.0)
    offsets = np.array(offsets).reshape(-1, 2, 2)
    # template shift ≤ 4 px, search shift ≤ 64 px, drawn independently: never equal, not all zero
    assert np.all(np.abs(offsets[:, 0]) <= 4.0 + 1e-6) and np.any(np.abs(offsets[:, 1]) > 4.0)
    assert not np.allclose(offsets[:, 0], offsets[:, 1])
    assert len({tuple(np.round(o, 3)) for o in offsets[:, 1]}) == len(offsets)


def _template_box(index, row: np.ndarray, cfg: dict) -> np.ndarray:
    """The template crop's target box of pair ``row``, replaying the sample's first draws."""
    from siambench.train.augment import CropParams, augment_crop

    rng = np.random.default_rng(int(row[5]))
    track = index.tracks[int(row[0])]
    frame = cv2.cvtColor(cv2.imread(track.frames[0]), cv2.COLOR_BGR2RGB)
    params = CropParams(int(cfg["template_size"]), float(cfg["template_shift"]),
                        float(cfg["template_scale"]), float(cfg["template_blur_prob"]))
    _, box = augment_crop(frame, track.boxes[0], params, rng, exemplar=127)
    return box


def _moving(name: str, n: int = 40) -> Dataset:
    boxes = np.array([[i, 0, 5, 5] for i in range(n)], dtype=float)
    return Dataset(name, [Sequence(f"{name}{k}", groundtruth=boxes, frame_paths=[Path("x")] * n)
                          for k in range(2)])


def test_per_dataset_frame_range_keeps_the_draws_reproducible() -> None:
    plain = build_index([(_moving("a"), 1.0, 0), (_moving("b"), 1.0, 0)])
    same = build_index([(_moving("a"), 1.0, 0, None), (_moving("b"), 1.0, 0, None)])
    own = build_index([(_moving("a"), 1.0, 0, 2), (_moving("b"), 1.0, 0)])
    reference = plain.sample_pairs(500, seed=4, epoch=2, frame_range=10)
    assert np.array_equal(reference, same.sample_pairs(500, seed=4, epoch=2, frame_range=10))
    table = own.sample_pairs(500, seed=4, epoch=2, frame_range=10)
    group_a = table[:, 0] < 2
    gap = np.abs(table[:, 1] - table[:, 3])
    assert gap[group_a].max() == 2 and gap[~group_a].max() == 10
    assert np.array_equal(table[:, [0, 1, 4]], reference[:, [0, 1, 4]])  # same tracks and templates
    with pytest.raises(SiambenchError, match="frame_range of a must be a positive integer"):
        build_index([(_moving("a"), 1.0, 0, 0)])


# ------------------------------------------------------------------------------ sources and roots

def test_parse_source_and_roots(tmp_path: Path) -> None:
    assert parse_source("vid") == Source("vid", 1.0)
    assert parse_source("coco:2.5") == Source("coco", 2.5)
    assert parse_source("youtube-bb:all") == Source("youtube-bb", None)
    assert parse_source({"name": "vid", "weight": "all", "frame_range": 3}) == Source("vid", None, 3)
    for bad in ("coco:0", "coco:x", ":2", {"name": "vid", "frame_range": 0}, {"weight": 1}):
        with pytest.raises(SiambenchError):
            parse_source(bad)
    assert parse_roots([]) is None
    assert parse_roots([str(tmp_path)]) == tmp_path
    assert parse_roots(["vid=/data/ILSVRC2015", "coco2017=~/coco"]) == {
        "imagenet-vid": Path("/data/ILSVRC2015"), "coco": Path("~/coco").expanduser()}
    odd = tmp_path / "a=b"
    odd.mkdir()
    assert parse_roots([str(odd)]) == odd                     # an existing folder named with '='
    assert parse_roots(["./x=y"]) == Path("./x=y")             # a path before '=' is a path
    with pytest.raises(SiambenchError, match="unknown dataset 'nosuch'"):
        parse_roots(["nosuch=/x"])
    with pytest.raises(SiambenchError, match="twice"):
        parse_roots(["vid=/a", "imagenet-vid=/b"])
    with pytest.raises(SiambenchError, match="give each as --root NAME=PATH"):
        parse_roots(["/a", "coco=/b"])


_NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(name=_NAMES, weight=st.floats(min_value=1e-6, max_value=1e9))
def test_parse_source_reads_any_name_and_positive_weight(name: str, weight: float) -> None:
    assert parse_source(f"{name}:{weight!r}") == Source(name, weight)
    assert parse_source(name) == Source(name, 1.0)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True),
                               st.integers(0, 10**7), st.integers(0, 22), st.integers(0, 9),
                               st.booleans(), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=20))
def test_youtube_bb_csv_rows_read_back(tmp_path_factory, rows: list) -> None:
    from siambench.datasets.youtube_bb import read_rows

    path = tmp_path_factory.mktemp("csv") / "yt.csv"
    lines = [f"{y},{t},{c},cls,{o},{'present' if p else 'absent'},{a!r},{b!r},{a!r},{b!r}"
             for y, t, c, o, p, a, b in rows]
    path.write_text("\n".join(lines) + "\n")
    ids, ints, boxes = read_rows(path)
    assert [ids[v] for v in ints[:, 0]] == [r[0] for r in rows]
    assert ints[:, 1:].tolist() == [[t, c, o, int(p)] for _, t, c, o, p, _, _ in rows]
    assert boxes.tolist() == [[a, b, a, b] for *_, a, b in rows]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4000), min_size=4, max_size=4))
def test_ilsvrc_corners_keep_the_box_centre(values: list[int]) -> None:
    from siambench.datasets.ilsvrc import corners_to_boxes

    xmin, xmax = sorted(values[:2])
    ymin, ymax = sorted(values[2:])
    x, y, w, h = corners_to_boxes(np.array([xmin, ymin, xmax, ymax]))[0]
    assert (x + (w - 1) / 2, y + (h - 1) / 2) == ((xmin + xmax) / 2, (ymin + ymax) / 2)
    assert (w, h) == (xmax - xmin + 1, ymax - ymin + 1)


def test_named_configs_resolve_their_datasets() -> None:
    assert {"cpu", "paper", "pysot"} <= set(available_configs())
    cpu = config_sources(resolve_config("siamrpn", "cpu"))
    assert cpu == [Source("synthetic-train", 1.0)]
    paper = config_sources(resolve_config("siamrpn", "paper"))
    assert [(get_spec(s.name).name, s.weight, s.frame_range) for s in paper] == [
        ("imagenet-vid", 100000.0, 100), ("youtube-bb", None, 3)]
    assert [s.name for s in config_sources(resolve_config("siamfc", "paper"))] == ["imagenet-vid"]
    cfg = resolve_config("siamrpn", "pysot")
    pysot = config_sources(cfg)
    assert [(get_spec(s.name).name, s.weight, s.frame_range) for s in pysot] == [
        ("imagenet-vid", 100000.0, 100), ("youtube-bb", None, 3), ("coco", None, 1),
        ("imagenet-det", None, 1)]
    assert all(get_spec(s.name).split == "train" for s in pysot)
    assert cfg["model"]["name"] == "siamrpn-dw" and cfg["frozen_layers"] == ["layer1", "layer2", "layer3"]
    assert (cfg["backbone_train_epoch"], cfg["backbone_lr_mult"], cfg["neg_prob"], cfg["loss_preset"],
            cfg["pairs_per_epoch"], cfg["batch_size"]) == (10, 1.0, 0.05, "pysot", 600000, 128)
    overridden = resolve_config("siamrpn", "paper", {"datasets": ["coco:2", "vid"]})
    assert config_sources(overridden) == [Source("coco", 2.0), Source("vid", 1.0)]
    with pytest.raises(SiambenchError, match="datasets must be a non-empty list"):
        resolve_config("siamrpn", "cpu", {"datasets": []})


def test_missing_source_is_one_error_naming_it(tmp_path: Path, monkeypatch) -> None:
    from siambench.cli import cli

    monkeypatch.setenv("SIAMBENCH_DATA", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    vid = make_vid(tmp_path / "vid")
    runner = CliRunner()
    common = ["train", "--tracker", "siamrpn", "--quiet", "--device", "cpu", "--out", str(tmp_path / "o"),
              "--set", "model.width_mult=0.25", "--set", "val_sequences=0"]
    result = runner.invoke(cli, [*common, "--dataset", "vid", "--dataset", "coco:2",
                                 "--root", f"vid={vid}"])
    assert result.exit_code == 1, result.output
    assert "training source coco not found" in result.output and "--root coco=PATH" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, [*common, "--dataset", "vid", "--dataset", "coco", "--root", str(vid)])
    assert result.exit_code == 1 and "give each as --root NAME=PATH" in result.output
    result = runner.invoke(cli, [*common, "--dataset", "vid", "--root", f"vid={vid}",
                                 "--root", f"coco={vid}"])
    assert result.exit_code == 1 and "--root names coco, which this run does not train on" in result.output
    result = runner.invoke(cli, [*common, "--dataset", "coco:-1"])
    assert result.exit_code == 2 and "positive number" in result.output
    result = runner.invoke(cli, [*common[:-4], "--config", "paper"])
    assert result.exit_code == 1 and "training source imagenet-vid not found" in result.output


# ------------------------------------------------------------------------------ the mixed run

def test_training_mixes_vid_coco_and_synthetic_by_weight(tmp_path: Path, monkeypatch) -> None:
    """The issue's "Done when": a short run on a constructed VID folder, a COCO folder and the
    synthetic train split; its pair sampler draws from each by weight."""
    from siambench.datasets.synthetic import SPLITS, TRAIN_SEED, SplitSpec
    from siambench.models.checkpoint import load_checkpoint
    from siambench.train import train
    from siambench.train.pairs import PairIndex

    # a 4-sequence synthetic train split, generated into this test's cache in a second
    monkeypatch.setitem(SPLITS, "train", SplitSpec(TRAIN_SEED, 4, 8, "synthetic-train"))
    vid, coco = make_vid(tmp_path / "vid"), make_coco(tmp_path / "coco")
    seen: list[PairIndex] = []
    original = PairIndex.sample_pairs

    def recording(self: PairIndex, *args: object, **kwargs: object) -> np.ndarray:
        seen.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PairIndex, "sample_pairs", recording)
    result = train("siamrpn", tmp_path / "run", datasets=[("vid", 2.0), ("coco", 1.0, 1),
                                                          ("synthetic-train", 1.0)],
                   root={"imagenet-vid": vid, "coco": coco}, config="cpu", progress=False,
                   overrides={"model": {"width_mult": 0.25}, "epochs": 1, "pairs_per_epoch": 8,
                              "batch_size": 4, "val_sequences": 0, "threads": 1, "log_every": 1},
                   command="test")
    assert result.model_path is not None and result.step == 2
    index = seen[0]
    assert index.groups == ["imagenet-vid", "coco", "synthetic-train"]
    assert index.weights.tolist() == [0.5, 0.25, 0.25] and index.frame_ranges == [None, 1, None]
    assert [sum(t.group == g for t in index.tracks) for g in range(2)] == [3, 2]
    n = 4000
    groups = np.array([index.tracks[i].group for i in original(index, n, seed=0, epoch=0)[:, 0]])
    freq = np.bincount(groups, minlength=3) / n
    # seeded, so the counts are fixed; 0.03 is 4 binomial standard deviations at n = 4000
    assert np.all(np.abs(freq - [0.5, 0.25, 0.25]) < 0.03), freq
    _, meta = load_checkpoint(result.model_path)
    assert [d["name"] for d in meta["datasets"]] == ["vid", "coco", "synthetic-train"]
    assert meta["root"] == {"imagenet-vid": str(vid), "coco": str(coco)}
