"""The ``tensor`` crop (:mod:`siambench.trackers.tensor_crops`): hand-computed bilinear samples,
the warp crop's windows, and trackers using it (single and batched agree)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.trackers import create_tracker
from siambench.trackers.crops import crop_geometry, crop_window
from siambench.trackers.tensor_crops import crop_windows, frame_to_device


def test_hand_computed_samples_with_border() -> None:
    """A 1x2 frame [0, 100] (all channels), window (0, 0, side 2) to 4x4: samples at
    -0.25, 0.25, 0.75, 1.25 in x and y; outside the frame the border colour 40 blends in."""
    frame = np.zeros((1, 2, 3), dtype=np.uint8)
    frame[0, 1] = 100
    got = crop_windows(torch.from_numpy(frame), [(0, 0, 2)], 4, (40.0, 40.0, 40.0))
    row = np.array([0.25 * 40 + 0.75 * 0, 0.75 * 0 + 0.25 * 100, 0.25 * 0 + 0.75 * 100,
                    0.75 * 100 + 0.25 * 40])  # x weights; y: row -1 and 1 are border
    y_weight_frame = np.array([0.75, 0.75, 0.25, 0.0])  # frame row 0's weight per output row
    # y = 1.25 lies between row 1 (border) and row 2 (border): all border
    expected = y_weight_frame[:, None] * row[None, :] + (1 - y_weight_frame[:, None]) * 40.0
    assert got.shape == (1, 4, 4, 3) and got.dtype == torch.float32
    np.testing.assert_allclose(got[0, :, :, 1].numpy(), expected, atol=1e-4)


def test_aligned_window_copies_the_pixels_and_scales_are_one_call() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    got = crop_windows(torch.from_numpy(frame), [(3, 5, 20), (-4, -6, 20)], 20, (7.0, 8.0, 9.0))
    np.testing.assert_allclose(got[0].numpy(), frame[5:25, 3:23], atol=1e-3)
    expected = np.empty((20, 20, 3))
    expected[:] = (7.0, 8.0, 9.0)
    expected[6:, 4:] = frame[:14, :16]
    np.testing.assert_allclose(got[1].numpy(), expected, atol=1e-3)
    assert torch.equal(frame_to_device(frame, "cpu"), torch.from_numpy(frame))
    with pytest.raises(ValueError):
        crop_windows(torch.from_numpy(frame), [], 20, (0.0, 0.0, 0.0))


def smooth(seed: int, height: int, width: int) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.GaussianBlur(noise, (0, 0), 2.5))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cx=st.floats(-30, 350), cy=st.floats(-30, 270),
       size=st.floats(8, 400), out=st.sampled_from([31, 127, 255]),
       border=st.tuples(*[st.floats(0, 255)] * 3))
def test_same_windows_as_the_warp_crop(seed, cx, cy, size, out, border) -> None:
    """Against OpenCV's warp of the same window: within 2 grey levels per pixel, half a level on
    average, on smooth frames. (Not exact: OpenCV rounds to uint8, and some of its builds
    quantise sample positions to 1/32 pixel; the bound leaves room for that, no more.)"""
    frame = smooth(seed, 240, 320)
    warp = crop_window(frame, (cx, cy), size, out, border).astype(np.float64)
    window = crop_geometry((cx, cy), size, "tensor")
    assert window == crop_geometry((cx, cy), size, "warp")
    tensor = crop_windows(torch.from_numpy(frame), [window], out, border)[0].numpy()
    difference = np.abs(tensor - warp)
    assert difference.max() <= 2.0 and difference.mean() <= 0.5


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[list[np.ndarray], np.ndarray]]:
    from siambench.datasets import load_dataset
    from siambench.datasets.synthetic import write_benchmark

    root = write_benchmark(tmp_path_factory.mktemp("tensorcrop") / "otb", "otb", sequences=3,
                           frames=6, seed=9, workers=1, progress=False)
    return [([sequence.frame(i) for i in range(6)], np.asarray(sequence.groundtruth[:6], dtype=float))
            for sequence in load_dataset("synthetic", root, progress=False)]


@pytest.mark.parametrize("name", ["siamrpn", "siamfc"])
def test_trackers_with_tensor_crops(sequences, name) -> None:
    """``crop: tensor``: the batch answers as single trackers (1e-3 px); the boxes stay near the
    warp crop's (same windows, sub-level pixel differences)."""
    def make(crop: str):
        return create_tracker(name, weights="random", seed=0, model_config={"width_mult": 0.25},
                              crop=crop)

    tensor = make("tensor")
    assert tensor.crop_method == "tensor"
    batch = tensor.batched(len(sequences))
    batch.chunk = None
    batch.init_slots(range(len(sequences)), [f[0] for f, _ in sequences], [t[0] for _, t in sequences])
    singles, warps = [], []
    for frames, truth in sequences:
        single, warp = make("tensor"), make("warp")
        single.init(frames[0], truth[0])
        warp.init(frames[0], truth[0])
        singles.append(single)
        warps.append(warp)
    for index in range(1, 6):
        outs = batch.update_slots(range(len(sequences)), [f[index] for f, _ in sequences])
        for out, single, warp, (frames, _) in zip(outs, singles, warps, sequences, strict=True):
            expected = single.update(frames[index]).box
            assert np.abs(out.box - expected).max() <= 1e-3
            assert np.abs(warp.update(frames[index]).box - expected).max() <= 2.0
