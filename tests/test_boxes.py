"""Tests of siambench.boxes: conventions, conversions, IoUs, VOT raster overlap, centre errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from siambench import boxes as bx
from siambench.errors import SiambenchError

got10k_metrics = pytest.importorskip("got10k.utils.metrics")


def _convex_quads(rng: np.random.Generator, n: int, *, flip: bool = True) -> np.ndarray:
    """Random convex quadrilaterals (points on an ellipse), both vertex orders."""
    centre = rng.uniform(0, 100, (n, 2))
    radius = rng.uniform(1, 40, (n, 1))
    squash = rng.uniform(0.2, 1, (n, 1))
    angle = np.sort(rng.uniform(0, 2 * np.pi, (n, 4)), axis=1)
    if flip:
        reverse = rng.random(n) < 0.5
        angle[reverse] = angle[reverse][:, ::-1]
    rot = rng.uniform(0, np.pi, (n, 1))
    ex, ey = radius * np.cos(angle), radius * squash * np.sin(angle)
    xs = centre[:, :1] + ex * np.cos(rot) - ey * np.sin(rot)
    ys = centre[:, 1:] + ex * np.sin(rot) + ey * np.cos(rot)
    return np.stack([xs, ys], axis=2).reshape(n, 8)


def _random_rects(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.c_[rng.uniform(-20, 100, (n, 2)), rng.uniform(0.5, 50, (n, 2))]


def _shapely_iou(a: np.ndarray, b: np.ndarray, bound=None) -> float:
    pa = Polygon(a.reshape(4, 2))
    pb = Polygon(b.reshape(4, 2))
    if bound is not None:
        frame = Polygon([(0, 0), (bound[0], 0), (bound[0], bound[1]), (0, bound[1])])
        pa, pb = pa.intersection(frame), pb.intersection(frame)
    union = pa.union(pb).area
    return pa.intersection(pb).area / union if union > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# conventions and conversions
# ---------------------------------------------------------------------------------------------

def test_documented_conventions():
    box = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(bx.xywh_to_xyxy(box), [10, 20, 40, 60])          # x + w is the edge
    np.testing.assert_array_equal(bx.box_centres(box), [24.5, 39.5])               # x + (w - 1) / 2
    np.testing.assert_array_equal(bx.xywh_to_cxcywh(box), [24.5, 39.5, 30, 40])
    np.testing.assert_array_equal(bx.xywh_to_cxcywh(box, centre="continuous"), [25, 40, 30, 40])
    np.testing.assert_array_equal(bx.rect_to_polygon(box), [10, 20, 40, 20, 40, 60, 10, 60])
    assert bx.rect_iou([0, 0, 10, 10], [5, 5, 10, 10]) == 25 / 175                # continuous IoU
    assert "x + (w - 1) / 2" in bx.__doc__ and "x + w" in bx.__doc__


def test_conversions_vectorised_and_same_rank():
    rects = np.array([[1.0, 2.0, 3.0, 4.0], [-1.5, 0.25, 10.0, 0.5]])
    xyxy = bx.xywh_to_xyxy(rects)
    assert xyxy.shape == (2, 4) and xyxy.dtype == np.float64
    np.testing.assert_array_equal(xyxy, [[1, 2, 4, 6], [-1.5, 0.25, 8.5, 0.75]])
    np.testing.assert_array_equal(bx.xyxy_to_xywh(xyxy), rects)
    assert bx.rect_to_polygon(rects).shape == (2, 8)
    assert bx.rect_to_polygon([1, 2, 3, 4]).shape == (8,)
    assert bx.polygon_to_rect([0, 0, 2, 0, 2, 3, 0, 3]).shape == (4,)
    assert bx.xywh_to_xyxy([1, 2, 3, 4]).dtype == np.float64                        # ints in, float64 out
    assert bx.box_centres(rects).shape == (2, 2)


def test_inputs_never_mutated_and_read_only_ok():
    rng = np.random.default_rng(1)
    a, b = _random_rects(rng, 20), _random_rects(rng, 20)
    qa, qb = _convex_quads(rng, 20), _convex_quads(rng, 20)
    arrays = [a, b, qa, qb]
    copies = [x.copy() for x in arrays]
    for x in arrays:
        x.flags.writeable = False
    bx.rect_iou(a, b, bound=(50, 50))
    bx.poly_iou(qa, qb, bound=(50, 50))
    bx.poly_iou(a, qb)
    bx.raster_overlap(a, qb, bound=(50, 50))
    bx.centre_error(a, b)
    bx.normalized_centre_error(a, b, convention="pysot")
    for fn in (bx.xywh_to_xyxy, bx.xyxy_to_xywh, bx.xywh_to_cxcywh, bx.cxcywh_to_xywh, bx.rect_to_polygon):
        fn(a)
    bx.polygon_to_rect(qa, rule="area")
    for x, c in zip(arrays, copies):
        np.testing.assert_array_equal(x, c)


def test_bad_shapes_raise_project_error():
    with pytest.raises(bx.BoxFormatError, match=r"shape"):
        bx.rect_iou(np.zeros((3, 5)), np.zeros((3, 4)))
    with pytest.raises(SiambenchError, match="row counts differ"):
        bx.rect_iou(np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(bx.BoxFormatError):
        bx.polygon_to_rect(np.zeros((2, 4)))
    with pytest.raises(bx.BoxFormatError, match="bound"):
        bx.rect_iou(np.zeros((3, 4)), np.zeros((3, 4)), bound=(1, 2, 3))
    with pytest.raises(bx.BoxFormatError, match="row 1 has 3 numbers"):
        bx.raster_overlap([[0, 0, 1, 1], [1, 2, 3]], [[0, 0, 1, 1], [0, 0, 1, 1]])


def test_polygon_to_rect_rules():
    # plain bbox: min/max, continuous, inverse of rect_to_polygon
    poly = np.array([3.0, 1.0, 7.0, 2.0, 6.0, 9.0, 2.0, 8.0])
    np.testing.assert_array_equal(bx.polygon_to_rect(poly), [2, 1, 5, 8])
    # area-preserving rule on a square rotated by 45°: side 10, bbox 10·√2 → s = 1/√2
    r = 10 / np.sqrt(2)
    diamond = np.array([50, 50 - r, 50 + r, 50, 50, 50 + r, 50 - r, 50])
    x, y, w, h = bx.polygon_to_rect(diamond, rule="area")
    assert w == pytest.approx(11.0, abs=1e-12) and h == pytest.approx(11.0, abs=1e-12)  # s·(x2-x1) + 1
    assert x + (w - 1) / 2 == pytest.approx(50.0) and y + (h - 1) / 2 == pytest.approx(50.0)
    x, y, w, h = bx.polygon_to_rect(diamond, rule="area_got10k")
    assert x + w / 2 == pytest.approx(50.0) and w == pytest.approx(11.0)
    # pysot's test.py: a 4-value GT turned into the inclusive polygon gives back the same rect
    gx, gy, gw, gh = 12.5, 7.0, 30.0, 20.0
    inclusive = [gx, gy, gx, gy + gh - 1, gx + gw - 1, gy + gh - 1, gx + gw - 1, gy]
    np.testing.assert_allclose(bx.polygon_to_rect(inclusive, rule="area"), [gx, gy, gw, gh], atol=1e-12)
    # degenerate polygon: no warning, s = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(bx.polygon_to_rect([0, 0, 10, 0, 10, 0, 0, 0], rule="area"),
                                      [0, -0.0, 11, 1])


def test_polygon_to_rect_area_got10k_matches_got10k():
    from got10k.datasets.vot import VOT
    corners = _convex_quads(np.random.default_rng(3), 50)
    expected = VOT._corner2rect(None, corners.copy())
    np.testing.assert_allclose(bx.polygon_to_rect(corners, rule="area_got10k"), expected, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# rect IoU
# ---------------------------------------------------------------------------------------------

def test_rect_iou_hand_cases():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [2, 2, 4, 4]], float)
    b = np.array([[0, 0, 10, 10], [5, 5, 10, 10], [10, 0, 5, 5], [20, 20, 1, 1], [0, 0, 10, 10]], float)
    np.testing.assert_array_equal(bx.rect_iou(a, b), [1.0, 25 / 175, 0.0, 0.0, 16 / 100])
    assert isinstance(bx.rect_iou(a[1], b[1]), float)
    np.testing.assert_array_equal(bx.rect_iou(a, b[0]), bx.rect_iou(a, np.tile(b[0], (5, 1))))


def test_rect_iou_bound_reproduces_got10k_quirk():
    # x clipped to 0 first, then w into [0, W - x]: a box sticking out on the left keeps its width
    a = np.array([[-5.0, 0.0, 10.0, 10.0]])
    b = np.array([[0.0, 0.0, 10.0, 10.0]])
    assert bx.rect_iou(a, b, bound=(100, 100))[0] == 1.0
    assert bx.rect_iou(a, b)[0] == 50 / 150
    # box outside the image → zero area → 0; per-row bounds
    out = bx.rect_iou([[120, 5, 10, 10], [5, 5, 10, 10]], [[0, 0, 10, 10], [5, 5, 10, 10]],
                      bound=np.array([[100, 100], [10, 10]]))
    np.testing.assert_array_equal(out, [0.0, 1.0])
    np.testing.assert_array_equal(a, [[-5.0, 0.0, 10.0, 10.0]])


def test_rect_iou_matches_got10k():
    rng = np.random.default_rng(0)
    a, b = _random_rects(rng, 2000), _random_rects(rng, 2000)
    for bound in (None, (80, 60)):
        expected = got10k_metrics.rect_iou(a.copy(), b.copy(), bound=bound)
        np.testing.assert_allclose(bx.rect_iou(a, b, bound=bound), expected, rtol=0, atol=1e-12)


def test_invalid_rows_rule_without_warnings():
    a = np.array([[0, 0, 10, 10], [np.nan, 0, 10, 10], [0, 0, 0, 10], [0, 0, -5, 10],
                  [np.nan, 0, 0, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10],
                  [0, 0, 10, 10], [0, 0, 10, -1]], float)
    expected = [1.0, np.nan, 0.0, 0.0, np.nan, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(bx.rect_iou(a, b), expected)
        np.testing.assert_array_equal(bx.rect_iou(b, a), expected)
        np.testing.assert_array_equal(bx.rect_iou(a, b, bound=(100, 100)), expected)
        np.testing.assert_array_equal(bx.poly_iou(a, b), expected)
        np.testing.assert_array_equal(bx.poly_iou(a, b, bound=(100, 100)), expected)
        np.testing.assert_array_equal(bx.raster_overlap(a, b), expected)
        np.testing.assert_array_equal(bx.raster_overlap(a, b, bound=(100, 100)), expected)
        ce = bx.centre_error(a, b)
        assert np.isnan(ce[1]) and np.isnan(ce[4]) and ce[0] == 0.0
        nce = bx.normalized_centre_error(a, b, convention="pysot")
        assert np.isnan(nce[1]) and np.isfinite(nce[5])
        # both outside the image: empty union → 0 for the IoUs, NaN for the VOT raster overlap
        assert bx.poly_iou([200, 200, 5, 5], [300, 300, 5, 5], bound=(100, 100)) == 0.0
        assert bx.rect_iou([200, 200, 5, 5], [200, 200, 5, 5], bound=(100, 100)) == 0.0
        assert np.isnan(bx.raster_overlap([200, 200, 5, 5], [300, 300, 5, 5], bound=(100, 100)))


# ---------------------------------------------------------------------------------------------
# polygon IoU
# ---------------------------------------------------------------------------------------------

def test_poly_iou_matches_got10k_and_shapely_random():
    rng = np.random.default_rng(42)
    a, b = _convex_quads(rng, 1500), _convex_quads(rng, 1500)
    for bound in (None, (80, 60)):
        got = bx.poly_iou(a, b, bound=bound)
        expected = got10k_metrics.poly_iou(a.copy(), b.copy(), bound=bound)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
        assert (got > 0).mean() > 0.05  # the sample does contain overlapping pairs
    # rects and mixed rect/polygon rows
    ra = _random_rects(rng, 300)
    np.testing.assert_allclose(bx.poly_iou(ra, b[:300], bound=(80, 60)),
                               got10k_metrics.poly_iou(bx.rect_to_polygon(ra), b[:300].copy(),
                                                       bound=(80, 60)),
                               rtol=0, atol=1e-9)


def test_poly_iou_special_cases_against_shapely():
    square = np.array([0, 0, 10, 0, 10, 10, 0, 10], float)
    diamond = np.array([5, -2, 12, 5, 5, 12, -2, 5], float)
    cases = [
        (square, diamond),                                           # rotated, partial
        (square, square[::-1].reshape(4, 2)[:, ::-1].ravel()),       # same square, other orientation
        (square, np.array([2, 2, 8, 2, 8, 8, 2, 8], float)),         # nested
        (square, square + np.tile([10.0, 0.0], 4)),                   # touching along an edge
        (square, square + np.tile([10.0, 10.0], 4)),                  # touching at a corner
        (square, square + 50),                                        # disjoint
        (square, np.array([0, 0, 10, 0, 10, 0, 0, 10], float)),      # repeated vertex: a triangle
        (diamond, np.array([-5, -5, 20, 20, 10, 10, 0, 0], float)),  # collinear: zero area
    ]
    for a, b in cases:
        got = bx.poly_iou(a, b)
        assert got == pytest.approx(_shapely_iou(a, b), abs=1e-12)
        assert bx.poly_iou(b, a) == pytest.approx(got, abs=1e-12)
        for bound in ((8, 9), (100, 100)):
            assert bx.poly_iou(a, b, bound=bound) == pytest.approx(_shapely_iou(a, b, bound), abs=1e-12)
    assert bx.poly_iou(square, cases[1][1]) == 1.0
    assert bx.poly_iou(square, diamond) == pytest.approx(
        Polygon(square.reshape(4, 2)).intersection(Polygon(diamond.reshape(4, 2))).area
        / Polygon(square.reshape(4, 2)).union(Polygon(diamond.reshape(4, 2))).area, abs=1e-14)


# ---------------------------------------------------------------------------------------------
# hypothesis properties
# ---------------------------------------------------------------------------------------------

coord = st.integers(-200, 200).map(float)
size = st.integers(1, 120).map(float)
rect = st.tuples(coord, coord, size, size).map(np.array)
shift = st.tuples(st.integers(-100, 100), st.integers(-100, 100)).map(lambda t: np.array(t, float))
frac = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
anyrect = st.tuples(frac, frac, st.floats(0.01, 80), st.floats(0.01, 80)).map(np.array)


@settings(max_examples=150, deadline=None)
@given(anyrect, anyrect)
def test_iou_symmetric_bounded_and_poly_equals_rect(a, b):
    iou = bx.rect_iou(a, b)
    assert 0.0 <= iou <= 1.0
    assert bx.rect_iou(b, a) == iou
    assert bx.poly_iou(a, b) == pytest.approx(iou, abs=1e-9)
    assert bx.poly_iou(bx.rect_to_polygon(a), bx.rect_to_polygon(b)) == pytest.approx(iou, abs=1e-9)
    overlap = bx.raster_overlap(a, b)
    if np.isnan(overlap):  # empty union: both regions round to no pixel
        assert np.isnan(bx.raster_overlap(a, a)) and np.isnan(bx.raster_overlap(b, b))
    else:
        assert 0.0 <= overlap <= 1.0 and bx.raster_overlap(b, a) == overlap


@settings(max_examples=100, deadline=None)
@given(anyrect)
def test_identical_boxes_give_one(a):
    assert bx.rect_iou(a, a) == 1.0
    assert bx.poly_iou(a, a) == pytest.approx(1.0, abs=1e-12)
    overlap = bx.raster_overlap(a, a)
    assert overlap == 1.0 or np.isnan(overlap)  # NaN only when rounding leaves no pixel


@settings(max_examples=100, deadline=None)
@given(rect, rect, shift)
def test_translation_invariance(a, b, t):
    moved_a, moved_b = a.copy(), b.copy()
    moved_a[:2] += t
    moved_b[:2] += t
    assert bx.rect_iou(moved_a, moved_b) == pytest.approx(bx.rect_iou(a, b), abs=1e-12)
    assert bx.poly_iou(moved_a, moved_b) == pytest.approx(bx.poly_iou(a, b), abs=1e-12)
    np.testing.assert_array_equal(bx.raster_overlap(moved_a, moved_b),
                                  bx.raster_overlap(a, b))  # integer shifts: exact (NaN too)
    assert bx.centre_error(moved_a, moved_b) == pytest.approx(bx.centre_error(a, b), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(anyrect)
def test_conversion_round_trips(a):
    np.testing.assert_allclose(bx.xyxy_to_xywh(bx.xywh_to_xyxy(a)), a, rtol=0, atol=1e-12)
    for centre in ("pixel", "continuous"):
        np.testing.assert_allclose(bx.cxcywh_to_xywh(bx.xywh_to_cxcywh(a, centre=centre), centre=centre),
                                   a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bx.polygon_to_rect(bx.rect_to_polygon(a)), a, rtol=0, atol=1e-12)
    assert bx.polygon_to_rect(bx.rect_to_polygon(a), rule="area")[2:] == pytest.approx(a[2:] + 1)


# ---------------------------------------------------------------------------------------------
# centre errors
# ---------------------------------------------------------------------------------------------

def test_centre_error_hand_and_got10k():
    assert bx.centre_error([0, 0, 10, 10], [3, 4, 10, 10]) == 5.0
    assert bx.centre_error([0, 0, 11, 11], [0, 0, 1, 1]) == pytest.approx(np.hypot(5, 5))
    rng = np.random.default_rng(5)
    a, b = _random_rects(rng, 500), _random_rects(rng, 500)
    np.testing.assert_array_equal(bx.centre_error(a, b), got10k_metrics.center_error(a, b))


def test_normalized_centre_error_conventions():
    pred = np.array([[10.0, 10.0, 20.0, 40.0], [0.0, 0.0, 1.0, 1.0]])
    gt = np.array([[0.0, 0.0, 20.0, 40.0], [0.0, 0.5, 0.5, 0.5]])
    # row 0: dx = 10 / 20, dy = 10 / 40; row 1: centres (0, 0) vs (-0.25, 0.25), size max(1, 0.5) = 1
    np.testing.assert_allclose(bx.normalized_centre_error(pred, gt),
                               [np.hypot(0.5, 0.25), np.hypot(0.25, 0.25)], rtol=1e-15)
    # pysot: no max(1, ·): row 1 divided by 0.5
    np.testing.assert_allclose(bx.normalized_centre_error(pred, gt, convention="pysot"),
                               [np.hypot(0.5, 0.25), np.hypot(0.5, 0.5)], rtol=1e-15)
    # argument order matters: normalised by the second (ground-truth) box
    assert (bx.normalized_centre_error(gt[1], pred[1])
            != bx.normalized_centre_error(pred[1], gt[1], convention="pysot"))
    with pytest.raises(bx.BoxFormatError):
        bx.normalized_centre_error(pred, gt, convention="lasot")


# ---------------------------------------------------------------------------------------------
# VOT raster overlap
# ---------------------------------------------------------------------------------------------

# spec §11, measured with the VOT region code (pysot)
SPEC_11 = [
    ([0, 0, 10, 10], [5, 5, 10, 10], None, 0.17475728690624237),
    ([0, 0, 10, 10], [0.5, 0.5, 10, 10], None, 0.7042253613471985),
    ([0, 0, 10, 10], [5, 5, 10, 10], (8, 8), 0.1975308656692505),
    ([10, 10, 20, 10, 20, 20, 10, 20], [15, 15, 10, 10], None, 0.17475728690624237),
    ([0, 0, 10, 10], [-5, -5, 10, 10], (100, 100), 0.2975206673145294),
    ([0.2, 0.3, 10.4, 10.6], [3.7, 2.1, 8.8, 9.9], None, 0.4597701132297516),
]


@pytest.mark.parametrize("a, b, bound, expected", SPEC_11)
def test_raster_overlap_reference_values(a, b, bound, expected):
    assert bx.raster_overlap(a, b, bound=bound) == expected
    assert bx.raster_overlap(b, a, bound=bound) == expected


def test_raster_overlap_batch_list_and_padded_inputs():
    a = [row[0] for row in SPEC_11]
    b = [row[1] for row in SPEC_11]
    expected = [row[3] for row in SPEC_11]
    unbounded = [i for i, row in enumerate(SPEC_11) if row[2] is None]
    got = bx.raster_overlap([a[i] for i in unbounded], [b[i] for i in unbounded])
    np.testing.assert_array_equal(got, [expected[i] for i in unbounded])
    # NaN-padded (N, 8) mix equals the list form
    padded = np.full((len(a), 8), np.nan)
    for i, row in enumerate(a):
        padded[i, :len(row)] = row
    np.testing.assert_array_equal(bx.raster_overlap(padded[unbounded], [b[i] for i in unbounded]), got)
    # per-row bounds; status-code lines (1 number) → NaN like pysot
    bounds = np.array([row[2] or (1000, 1000) for row in SPEC_11], float)
    assert bx.raster_overlap(a, b, bound=bounds)[[2, 4]].tolist() == [expected[2], expected[4]]
    out = bx.raster_overlap([[2], [0, 0, 10, 10], [0]], [[0, 0, 10, 10]] * 3)
    assert np.isnan(out[0]) and out[1] == 1.0 and np.isnan(out[2])


def _reference_region_overlap(p1, p2, bound=None) -> float:
    """Scalar transliteration of region.c compute_polygon_overlap (non-legacy), masks and all."""
    f = np.float32

    def as_poly(r):
        r = [float(v) for v in r]
        if len(r) == 4:
            r = [r[0], r[1], r[0] + r[2], r[1], r[0] + r[2], r[1] + r[3], r[0], r[1] + r[3]]
        return [f(v) for v in r[0::2]], [f(v) for v in r[1::2]]

    def c_round(v):
        return float(np.floor(v + 0.5)) if v >= 0 else -float(np.floor(-v + 0.5))

    lim = ((f(-np.inf), f(np.inf), f(-np.inf), f(np.inf)) if bound is None
           else (f(0), f(bound[1]), f(0), f(bound[0])))
    polys = [as_poly(p1), as_poly(p2)]
    bb = []
    for xs, ys in polys:  # top, bottom, left, right
        bb.append((max(f(np.floor(min(ys))), lim[0]), min(f(np.ceil(max(ys))), lim[1]),
                   max(f(np.floor(min(xs))), lim[2]), min(f(np.ceil(max(xs))), lim[3])))
    (t1, b1, l1, r1), (t2, b2, l2, r2) = bb
    x, y = min(l1, l2), min(t1, t2)
    width = int(f(max(r1, r2) - x)) + 1
    height = int(f(max(b1, b2) - y)) + 1
    if (r1 < l1 or b1 < t1) and (r2 < l2 or b2 < t2):
        return float("nan")  # no pixel of either region inside the bound (siambench rule)
    a1, a2 = float(f((r1 - l1) * (b1 - t1))), float(f((r2 - l2) * (b2 - t2)))
    with np.errstate(all="ignore"):
        if (np.float64(a1) / a2 < 1e-10) or (np.float64(a2) / a1 < 1e-10) or width < 1 or height < 1:
            return 0.0
        inter = f(f(min(r1, r2) - max(l1, l2)) * f(min(b1, b2) - max(t1, t2)))
        ratio = f(inter / f(f(f((r1 - l1) * (b1 - t1)) + f((r2 - l2) * (b2 - t2))) - inter))
    if max(ratio, f(0)) == 0:  # C MAX(0, ratio): NaN stays NaN
        return 0.0
    masks = []
    for xs, ys in polys:
        px = [c_round(float(f(v + f(-x)))) for v in xs]
        py = [c_round(float(f(v + f(-y)))) for v in ys]
        mask = np.zeros((height, width), bool)
        for row in range(height):
            nodes = []
            j = 3
            for i in range(4):
                yi, yj = int(py[i]), int(py[j])
                if ((yi <= row < yj) or (yj <= row < yi) or (yi < row <= yj) or (yj < row <= yi)
                        or (yi == yj == row)):
                    r, k = py[j] - py[i], px[j] - px[i]
                    if r != 0:
                        nodes.append(int(px[i] + (row - py[i]) / r * k))
                j = i
            nodes.sort()
            i = 0
            while i < len(nodes) - 1:
                if nodes[i] == nodes[i + 1]:
                    i += 1
                    continue
                if nodes[i] >= width:
                    break
                if nodes[i + 1] >= 0:
                    nodes[i] = max(nodes[i], 0)
                    nodes[i + 1] = min(nodes[i + 1], width - 1)
                    mask[row, nodes[i]:nodes[i + 1] + 1] = True
                i += 2
        masks.append(mask)
    both = int((masks[0] & masks[1]).sum())
    union = int((masks[0] | masks[1]).sum())
    return float(f(both) / f(union)) if union else float("nan")   # C: 0 / 0


def test_raster_overlap_matches_region_c_transliteration():
    rng = np.random.default_rng(7)
    n = 150
    rects_a = np.c_[rng.uniform(-10, 40, (n, 2)).round(1), rng.uniform(0.5, 30, (n, 2)).round(1)]
    rects_b = rects_a + np.c_[rng.normal(0, 4, (n, 2)), rng.normal(0, 3, (n, 2))].round(2)
    rects_b[:, 2:] = np.abs(rects_b[:, 2:]) + 0.5
    quads_a = _convex_quads(rng, n) * 0.5 - 5
    quads_b = quads_a + rng.normal(0, 3, (n, 8))
    halves = np.array([[0.5, 1.5, 2.5, 3.5], [-0.5, -1.5, 4.0, 5.0], [2.5, 2.5, 0.5, 0.5]])
    # axis-aligned polygons (the closed-form path), some degenerate after rounding, and
    # regions outside the (30, 25) image, alone or both (empty union)
    aligned = bx.rect_to_polygon(np.c_[rng.uniform(-40, 60, (n, 2)).round(1),
                                       rng.uniform(0, 4, (n, 2)).round(1)])
    aligned[::3] = aligned[::3, [2, 3, 4, 5, 6, 7, 0, 1]]      # other starting vertex
    outside = np.c_[rng.choice([-60.0, 45.0], (n, 2)) + rng.uniform(0, 5, (n, 2)),
                    rng.uniform(1, 9, (n, 2))]
    # any vertex order on integer (and half-integer) points: non-convex and self-intersecting
    # quads, vertices on the scan rows (duplicate nodes, two spans on one row)
    tangled = rng.integers(-5, 30, (n, 8)) + rng.choice([0.0, 0.5], (n, 8))
    pairs = [(rects_a, rects_b), (quads_a, quads_b), (rects_a, quads_a), (quads_b, rects_b),
             (halves, halves[::-1]),
             (aligned, rects_a), (aligned, quads_b), (aligned, aligned[::-1]),
             (outside, outside[::-1]), (outside, rects_a), (outside, quads_a),
             (tangled, tangled[::-1]), (tangled, rects_b), (quads_a, tangled)]
    for first, second in pairs:
        for bound in (None, (30, 25)):
            expected = [_reference_region_overlap(p, q, bound) for p, q in zip(first, second)]
            np.testing.assert_array_equal(bx.raster_overlap(first, second, bound=bound), expected)
    # empty union (both outside the image) → NaN; one region inside → 0
    assert np.isnan(bx.raster_overlap(outside, outside[::-1], bound=(30, 25))).all()
    assert (bx.raster_overlap(outside, [10, 10, 5, 5], bound=(30, 25)) == 0).all()
    assert (bx.raster_overlap(outside, outside[::-1]) >= 0).all()     # unbounded: never empty


# ---------------------------------------------------------------------------------------------
# real files
# ---------------------------------------------------------------------------------------------

def test_real_vot2018_results(shared_data):
    gt_all = json.loads((shared_data / "xl-sr_THOR" / "data" / "VOT2018.json").read_text())
    results = (shared_data / "HonglinChu_SiamTrackers" / "SiamBAN" / "SiamBAN" / "results" / "VOT2018"
               / "siamban" / "baseline")
    for name in ("ants1", "conduction1"):
        entry = gt_all[name]
        gt = entry["gt_rect"]
        lines = (results / name / f"{name}_001.txt").read_text().split()
        pred = [[float(v) for v in line.split(",")] for line in lines]
        assert len(pred) == len(gt)
        bound = (entry["width"], entry["height"])
        overlaps = bx.raster_overlap(pred, gt, bound=bound)
        status = np.array([len(p) == 1 for p in pred])
        assert np.isnan(overlaps[status]).all() and not np.isnan(overlaps[~status]).any()
        assert ((overlaps[~status] >= 0) & (overlaps[~status] <= 1)).all()
        boxes = np.array([p for p in pred if len(p) == 4])
        gt_rows = np.array([g for g, s in zip(gt, status) if not s])
        analytic = bx.poly_iou(boxes, gt_rows, bound=bound)
        assert np.abs(overlaps[~status] - analytic).mean() < 0.05   # raster ≈ analytic
        assert (bx.raster_overlap(gt, gt, bound=bound) == 1.0).all()
        np.testing.assert_allclose(analytic, got10k_metrics.poly_iou(boxes, gt_rows, bound=bound),
                                   rtol=0, atol=1e-9)
    assert len(gt_all["conduction1"]["gt_rect"][0]) == 4    # the one 4-number VOT2018 sequence


# --------------------------------------------------------------------------------------------
# region rows (one helper for the protocol engine and the VOT metrics)
# --------------------------------------------------------------------------------------------

def test_region_rows_pad_unpad_polygons_and_area() -> None:
    rows = bx.pad_regions([[1.0, 2.0, 3.0, 4.0]])
    assert rows.shape == (1, 8) and np.isnan(rows[0, 4:]).all()
    np.testing.assert_array_equal(bx.unpad_region(rows[0]), [1, 2, 3, 4])
    poly = [0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 0.0, 3.0]
    np.testing.assert_array_equal(bx.unpad_region(poly), poly)
    mixed = np.vstack([rows, [poly], np.full((1, 8), np.nan)])
    np.testing.assert_array_equal(bx.region_polygons(mixed),
                                  [[1, 2, 4, 2, 4, 6, 1, 6], poly, [np.nan] * 8])
    assert bx.region_has_area(rows[0]) and bx.region_has_area(poly)
    assert not bx.region_has_area([1, 2, 0, 4]) and not bx.region_has_area([1, 2, np.nan, 4])
    assert not bx.region_has_area([0, 0, 1, 1, 2, 2, 3, 3])  # collinear: no area
    with pytest.raises(SiambenchError, match="4 or 8 numbers, got 5"):
        bx.unpad_region([1, 2, 3, 4, 5])
    with pytest.raises(SiambenchError, match=r"\(N, 4\) or \(N, 8\)"):
        bx.pad_regions([[1.0, 2.0]])
