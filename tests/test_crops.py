"""Context crops: geometry (pysot get_subwindow), mean-colour border, equality with pad+crop+resize."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siambench.errors import SiambenchError
from siambench.trackers.crops import (
    context_size,
    crop_corner,
    crop_geometry,
    crop_reference,
    crop_side,
    crop_window,
    mean_colour,
    round_half_away,
)


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


# -- the references' own crops, transcribed from their code (pysot get_subwindow, DaSiamRPN
# get_subwindow_tracking with Python 2 round, siamfc-pytorch / siamrpn-pytorch crop_and_resize)

def _py2_round(value: float) -> float:
    return float(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def transcribed_subwindow(im, pos, model_sz, original_sz, avg_chans, rnd):
    """pysot ``get_subwindow`` (``rnd = floor(v + 0.5)``) / DaSiamRPN (``rnd`` = Python 2 round)."""
    sz = original_sz
    im_sz = im.shape
    c = (original_sz + 1) / 2
    context_xmin = rnd(pos[0] - c)
    context_xmax = context_xmin + sz - 1
    context_ymin = rnd(pos[1] - c)
    context_ymax = context_ymin + sz - 1
    left_pad = int(max(0., -context_xmin))
    top_pad = int(max(0., -context_ymin))
    right_pad = int(max(0., context_xmax - im_sz[1] + 1))
    bottom_pad = int(max(0., context_ymax - im_sz[0] + 1))
    context_xmin, context_xmax = context_xmin + left_pad, context_xmax + left_pad
    context_ymin, context_ymax = context_ymin + top_pad, context_ymax + top_pad
    r, c, k = im.shape
    if any([top_pad, bottom_pad, left_pad, right_pad]):
        te_im = np.zeros((r + top_pad + bottom_pad, c + left_pad + right_pad, k), np.uint8)
        te_im[top_pad:top_pad + r, left_pad:left_pad + c, :] = im
        if top_pad:
            te_im[0:top_pad, left_pad:left_pad + c, :] = avg_chans
        if bottom_pad:
            te_im[r + top_pad:, left_pad:left_pad + c, :] = avg_chans
        if left_pad:
            te_im[:, 0:left_pad, :] = avg_chans
        if right_pad:
            te_im[:, c + left_pad:, :] = avg_chans
        patch = te_im[int(context_ymin):int(context_ymax + 1), int(context_xmin):int(context_xmax + 1), :]
    else:
        patch = im[int(context_ymin):int(context_ymax + 1), int(context_xmin):int(context_xmax + 1), :]
    if not np.array_equal(model_sz, original_sz):
        patch = cv2.resize(patch, (model_sz, model_sz))
    return patch


def transcribed_crop_and_resize(img, center, size, out_size, border_value):
    """siamfc-pytorch ``ops.crop_and_resize`` (``center`` = ``[y, x]``)."""
    size = round(size)
    corners = np.concatenate((np.round(center - (size - 1) / 2), np.round(center - (size - 1) / 2) + size))
    corners = np.round(corners).astype(int)
    pads = np.concatenate((-corners[:2], corners[2:] - img.shape[:2]))
    npad = max(0, int(pads.max()))
    if npad > 0:
        img = cv2.copyMakeBorder(img, npad, npad, npad, npad, cv2.BORDER_CONSTANT, value=border_value)
    corners = (corners + npad).astype(int)
    patch = img[corners[0]:corners[2], corners[1]:corners[3]]
    return cv2.resize(patch, (out_size, out_size), interpolation=cv2.INTER_LINEAR)


def test_round_half_away_and_crop_sides() -> None:
    assert (round_half_away(2.5), round_half_away(-2.5), round_half_away(-2.4)) == (3.0, -3.0, -2.0)
    assert crop_side(84.5, "warp") == 85 and crop_side(84.5, "pysot") == 84      # Python 3 round
    assert crop_side(84.5, "dasiamrpn") == 85 and crop_side(85.5, "siamfc") == 86
    assert crop_side(0.2, "pysot") == 1                                           # at least 1
    # corners: pysot floor(-2.5 + .5) = -2, DaSiamRPN Python 2 round(-2.5) = -3
    assert crop_geometry((1.0, 1.0), 6, "pysot")[:2] == (-2, -2)
    assert crop_geometry((1.0, 1.0), 6, "dasiamrpn")[:2] == (-3, -3)
    assert crop_geometry((1.0, 1.0), 6, "siamfc") == (-2, -2, 6)                 # round(-1.5)
    assert crop_geometry((1.0, 1.0), 6, "warp") == (-2, -2, 6)
    with pytest.raises(SiambenchError, match="no reference crop"):
        crop_reference(smooth_frame(0), (1.0, 1.0), 6, 5, (0, 0, 0), "warp")


@settings(max_examples=40, deadline=None)
@given(cx=st.floats(-80, 400), cy=st.floats(-80, 320), size=st.floats(1.0, 700.0),
       out=st.sampled_from([127, 255, 271, 287]), method=st.sampled_from(["pysot", "dasiamrpn", "siamfc"]),
       float32=st.booleans())
def test_reference_crops_equal_the_transcribed_code(cx, cy, size, out, method, float32) -> None:
    frame = smooth_frame(5)
    avg = np.mean(frame, axis=(0, 1))
    if method == "siamfc":  # a float32 centre is used in float32, as siamfc-pytorch's state
        centre = np.array([cy, cx], dtype=np.float32 if float32 else np.float64)
        ours = crop_reference(frame, centre[::-1], size, out, avg, method)
        ref = transcribed_crop_and_resize(frame, centre, size, out, avg)
    else:
        ours = crop_reference(frame, (cx, cy), size, out, avg, method)
        if method == "pysot":
            ref = transcribed_subwindow(frame, (cx, cy), out, round(size), avg, lambda v: np.floor(v + 0.5))
        else:
            ref = transcribed_subwindow(frame, (cx, cy), out, _py2_round(size), avg, _py2_round)
    np.testing.assert_array_equal(ours, ref)


def test_reference_crop_border_rounding() -> None:
    frame = np.full((40, 40, 3), 7, np.uint8)
    border = (100.7, 100.5, 99.4)
    for method, expected in (("pysot", (100, 100, 99)), ("dasiamrpn", (100, 100, 99)),
                             ("siamfc", (101, 100, 99))):   # siamfc: OpenCV rounds half to even
        crop = crop_reference(frame, (-200.0, -200.0), 50, 50, border, method)
        assert tuple(crop[0, 0]) == expected, method
