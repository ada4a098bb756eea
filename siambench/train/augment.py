"""Training crops: context crop + shift/scale/flip in ONE affine warp, then blur, colour, gray.

Geometry (spec §2.5, §4.3): coordinates are frame-array pixel indices (pixel ``i`` has its
centre at ``i``), the target centre is ``x + (w − 1)/2`` (DESIGN.md §2, as the trackers read
it). The context side is ``s_z = sqrt((w + p)(h + p))``, ``p = context_amount·(w + h)``
(:func:`siambench.trackers.crops.context_size`); a crop of ``out`` pixels covers
``s_z · out / exemplar`` image pixels (127 → ``s_z``, 255 → pysot's ``s_x``, 239 → SiamFC's
training search crop), so the target's scale is ``exemplar / s_z`` in every crop. Augmented,
crop pixel ``u`` of image pixel ``x`` is ``u = f·k·(x − cx) + (out − 1)/2 + d`` with
``k = out / side``, independent x/y scale factors ``f ∈ 1 ± scale`` and a shift ``d ∈ ±shift``
crop pixels (pysot draws them the same way), ``f_x`` negated for a flip; the target box in the
crop is the same map applied to the box. Outside the image: the frame's mean colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from siambench.trackers.crops import context_size, mean_colour

__all__ = ["CropParams", "affine_for", "augment_crop", "blur", "brightness", "colour_jitter", "crop_affine"]


@dataclass(frozen=True)
class CropParams:
    """What one crop of a pair does: output side, shift (crop px), scale (±fraction), blur prob."""

    out: int
    shift: float = 0.0
    scale: float = 0.0
    blur_prob: float = 0.0


def affine_for(box: np.ndarray, out: int, *, exemplar: int = 127, context_amount: float = 0.5,
               scale_xy: tuple[float, float] = (1.0, 1.0), shift_xy: tuple[float, float] = (0.0, 0.0),
               flip: bool = False) -> np.ndarray:
    """The ``2×3`` forward map image → crop for target ``box`` (0-based ``x, y, w, h``)."""
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + (w - 1) / 2.0, y + (h - 1) / 2.0
    side = context_size(w, h, context_amount) * out / exemplar
    kx = out / side * scale_xy[0] * (-1.0 if flip else 1.0)
    ky = out / side * scale_xy[1]
    c = (out - 1) / 2.0
    return np.array([[kx, 0.0, c + shift_xy[0] - kx * cx],
                     [0.0, ky, c + shift_xy[1] - ky * cy]], dtype=np.float64)


def crop_affine(frame: np.ndarray, matrix: np.ndarray, out: int,
                border: tuple[float, float, float] | None = None) -> np.ndarray:
    """Warp ``frame`` by the forward ``matrix`` into an ``out × out`` crop (bilinear, one warp)."""
    colour = mean_colour(frame) if border is None else border
    return cv2.warpAffine(frame, matrix, (out, out), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(colour))


def box_in_crop(box: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Corner-form ``x1, y1, x2, y2`` of ``box`` (0-based ``x, y, w, h``) in crop pixels.

    The box is centre ``x + (w − 1)/2`` and size ``w`` (continuous extent), so the crop box is
    the mapped centre ± the mapped half size; a flip keeps ``x1 < x2``.
    """
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + (w - 1) / 2.0, y + (h - 1) / 2.0
    mx = matrix[0, 0] * cx + matrix[0, 2]
    my = matrix[1, 1] * cy + matrix[1, 2]
    hw, hh = abs(matrix[0, 0]) * w / 2.0, abs(matrix[1, 1]) * h / 2.0
    return np.array([mx - hw, my - hh, mx + hw, my + hh], dtype=np.float64)


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """pysot's motion blur: a cross-shaped kernel of random odd size 5…45, random row/column split."""
    size = int(rng.choice(np.arange(5, 46, 2)))
    kernel = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    wx = float(rng.random())
    kernel[:, c] += (1.0 - wx) / size
    kernel[c, :] += wx / size
    return cv2.filter2D(image, -1, kernel)


#: PCA colour basis of ImageNet RGB (AlexNet's "fancy PCA", as pysot's ``rgbVar``), columns.
_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                    [-0.5836, -0.6948, 0.4203]], dtype=np.float64)
_EIGVAL = np.array([55.46, 4.794, 1.148], dtype=np.float64)


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float = 0.1) -> np.ndarray:
    """Add a random PCA colour offset (``eigvec · (N(0, strength) · eigval)``), clipped to 0–255."""
    offset = _EIGVEC @ (rng.normal(0.0, strength, 3) * _EIGVAL)
    return np.clip(image.astype(np.float32) + offset.astype(np.float32), 0, 255).astype(np.uint8)


def brightness(image: np.ndarray, rng: np.random.Generator, max_gain: float = 2.0) -> np.ndarray:
    """Multiply by one gain drawn log-uniformly in ``[1 / max_gain, max_gain]``, clipped to 0–255.

    A global illumination change (the synthetic benchmark's IV sequences scale the scene by
    0.25–1.7); each crop of a pair draws its own gain, so the pair differs by up to
    ``max_gain²``.
    """
    gain = float(np.exp(rng.uniform(-np.log(max_gain), np.log(max_gain))))
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def grayscale(image: np.ndarray) -> np.ndarray:
    """RGB → gray → RGB (three equal channels)."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def augment_crop(frame: np.ndarray, box: np.ndarray, params: CropParams, rng: np.random.Generator, *,
                 exemplar: int = 127, context_amount: float = 0.5, flip: bool = False,
                 gray: bool = False, colour_prob: float = 0.0, brightness_prob: float = 0.0,
                 brightness_max: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """One augmented crop of ``frame`` around ``box`` (0-based ``x, y, w, h``).

    Returns ``(crop uint8 (out, out, 3), target box x1, y1, x2, y2 in crop pixels)``. Draw
    order from ``rng``: scale x, scale y, shift x, shift y, blur?, (blur kernel), colour?,
    (colour offset), brightness? (gain) — fixed, so a crop is a function of the generator's
    state; a zero probability draws nothing.
    """
    sx, sy = 1.0 + rng.uniform(-params.scale, params.scale, 2) if params.scale else (1.0, 1.0)
    dx, dy = rng.uniform(-params.shift, params.shift, 2) if params.shift else (0.0, 0.0)
    matrix = affine_for(box, params.out, exemplar=exemplar, context_amount=context_amount,
                        scale_xy=(float(sx), float(sy)), shift_xy=(float(dx), float(dy)), flip=flip)
    crop = crop_affine(frame, matrix, params.out)
    target = box_in_crop(box, matrix)
    if params.blur_prob and rng.random() < params.blur_prob:
        crop = blur(crop, rng)
    if colour_prob and rng.random() < colour_prob:
        crop = colour_jitter(crop, rng)
    if brightness_prob and rng.random() < brightness_prob:
        crop = brightness(crop, rng, brightness_max)
    if gray:
        crop = grayscale(crop)
    return crop, target
