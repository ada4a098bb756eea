"""Context crops: geometry (pysot get_subwindow), mean-colour border, equality with pad+crop+resize."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.trackers.crops import context_size, crop_corner, crop_window, mean_colour


def reference_crop(frame: np.ndarray, centre: tuple[float, float], side: int, out: int,
                   border: tuple[float, float, float]) -> np.ndarray:
    """pysot's get_subwindow written out: pad with the border colour, cut, cv2.resize."""
    height, width = frame.shape[:2]
    c = (side + 1) / 2
    xmin = math.floor(centre[0] - c + 0.5)
    ymin = math.floor(centre[1] - c + 0.5)
    xmax, ymax = xmin + side - 1, ymin + side - 1
    left, top = max(0, -xmin), max(0, -ymin)
    right, bottom = max(0, xmax - width + 1), max(0, ymax - height + 1)
    padded = np.empty((height + top + bottom, width + left + right, 3), np.uint8)
    padded[:] = np.floor(np.asarray(border) + 0.5).astype(np.uint8)
    padded[top:top + height, left:left + width] = frame
    patch = padded[ymin + top:ymax + top + 1, xmin + left:xmax + left + 1]
    return cv2.resize(patch, (out, out)) if side != out else patch.copy()


def smooth_frame(seed: int = 0, size: tuple[int, int] = (240, 320)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, size=(size[0] // 8, size[1] // 8, 3)).astype(np.float32)
    return np.clip(cv2.resize(noise, (size[1], size[0]), interpolation=cv2.INTER_CUBIC),
                   0, 255).astype(np.uint8)


def test_context_size_hand_computed() -> None:
    # p = 0.5·(10 + 20) = 15 → sqrt(25·35)
    assert context_size(10, 20) == pytest.approx(math.sqrt(875), abs=1e-12)
    assert context_size(63.5, 63.5) == pytest.approx(127.0, abs=1e-12)


def test_crop_corner_conventions() -> None:
    assert crop_corner(5.0, 3) == 3.0                 # floor(5 − 2 + 0.5)
    assert crop_corner(5.0, 3, "siamfc") == 4.0       # round(5 − 1)
    assert crop_corner(10.5, 4) == 8.0                # floor(10.5 − 2.5 + 0.5)
    assert crop_corner(10.5, 4, "siamfc") == 9.0      # round(9.0)
    assert crop_corner(10.0, 4, "siamfc") == 8.0      # round(8.5) half-even


def test_target_lands_centred_at_expected_scale() -> None:
    frame = np.full((240, 320, 3), 40, np.uint8)
    # target: columns 100..163, rows 80..111 (64 x 32 pixels), centre (131.5, 95.5)
    frame[80:112, 100:164] = 220
    box_w, box_h = 64.0, 32.0
    centre = (100 + (box_w - 1) / 2, 80 + (box_h - 1) / 2)
    side = round(context_size(box_w, box_h))                 # sqrt(112·80) = 94.66 → 95
    crop = crop_window(frame, centre, side, 127, mean_colour(frame))
    # pysot geometry: window corner floor(c − side/2) = (84, 48), so the target centre lands at
    # (c − corner + 0.5)·127/side − 0.5 = 48·127/95 − 0.5 = 63.668 (the half-pixel quirk)
    expected = 48 * 127 / 95 - 0.5
    weight = crop[:, :, 0].astype(np.float64) - 40
    ys, xs = np.mgrid[:127, :127]
    assert (weight * xs).sum() / weight.sum() == pytest.approx(expected, abs=0.05)
    assert (weight * ys).sum() / weight.sum() == pytest.approx(expected, abs=0.05)
    mask = crop[:, :, 0] > 130
    assert mask.any(axis=0).sum() == pytest.approx(box_w * 127 / side, abs=1.0)
    assert mask.any(axis=1).sum() == pytest.approx(box_h * 127 / side, abs=1.0)


def test_outside_parts_get_the_border_colour() -> None:
    frame = smooth_frame(1)
    border = mean_colour(frame)
    crop = crop_window(frame, (5.0, 5.0), 101, 255, border)
    expected = np.floor(np.asarray(border) + 0.5).astype(np.uint8)
    # the window starts at pixel floor(5 − 51 + 0.5) = −46: 46 of 101 columns are outside,
    # i.e. output columns < 46·255/101 ≈ 116 (minus one for interpolation)
    assert np.all(crop[:110, :110] == expected)
    assert not np.all(crop[200:, 200:] == expected)


def test_frame_is_not_modified() -> None:
    frame = smooth_frame(2)
    before = frame.copy()
    crop_window(frame, (300.0, 10.0), 200, 127, (1.0, 2.0, 3.0))
    assert np.array_equal(frame, before)


@pytest.mark.parametrize("centre, side, out", [
    ((160.0, 120.0), 301, 255),        # downscale, fully inside
    ((20.3, 200.7), 171, 127),         # downscale, sticking out left and bottom
    ((318.0, 3.0), 401, 255),          # downscale, far outside
    ((150.0, 100.0), 255, 255),        # identity size
])
def test_equals_pad_crop_resize(centre, side, out) -> None:
    frame = smooth_frame(3)
    border = mean_colour(frame)
    ours = crop_window(frame, centre, side, out, border).astype(np.int16)
    ref = reference_crop(frame, centre, side, out, border).astype(np.int16)
    diff = np.abs(ours - ref)
    assert diff.mean() < 0.6
    assert diff.max() <= 3


def test_equals_pad_crop_resize_upscaling_interior() -> None:
    frame = smooth_frame(4)
    border = mean_colour(frame)
    ours = crop_window(frame, (100.0, 60.0), 90, 127, border).astype(np.int16)
    ref = reference_crop(frame, (100.0, 60.0), 90, 127, border).astype(np.int16)
    # the outermost output pixel reads half a source pixel beyond the window (see crops.py)
    diff = np.abs(ours - ref)[1:-1, 1:-1]
    assert diff.mean() < 0.6
    assert diff.max() <= 3


@settings(max_examples=30, deadline=None)
@given(cx=st.floats(-50, 370), cy=st.floats(-50, 290), side=st.integers(1, 600),
       out=st.sampled_from([127, 255, 271]))
def test_constant_frame_gives_constant_crop(cx: float, cy: float, side: int, out: int) -> None:
    frame = np.full((240, 320, 3), (10, 120, 250), np.uint8)
    crop = crop_window(frame, (cx, cy), side, out, mean_colour(frame))
    assert crop.shape == (out, out, 3)
    assert np.array_equal(crop[..., 0], np.full((out, out), 10, np.uint8))
    assert np.array_equal(crop[..., 2], np.full((out, out), 250, np.uint8))
