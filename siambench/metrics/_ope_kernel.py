"""numba kernels of OPE scoring: per run, one SIMD pass over the frames to histogram keys, then curves.

Per run: a branch-free pass computes each frame's values and estimated keys, a scalar pass recounts
the rare frames within ``_NEAR`` grid steps of a threshold exactly, a third pass fills the count
histograms of the success, precision and normalised precision curves, and the curves are written
from them (in the kernel's thread, so that several threads share that work too). Runs are passed as data
addresses (``siambench.metrics.ope_fast._addresses``), so one call scores thousands of runs;
:func:`mean_rates` computes the speeds from the time arrays, passed the same way.

Imported lazily by :mod:`siambench.metrics.ope_fast` at the first scoring call that uses it (importing
numba costs ~0.3 s), never by ``import siambench.metrics``. Compiled on first use and cached on disk
(``cache=True``); ``nogil=True`` lets threads score disjoint runs side by side.

The per-frame values are the numpy path's, operation for operation (no ``fastmath``, so no
reassociation or fused multiply-add): IoU ``inter / ((area_p + area_g) - inter)`` with areas from edge
differences (:func:`siambench.boxes.rect_iou`), centres ``x + (w - 1) * 0.5``
(:func:`~siambench.boxes.box_centres`), errors ``sqrt(dx * dx + dy * dy)``
(:func:`~siambench.boxes.centre_error`, :func:`~siambench.boxes.normalized_centre_error`);
``min`` / ``max`` propagate NaN like ``np.minimum`` / ``np.maximum``. Histogram keys are exact counts
of thresholds strictly below the value (see :mod:`siambench.metrics._core`), so the curves equal
the numpy path's bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic

# invalid ground-truth rules (OPEConvention.invalid_gt)
RULE_NONE, RULE_OTB, RULE_MISS, RULE_EXCLUDE = 0, 1, 2, 3
RULES = {"none": RULE_NONE, "otb": RULE_OTB, "miss": RULE_MISS, "exclude": RULE_EXCLUDE}
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}   # x / 0 is inf / NaN, as in numpy


@njit(**_JIT)
def _minimum(a: float, b: float) -> float:
    """``np.minimum``: NaN if either is NaN."""
    if math.isnan(a):
        return a
    if math.isnan(b):
        return b
    return a if a <= b else b  # noqa: FURB136 (min() is not np.minimum for signed zeros)


@njit(**_JIT)
def _maximum(a: float, b: float) -> float:
    """``np.maximum``: NaN if either is NaN."""
    if math.isnan(a):
        return a
    if math.isnan(b):
        return b
    return a if a >= b else b  # noqa: FURB136 (max() is not np.maximum for signed zeros)


@intrinsic
def _as_pointer(typingctx, address):  # pragma: no cover
    """A float64 pointer from an integer address."""
    signature = types.CPointer(types.float64)(types.intp)

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

    return signature, codegen


#: arrays per :func:`addresses_of` call (a tuple of this many float64 C arrays of one dimensionality
#: is one compiled signature)
ADDRESS_GROUP = 16


@njit(**_JIT)
def addresses_of(arrays, out, start):  # pragma: no cover
    """``out[start + k]`` = the data address of ``arrays[k]`` for the ``ADDRESS_GROUP`` arrays of the
    tuple (numba unboxes a tuple of arrays in C: ~0.1 us an array, against ~0.8 us for Python's
    ``__array_interface__``)."""
    for k in range(ADDRESS_GROUP):
        out[start + k] = arrays[k].ctypes.data


# a value within this many grid steps of a grid point gets its count recomputed exactly
_NEAR = 1e-6


@njit(**_JIT)
def ope_curves(pred_addr, gt_addr, lengths, run_gt, thr_s, thr_n, first_frame_gt, rule,
               inclusive_last, perfect_iou, pysot, succ, prec, norm, frames):  # pragma: no cover
    """Per-run success, precision and normalised precision curves, one run per row.

    Run ``r`` is the C-contiguous ``(lengths[r], 4)`` float64 array at address ``pred_addr[r]``,
    scored against the ground truth at ``gt_addr[run_gt[r]]`` (same shape). ``thr_s``: the 21
    success thresholds ``~= arange(21) / 20``; ``thr_n``: the 51 normalised ones ``~= arange(51) / 100``
    (precision thresholds are the integers 0..50 px). Counts frames per key (success: 22 bins, key
    ``#{thr_s < IoU}``, NaN -> 0; precision and normalised: 52 bins, ``#{thr < error}``, NaN -> 51)
    and writes ``succ[r]`` (21 values ``#(IoU > thr) / frames``), ``prec[r]`` and ``norm[r]`` (51
    values ``#(error <= thr) / frames``) — :func:`siambench.metrics._core.success_from_histogram` /
    ``precision_from_histogram``'s operations, so the same bits — and ``frames[r]`` (frames in the
    denominator; 0 gives NaN curves). ``rule``: one of ``RULE_*``.

    Per run: one branch-free (SIMD) pass computes the values and estimated keys (``ceil(v * scale)``,
    exact except within ``_NEAR`` grid steps of a grid point, where the frames are flagged), a
    scalar pass recounts the flagged frames exactly against the thresholds (rare on float data),
    and a last pass adds the keys to the histograms (excluded frames go to a spare bin).
    """
    n_s = thr_s.shape[0]
    n_n = thr_n.shape[0]
    n_p = prec.shape[1]
    longest = 0
    for r in range(lengths.shape[0]):
        longest = max(longest, lengths[r])
    values = np.empty((2, longest))
    keys = np.empty((4, longest), np.int32)
    local = np.empty((3, max(n_s, n_p) + 2), np.int64)
    for r in range(lengths.shape[0]):
        n = lengths[r]
        if n == 0:
            succ[r, :] = np.nan
            prec[r, :] = np.nan
            norm[r, :] = np.nan
            frames[r] = 0
            continue
        p = carray(_as_pointer(pred_addr[r]), (n, 4))
        g = carray(_as_pointer(gt_addr[run_gt[r]]), (n, 4))
        near = _keys(p, g, n, first_frame_gt, n_s, n_n, n_p, rule, inclusive_last, perfect_iou, pysot,
                     values, keys)
        if near:
            for i in range(n):
                if keys[3, i]:
                    keys[0, i] = _count_below(values[0, i], thr_s, inclusive_last, perfect_iou)
                    keys[2, i] = _count_below(values[1, i], thr_n, False, 0.0)
        local[:] = 0
        hs = local[0]
        hp = local[1]
        hn = local[2]
        for i in range(n):
            hs[keys[0, i]] += 1
            hp[keys[1, i]] += 1
            hn[keys[2, i]] += 1
        total = n - hs[n_s + 1]
        frames[r] = total
        cum = 0
        for j in range(n_s):
            cum += hs[j]
            succ[r, j] = (total - cum) / total
        _hit_curve(hp, total, prec[r])
        _hit_curve(hn, total, norm[r])


@njit(**_JIT)
def _hit_curve(hist, total, out):  # pragma: no cover
    """``out[j] = #(key <= j) / total`` from the count histogram (``precision_from_histogram``)."""
    cum = 0
    for j in range(out.shape[0]):
        cum += hist[j]
        out[j] = cum / total


@njit(**_JIT)
def _count_below(v, thresholds, inclusive_last, perfect_iou):  # pragma: no cover
    """Exact ``#{thresholds < v}`` (binary search; ``v`` not NaN), or ``n`` when
    ``inclusive_last`` and ``v >= perfect_iou``."""
    n = thresholds.shape[0]
    if inclusive_last and v >= perfect_iou:
        return n
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if thresholds[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**_JIT)
def _keys(p, g, n, first_frame_gt, n_s, n_n, n_p, rule, inclusive_last, perfect_iou, pysot,
          values, keys):  # pragma: no cover
    """Rows ``0 .. n - 1`` of ``p`` against ``g`` (row 0 of ``g`` for row 0 if ``first_frame_gt``):
    IoU and normalised error into ``values``,
    estimated keys into ``keys[0:3]`` and near-grid flags into ``keys[3]``; returns the number of
    flagged frames.

    Values: :func:`siambench.boxes.rect_iou`, :func:`~siambench.boxes.centre_error` and
    :func:`~siambench.boxes.normalized_centre_error`, the same operations in the same order.
    Written without branches (selects only) so that the loop vectorises.
    """
    f_s = float(n_s)
    f_n = float(n_n)
    f_p = float(n_p)
    near_total = 0
    for i in range(n):
        gx, gy, gw, gh = g[i, 0], g[i, 1], g[i, 2], g[i, 3]
        px, py, pw, ph = p[i, 0], p[i, 1], p[i, 2], p[i, 3]
        if first_frame_gt and i == 0:   # frame 0 is the ground truth box (a select)
            px, py, pw, ph = gx, gy, gw, gh
        px2 = px + pw
        py2 = py + ph
        gx2 = gx + gw
        gy2 = gy + gh
        iw = _maximum(_minimum(px2, gx2) - _maximum(px, gx), 0.0)
        ih = _maximum(_minimum(py2, gy2) - _maximum(py, gy), 0.0)
        inter = iw * ih
        union = (px2 - px) * (py2 - py) + (gx2 - gx) * (gy2 - gy) - inter
        iou = inter / union
        pcx = (pw - 1.0) * 0.5 + px        # centres x + (w - 1) / 2
        pcy = (ph - 1.0) * 0.5 + py
        gcx = (gw - 1.0) * 0.5 + gx
        gcy = (gh - 1.0) * 0.5 + gy
        dx = pcx - gcx
        dy = pcy - gcy
        if pysot:   # c / (wh + 1e-16) - c_gt / (wh_gt + 1e-16)
            sx = gw + 1e-16
            sy = gh + 1e-16
            nx = pcx / sx - gcx / sx
            ny = pcy / sy - gcy / sy
        else:       # (c - c_gt) / max(1, wh_gt)
            nx = dx / _maximum(1.0, gw)
            ny = dy / _maximum(1.0, gh)
        d = math.sqrt(dx * dx + dy * dy)
        nd = math.sqrt(nx * nx + ny * ny)
        # success: ceil(IoU * 20) clipped to [0, 21], NaN -> 0; exact unless near grid 1 .. 21
        t = iou * (f_s - 1.0)
        c = np.ceil(t)
        c = c if c > 0.0 else 0.0  # noqa: FURB136 (selects: NaN -> 0, vectorisable)
        c = c if c < f_s else f_s  # noqa: FURB136
        if inclusive_last:
            c = f_s if iou >= perfect_iou else c
        near_s = abs(t - np.rint(t)) < _NEAR and t > 0.5
        # precision: d <= j  <=>  ceil(d) <= j for the integers j = 0 .. 50; NaN -> 51
        cp = np.ceil(d)
        cp = cp if cp < f_p else f_p  # noqa: FURB136 (NaN -> 51)
        # normalised: ceil(nd * 100) clipped to 51, NaN -> 51 (nd >= 0); exact unless near 1 .. 51
        tn = nd * ((f_n - 1.0) * 2.0)
        cn = np.ceil(tn)
        cn = cn if cn < f_n else f_n  # noqa: FURB136 (NaN -> 51)
        near_n = abs(tn - np.rint(tn)) < _NEAR and tn > 0.5
        if rule != RULE_NONE:
            bad = (math.isnan(gx) | math.isnan(gy) | math.isnan(gw) | math.isnan(gh)
                   | (gw <= 0.0) | (gh <= 0.0))
            if rule == RULE_EXCLUDE:   # the spare bins: dropped
                c = f_s + 1.0 if bad else c
                cp = f_p + 1.0 if bad else cp
                cn = f_p + 1.0 if bad else cn
            else:                      # IoU fails; errors hit (otb) or miss everywhere
                fixed = 0.0 if rule == RULE_OTB else f_p
                c = 0.0 if bad else c
                cp = fixed if bad else cp
                cn = fixed if bad else cn
            near_s = near_s and not bad
            near_n = near_n and not bad
        flag = near_s or near_n
        values[0, i] = iou
        values[1, i] = nd
        keys[0, i] = np.int32(c)
        keys[1, i] = np.int32(cp)
        keys[2, i] = np.int32(cn)
        keys[3, i] = np.int32(flag)
        near_total += flag
    return near_total


@njit(**_JIT)
def _block_sum(a, lo, n):  # pragma: no cover
    """numpy's ``pairwise_sum`` leaf (``n <= 128``) of ``a[lo:lo + n]``: sequential below 8, else 8
    partial sums combined pairwise."""
    if n < 8:
        s = 0.0
        for i in range(n):
            s += a[lo + i]
        return s
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        b = lo + i
        r0 += a[b]
        r1 += a[b + 1]
        r2 += a[b + 2]
        r3 += a[b + 3]
        r4 += a[b + 4]
        r5 += a[b + 5]
        r6 += a[b + 6]
        r7 += a[b + 7]
        i += 8
    s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        s += a[lo + i]
        i += 1
    return s


@njit(**_JIT)
def _pairwise_sum(a, n):  # pragma: no cover
    """numpy's float64 ``add.reduce`` of ``a[:n]`` (``pairwise_sum``:
    halves cut at multiples of 8 down to blocks of 128, so that a mean equals ``np.mean`` bit for
    bit. Iterative (a recursive function does not survive numba's disk cache)."""
    if n <= 128:
        return _block_sum(a, 0, n)
    task_lo = np.empty(128, np.int64)
    task_n = np.empty(128, np.int64)     # -1: add the top two values
    values = np.empty(128)
    tasks = 1
    nvalues = 0
    task_lo[0] = 0
    task_n[0] = n
    while tasks:
        tasks -= 1
        lo = task_lo[tasks]
        m = task_n[tasks]
        if m < 0:
            nvalues -= 1
            values[nvalues - 1] += values[nvalues]
        elif m <= 128:
            values[nvalues] = _block_sum(a, lo, m)
            nvalues += 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            task_n[tasks] = -1                  # combine, after the right half, after the left
            task_lo[tasks + 1] = lo + m2
            task_n[tasks + 1] = m - m2
            task_lo[tasks + 2] = lo
            task_n[tasks + 2] = m2
            tasks += 3
    return values[0]


@njit(**_JIT)
def mean_rates(time_addr, lengths, out):  # pragma: no cover
    """``out[k] = mean(1 / t[t > 0])`` of each C-contiguous float64 array ``t`` of ``lengths[k]``
    values at address ``time_addr[k]``; got10k's speed, NaN when no time is positive.

    Summed like ``np.mean`` (pairwise), so the value is got10k's bit for bit.
    """
    size = 0
    for k in range(lengths.shape[0]):
        size = max(size, lengths[k])
    inv = np.empty(size)
    for k in range(lengths.shape[0]):
        n = lengths[k]
        if n == 0:
            out[k] = np.nan
            continue
        t = carray(_as_pointer(time_addr[k]), (n,))
        count = 0
        for i in range(n):
            count += t[i] > 0.0
        if count == n:   # the usual case: one vectorised pass
            for i in range(n):
                inv[i] = 1.0 / t[i]
        else:
            count = 0
            for i in range(n):
                v = t[i]
                if v > 0.0:
                    inv[count] = 1.0 / v
                    count += 1
        out[k] = _pairwise_sum(inv, count) / count if count else np.nan
