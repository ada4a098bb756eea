"""Time siambench's vectorised polygon IoU against a per-frame shapely loop, and the VOT raster overlap.

Run from the repository root with the package installed::

    python benchmarks/polygon_iou.py [--n 20000] [--repeat 3] [--seed 0]

Prints, for the same random convex quadrilaterals (both vertex orders), the best-of-``repeat``
time of ``siambench.boxes.poly_iou`` and of a shapely loop written like got10k's ``poly_iou``
(one ``Polygon`` pair per frame, ``intersection``/``union`` areas), with and without an image
bound, their speed-up and the largest absolute difference between the two; then the time of
``raster_overlap`` (pysot/VOT rasterised overlap) on the same pairs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from siambench.boxes import poly_iou, raster_overlap

BOUND = (640, 480)


def random_quads(rng: np.random.Generator, n: int, centre: np.ndarray | None = None) -> np.ndarray:
    """Convex quadrilaterals (points on rotated ellipses) in a 640x480 frame, either vertex order."""
    if centre is None:
        centre = rng.uniform([0, 0], BOUND, (n, 2))
    radius = rng.uniform(5, 120, (n, 1))
    squash = rng.uniform(0.2, 1.0, (n, 1))
    angle = np.sort(rng.uniform(0, 2 * np.pi, (n, 4)), axis=1)
    reverse = rng.random(n) < 0.5
    angle[reverse] = angle[reverse][:, ::-1]
    rot = rng.uniform(0, np.pi, (n, 1))
    ex, ey = radius * np.cos(angle), radius * squash * np.sin(angle)
    xs = centre[:, :1] + ex * np.cos(rot) - ey * np.sin(rot)
    ys = centre[:, 1:] + ex * np.sin(rot) + ey * np.cos(rot)
    return np.stack([xs, ys], axis=2).reshape(n, 8)


def shapely_loop(a: np.ndarray, b: np.ndarray, bound: tuple[int, int] | None) -> np.ndarray:
    """Per-frame shapely IoU, the way got10k's ``poly_iou`` computes it (without its eps)."""
    from shapely.geometry import Polygon, box

    frame = box(0, 0, bound[0], bound[1]) if bound is not None else None
    out = np.empty(len(a))
    for i, (pa, pb) in enumerate(zip(a, b)):
        p = Polygon(pa.reshape(4, 2))
        q = Polygon(pb.reshape(4, 2))
        if frame is not None:
            p, q = p.intersection(frame), q.intersection(frame)
        union = p.union(q).area
        out[i] = p.intersection(q).area / union if union > 0 else 0.0
    return out


def best_time(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    best, result = float("inf"), np.empty(0)
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="number of frame pairs (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing, best kept (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    a = random_quads(rng, args.n)
    centres = np.stack([a[:, 0::2].mean(axis=1), a[:, 1::2].mean(axis=1)], axis=1)
    b = random_quads(rng, args.n, centres + rng.normal(0, 10, centres.shape))  # mostly overlapping
    b[::7] = random_quads(rng, len(b[::7]))                                    # some far away
    for bound in (None, BOUND):
        label = "no bound" if bound is None else f"bound {bound[0]}x{bound[1]}"
        ours, got = best_time(lambda bound=bound: poly_iou(a, b, bound=bound), args.repeat)
        ref, expected = best_time(lambda bound=bound: shapely_loop(a, b, bound), 1)
        print(f"poly_iou ({label}): {ours * 1e3:.1f} ms for {args.n} pairs; "
              f"shapely loop: {ref * 1e3:.0f} ms; speed-up {ref / ours:.0f}x; "
              f"max |diff| {np.max(np.abs(got - expected)):.1e}")
    for bound in (None, BOUND):
        label = "no bound" if bound is None else f"bound {bound[0]}x{bound[1]}"
        raster, values = best_time(lambda bound=bound: raster_overlap(a, b, bound=bound), args.repeat)
        print(f"raster_overlap ({label}): {raster * 1e3:.0f} ms for {args.n} pairs "
              f"({raster / args.n * 1e6:.1f} us per pair; mean overlap {np.nanmean(values):.3f})")


if __name__ == "__main__":
    main()
