"""Tests of the training pipeline (siambench.train): pairs, crops, targets, steps, resume, errors."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siambench.datasets.base import Dataset, FrameFlags, Sequence
from siambench.errors import SiambenchError
from siambench.models import build_model
from siambench.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
)
from siambench.train.augment import (
    CropParams,
    affine_for,
    augment_crop,
    box_in_crop,
    crop_affine,
)
from siambench.train.config import parse_set, resolve_config
from siambench.train.data import PairDataset
from siambench.train.loop import lr_at, make_optimizer, train, train_step
from siambench.train.pairs import build_index, usable_frames

W, H = 320, 240


def _frame(box: tuple[float, float, float, float]) -> np.ndarray:
    """Dark noisy frame with a bright rectangle covering pixels x..x+w-1, y..y+h-1."""
    rng = np.random.default_rng(int(box[0] * 7 + box[1]))
    frame = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
    x, y, w, h = (int(v) for v in box)
    frame[y:y + h, x:x + w] = (250, 200, 150)
    return frame


def _write_sequence(folder: Path, n: int, *, start: int = 40, step: int = 2,
                    size: tuple[int, int] = (40, 30)) -> np.ndarray:
    folder.mkdir(parents=True)
    boxes = np.array([[start + step * i, 60 + i, size[0], size[1]] for i in range(n)], dtype=np.float64)
    for i, box in enumerate(boxes):
        cv2.imwrite(str(folder / f"{i:04d}.png"), _frame(tuple(box))[..., ::-1])
    return boxes


def _dataset(tmp_path: Path, *, n: int = 12, sequences: int = 2,
             flags: dict[int, FrameFlags] | None = None,
             gt_edit: dict[int, np.ndarray] | None = None) -> Dataset:
    seqs = []
    for s in range(sequences):
        folder = tmp_path / f"seq{s}"
        boxes = _write_sequence(folder, n, start=30 + 10 * s)
        if gt_edit and s in gt_edit:
            boxes = gt_edit[s]
        paths = [folder / f"{i:04d}.png" for i in range(n)]
        seqs.append(Sequence(f"seq{s}", groundtruth=boxes, frame_paths=paths,
                             flags=(flags or {}).get(s), dataset="tiny"))
    return Dataset("tiny", seqs, root=tmp_path)


# ----------------------------------------------------------------------------------- pairs

def test_usable_frames_rules() -> None:
    boxes = np.array([[0, 0, 5, 5], [np.nan, 0, 5, 5], [0, 0, 0, 5], [0, 0, 5, -1],
                      [1, 1, 2, 2], [1, 1, 2, 2]], dtype=float)
    absent = np.array([0, 0, 0, 0, 1, 0], dtype=bool)
    cover = np.array([8, 8, 8, 8, 8, 0])
    assert usable_frames(boxes).tolist() == [0, 4, 5]
    assert usable_frames(boxes, absent, cover).tolist() == [0]


def test_pair_sampler_frame_gap_and_absent_frames(tmp_path: Path, caplog) -> None:
    n = 40
    absent = np.zeros(n, dtype=bool)
    absent[10:20] = True
    gt = np.array([[30 + i, 60, 40, 30] for i in range(n)], dtype=float)
    gt[25] = np.nan
    gt[26, 2] = 0.0
    flags = {0: FrameFlags(absent=absent), 1: FrameFlags(absent=np.ones(n, dtype=bool))}
    dataset = _dataset(tmp_path, n=n, flags=flags, gt_edit={0: gt})
    with caplog.at_level(logging.WARNING, logger="siambench.train"):
        index = build_index([(dataset, 1.0, 0)])
    assert [t.name for t in index.tracks] == ["seq0"]
    assert index.skipped == ["tiny/seq1: the target is absent or has no area in every frame"]
    assert "skipping tiny/seq1" in caplog.text
    table = index.sample_pairs(600, seed=3, epoch=0, frame_range=5)
    bad = set(range(10, 20)) | {25, 26}
    assert np.all(np.abs(table[:, 1] - table[:, 3]) <= 5)
    assert not bad & set(table[:, 1].tolist()) and not bad & set(table[:, 3].tolist())
    assert np.all(table[:, 0] == 0) and np.all(table[:, 4] == 0)
    assert np.abs(table[:, 1] - table[:, 3]).max() == 5        # the gap is reached
    again = index.sample_pairs(600, seed=3, epoch=0, frame_range=5)
    other = index.sample_pairs(600, seed=3, epoch=1, frame_range=5)
    assert np.array_equal(table, again) and not np.array_equal(table, other)


def test_negative_pairs_use_another_track(tmp_path: Path) -> None:
    index = build_index([(_dataset(tmp_path, sequences=3), 1.0, 0)])
    table = index.sample_pairs(400, seed=0, epoch=0, neg_prob=0.5)
    neg = table[:, 4] == 1
    assert 120 < neg.sum() < 280
    assert np.all(table[neg, 0] != table[neg, 2]) and np.all(table[~neg, 0] == table[~neg, 2])


def test_no_usable_pairs_is_one_clear_error(tmp_path: Path) -> None:
    n = 5
    flags = {0: FrameFlags(absent=np.ones(n, dtype=bool)), 1: FrameFlags(cover=np.zeros(n))}
    dataset = _dataset(tmp_path, n=n, flags=flags)
    with pytest.raises(SiambenchError, match="no usable training pairs"):
        build_index([(dataset, 1.0, 0)])


# ----------------------------------------------------------------------------------- crops

def test_crop_centres_target_at_expected_scale() -> None:
    box = np.array([100.0, 80.0, 60.0, 40.0])           # pixels 100..159 x 80..119
    frame = np.zeros((300, 400, 3), dtype=np.uint8)
    frame[80:120, 100:160] = 255
    s_z = math.sqrt((60 + 50) * (40 + 50))               # context 0.5: sqrt(110·90)
    scale = 127 / s_z
    for out in (127, 255):
        matrix = affine_for(box, out)
        target = box_in_crop(box, matrix)
        c = (out - 1) / 2
        np.testing.assert_allclose(target, [c - 30 * scale, c - 20 * scale,
                                            c + 30 * scale, c + 20 * scale], rtol=0, atol=1e-9)
        crop = crop_affine(frame, matrix, out)
        ys, xs = np.nonzero(crop[..., 0] > 127)
        assert abs((xs.min() + xs.max()) / 2 - c) <= 0.5 and abs((ys.min() + ys.max()) / 2 - c) <= 0.5
        assert abs((xs.max() - xs.min() + 1) - 60 * scale) <= 1.5
        assert abs((ys.max() - ys.min() + 1) - 40 * scale) <= 1.5


def test_augmented_crop_box_follows_the_same_affine() -> None:
    box = np.array([100.0, 80.0, 60.0, 40.0])
    frame = np.zeros((300, 400, 3), dtype=np.uint8)
    frame[80:120, 100:160] = 255
    for seed in range(5):
        crop, target = augment_crop(frame, box, CropParams(255, 40.0, 0.15), np.random.default_rng(seed),
                                    flip=seed % 2 == 1)
        ys, xs = np.nonzero(crop[..., 0] > 127)
        seen = np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5])
        np.testing.assert_allclose(seen, target, atol=1.5)
        assert target[2] > target[0] and target[3] > target[1]


def test_brightness_scales_the_crop_within_the_gain_range() -> None:
    frame = np.full((200, 200, 3), 100, dtype=np.uint8)
    box = np.array([80.0, 80.0, 40.0, 40.0])
    gains = []
    for seed in range(40):
        crop, _ = augment_crop(frame, box, CropParams(127), np.random.default_rng(seed),
                               brightness_prob=1.0, brightness_max=2.0)
        gains.append(crop.astype(np.float64).mean() / 100.0)
    gains = np.array(gains)
    assert gains.min() >= 0.5 - 0.01 and gains.max() <= 2.0 + 0.01
    assert (gains < 0.8).any() and (gains > 1.25).any()      # both darker and brighter crops
    plain, _ = augment_crop(frame, box, CropParams(127), np.random.default_rng(0))
    assert np.all(plain == 100)                               # probability 0: untouched


def test_crop_does_not_modify_the_frame() -> None:
    frame = _frame((50, 50, 30, 30))
    copy = frame.copy()
    augment_crop(frame, np.array([50.0, 50, 30, 30]), CropParams(127, 4, 0.05, 1.0),
                 np.random.default_rng(0), gray=True, colour_prob=1.0)
    assert np.array_equal(frame, copy)


# --------------------------------------------------------------------------------- targets

def test_siamrpn_sample_target_counts(tmp_path: Path) -> None:
    cfg = resolve_config("siamrpn", None, {"model": {"width_mult": 0.25}})
    index = build_index([(_dataset(tmp_path), 1.0, 0)])
    model = build_model("siamrpn", width_mult=0.25, seed=0)
    table = index.sample_pairs(6, seed=0, epoch=0)
    data = PairDataset(index, table, cfg, "siamrpn", model.config)
    for i in range(len(data)):
        sample = data[i]
        labels = sample["labels"].numpy()
        assert labels.shape == (5 * 17 * 17,) and sample["search"].shape == (3, 255, 255)
        pos, neg = int((labels == 1).sum()), int((labels == 0).sum())
        assert 1 <= pos <= 16 and pos + neg == 64           # paper sampling: 64 per pair
        weights = sample["reg_weights"].numpy()
        np.testing.assert_allclose(weights[labels == 1], 1 / (pos + 1e-6), rtol=1e-6)
        assert np.all(weights[labels != 1] == 0)
    again = PairDataset(index, table, cfg, "siamrpn", model.config)[3]
    assert torch.equal(again["search"], data[3]["search"]) and torch.equal(again["labels"], data[3]["labels"])


def test_negative_pair_targets(tmp_path: Path) -> None:
    cfg = resolve_config("siamrpn", None, {"neg_prob": 1.0})
    index = build_index([(_dataset(tmp_path), 1.0, 0)])
    table = index.sample_pairs(2, seed=0, epoch=0, neg_prob=1.0)
    sample = PairDataset(index, table, cfg, "siamrpn", build_model("siamrpn", width_mult=0.25).config)[0]
    labels = sample["labels"].numpy()
    assert bool(sample["negative"]) and (labels == 1).sum() == 0 and (labels == 0).sum() == 16


def test_corrupt_frame_is_logged_and_resampled(tmp_path: Path, caplog) -> None:
    dataset = _dataset(tmp_path, n=6)
    (tmp_path / "seq0" / "0002.png").write_bytes(b"not an image")
    cfg = resolve_config("siamfc", None)
    index = build_index([(dataset, 1.0, 0)])
    table = np.array([[0, 2, 0, 3, 0, 11]], dtype=np.int64)
    with caplog.at_level(logging.WARNING, logger="siambench.train"):
        sample = PairDataset(index, table, cfg, "siamfc", {})[0]
    assert "corrupt frame" in caplog.text and "0002.png" in caplog.text
    assert sample["search"].shape == (3, 239, 239) and int(sample["search"].float().std()) > 5


# ---------------------------------------------------------------------------------- config

def test_lr_schedule_matches_pysot_and_siamfc() -> None:
    rpn = resolve_config("siamrpn", "paper")
    values = [lr_at(rpn, e) for e in range(50)]
    np.testing.assert_allclose(values[:5], [0.005, 0.0057435, 0.0065975, 0.0075786, 0.0087055],
                               rtol=1e-4)
    assert values[5] == pytest.approx(0.01) and values[49] == pytest.approx(0.0005)
    fc = resolve_config("siamfc", "paper")
    assert lr_at(fc, 0) == pytest.approx(1e-2) and lr_at(fc, 49) == pytest.approx(1e-5)
    assert rpn["frozen_layers"] == ["layer1"] and rpn["backbone_train_epoch"] == 10


def test_config_overrides_and_errors() -> None:
    overrides = parse_set(["epochs=3", "model.width_mult=0.5", "frozen_layers=[layer1]"])
    assert overrides == {"epochs": 3, "model": {"width_mult": 0.5}, "frozen_layers": ["layer1"]}
    cfg = resolve_config("siamrpn", "cpu", overrides)
    assert cfg["epochs"] == 3 and cfg["model"] == {"name": "siamrpn", "width_mult": 0.5}
    with pytest.raises(SiambenchError, match="unknown training setting 'epoch'"):
        resolve_config("siamrpn", "cpu", {"epoch": 3})
    with pytest.raises(SiambenchError, match="unknown training config"):
        resolve_config("siamrpn", "nope")
    with pytest.raises(SiambenchError, match="SiamRPN option"):
        resolve_config("siamfc", "cpu", {"neg_prob": 0.1})
    assert resolve_config("siamrpn", "cpu", {"lambda_reg": 3})["lambda_reg"] == 3
    with pytest.raises(SiambenchError, match="lambda_reg must be a positive number"):
        resolve_config("siamrpn", "cpu", {"lambda_reg": -1})
    assert resolve_config("siamrpn", "cpu", {"cls_balance": "balanced"})["cls_balance"] == "balanced"
    with pytest.raises(SiambenchError, match="cls_balance must be mean or balanced"):
        resolve_config("siamrpn", "cpu", {"cls_balance": "focal"})


def test_cpu_bundled_sizes() -> None:
    rpn = resolve_config("siamrpn", "cpu")["model"]
    fc = resolve_config("siamfc", "cpu")["model"]
    n_rpn = sum(p.numel() for p in build_model(rpn.pop("name"), **rpn).parameters())
    n_fc = sum(p.numel() for p in build_model(fc.pop("name"), **fc).parameters())
    assert n_rpn == 1423796 and n_rpn * 4 < 12e6 and n_fc == 593696


# ---------------------------------------------------------------------------------- steps

@pytest.mark.parametrize("kind", ["siamrpn", "siamfc"])
def test_one_step_reduces_the_loss_on_a_fixed_batch(tmp_path: Path, kind: str) -> None:
    torch.manual_seed(0)
    overrides = {"model": {"width_mult": 0.25}} if kind == "siamrpn" else {}
    cfg = resolve_config(kind, None, {**overrides, "lr": 0.003 if kind == "siamrpn" else 0.05})
    model_cfg = dict(cfg["model"])
    model = build_model(model_cfg.pop("name"), seed=0, **model_cfg)
    index = build_index([(_dataset(tmp_path), 1.0, 0)])
    data = PairDataset(index, index.sample_pairs(8, seed=1, epoch=0), cfg, kind, model.config)
    batch = torch.utils.data.default_collate([data[i] for i in range(8)])
    optimizer = make_optimizer(model, cfg)
    for group in optimizer.param_groups:
        group["lr"] = cfg["lr"] / group["scale"]
    before = train_step(model, optimizer, batch, cfg, kind)
    after = train_step(model, optimizer, batch, cfg, kind)
    assert after[0] < before[0]


def _tiny_run(tmp_path: Path, out: Path, **extra) -> object:
    dataset = _dataset(tmp_path / "data") if not (tmp_path / "data").exists() else _cached[0]
    _cached[:] = [dataset]
    overrides = {"model": {"width_mult": 0.25}, "epochs": 2, "pairs_per_epoch": 16,
                 "batch_size": 4, "log_every": 1, "val_sequences": 0, "threads": 1, **extra}
    return train("siamrpn", out, datasets=[(dataset, 1.0, 0)], config="cpu",
                 overrides=overrides, progress=False, command="test")


_cached: list = []


def test_resume_gives_the_same_weights(tmp_path: Path) -> None:
    _cached.clear()
    full = _tiny_run(tmp_path, tmp_path / "full")
    assert full.model_path is not None and full.step == 8
    part = _tiny_run(tmp_path, tmp_path / "part", max_steps=3)
    assert part.model_path is None and part.step == 3
    with pytest.raises(SiambenchError, match="already holds a training run"):
        _tiny_run(tmp_path, tmp_path / "part")
    resumed = train("siamrpn", tmp_path / "part", datasets=[(_cached[0], 1.0, 0)], config="cpu",
                    overrides={"model": {"width_mult": 0.25}, "epochs": 2, "pairs_per_epoch": 16,
                               "batch_size": 4, "log_every": 1, "val_sequences": 0, "threads": 1},
                    resume=True, progress=False, command="test")
    assert resumed.step == 8
    a = read_checkpoint(full.model_path)["state_dict"]
    b = read_checkpoint(resumed.model_path)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    _, meta = load_checkpoint(full.model_path)
    assert meta["steps"] == 8 and meta["epochs"] == 2 and set(meta["final_losses"]) == {
        "loss", "loss_cls", "loss_reg"}
    lines = (tmp_path / "part" / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,loss,loss_cls,loss_reg,lr,pairs_per_s,elapsed_s" and len(lines) == 9


def test_keep_best_selects_the_best_validation_epoch(tmp_path: Path, monkeypatch) -> None:
    from siambench.datasets.synthetic import SPLITS, VAL_SEED, SplitSpec

    monkeypatch.setitem(SPLITS, "val", SplitSpec(VAL_SEED, 2, 6, "synthetic-val"))
    _cached.clear()
    result = _tiny_run(tmp_path, tmp_path / "run", epochs=3, val_sequences=2, val_every=1,
                       keep_best=True)
    history = result.val_auc
    assert [e for e, _ in history] == [1, 2, 3]
    best_epoch = max(history, key=lambda item: item[1])[0]   # the first of equal maxima
    _, meta = load_checkpoint(result.model_path)
    assert meta["selected"]["epoch"] == best_epoch
    best = read_checkpoint(tmp_path / "run" / "best.pt")
    final = read_checkpoint(result.model_path)["state_dict"]
    assert best["metadata"]["epoch"] == best_epoch
    assert all(torch.equal(final[k], best["state_dict"][k]) for k in final)
    with pytest.raises(SiambenchError, match="keep_best needs validation"):
        resolve_config("siamrpn", "cpu", {"keep_best": True, "val_sequences": 0})


def test_validation_does_not_change_the_trained_weights(tmp_path: Path, monkeypatch) -> None:
    from siambench.datasets.synthetic import SPLITS, VAL_SEED, SplitSpec

    monkeypatch.setitem(SPLITS, "val", SplitSpec(VAL_SEED, 2, 6, "synthetic-val"))
    _cached.clear()
    plain = _tiny_run(tmp_path, tmp_path / "plain")
    validated = _tiny_run(tmp_path, tmp_path / "validated", val_sequences=2, val_every=1)
    assert [e for e, _ in validated.val_auc] == [1, 2] and not plain.val_auc
    a = read_checkpoint(plain.model_path)["state_dict"]
    b = read_checkpoint(validated.model_path)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_backbone_init_copies_a_siamfc_backbone(tmp_path: Path) -> None:
    from siambench.models.checkpoint import save_checkpoint
    from siambench.train.loop import init_backbone

    fc = build_model("siamfc", width_mult=0.25, backbone="alexnet-rpn", seed=3)
    path = save_checkpoint(tmp_path / "fc.pt", fc, metadata={})
    rpn = build_model("siamrpn", width_mult=0.25, seed=0)
    head_before = {k: v.clone() for k, v in rpn.state_dict().items() if not k.startswith("backbone.")}
    init_backbone(rpn, path)
    for key, value in fc.backbone.state_dict().items():
        assert torch.equal(rpn.backbone.state_dict()[key], value)
    assert all(torch.equal(rpn.state_dict()[k], v) for k, v in head_before.items())
    wide = build_model("siamrpn", width_mult=0.5, seed=0)
    with pytest.raises(CheckpointError, match="backbone weights do not fit"):
        init_backbone(wide, path)
    with pytest.raises(SiambenchError, match="not found"):
        init_backbone(rpn, tmp_path / "missing.pt")
    with pytest.raises(SiambenchError, match="backbone must be one of"):
        build_model("siamfc", backbone="resnet")


def test_resume_refuses_another_architecture(tmp_path: Path) -> None:
    _cached.clear()
    _tiny_run(tmp_path, tmp_path / "run", max_steps=1)
    with pytest.raises(CheckpointError, match="another architecture"):
        train("siamrpn", tmp_path / "run", datasets=[(_cached[0], 1.0, 0)], config="cpu",
              overrides={"model": {"width_mult": 0.5}, "val_sequences": 0}, resume=True,
              progress=False)
    with pytest.raises(SiambenchError, match="settings differ"):
        train("siamrpn", tmp_path / "run", datasets=[(_cached[0], 1.0, 0)], config="cpu",
              overrides={"model": {"width_mult": 0.25}, "epochs": 2, "pairs_per_epoch": 32,
                         "batch_size": 4, "log_every": 1, "val_sequences": 0}, resume=True,
              progress=False)
    with pytest.raises(SiambenchError, match="no interrupted run"):
        train("siamrpn", tmp_path / "empty", datasets=[(_cached[0], 1.0, 0)], resume=True,
              progress=False)
