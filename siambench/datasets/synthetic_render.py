"""Frame synthesis for the synthetic benchmark: scenario planning and rendering (pure functions).

Geometry convention (used by every function here): continuous 0-based *pixel-edge* coordinates,
where pixel ``(col, row)`` covers ``[col, col + 1) x [row, row + 1)``. A target is a rotated
rectangle ``(cx, cy, w, h, angle)``: centre, side lengths and the angle (radians) that turns the
object's x axis towards the image's y axis (clockwise on screen, y pointing down). Its axis-aligned
box ``x, y, w, h`` in these coordinates is exactly the 0-based box of GOT-10k; adding 1 to x and y
gives the 1-based OTB/VOT box (OTB's x is the 1-based index of the left-most pixel column).

Everything is drawn from one ``numpy.random.Generator``, so a plan and its frames depend only on
the generator's seed. Frames are RGB ``uint8``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

OTB_ATTRIBUTES: tuple[str, ...] = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC",
                                   "LR")
"""The 11 OTB attribute codes, in the OTB toolkits' display order."""

THEMES: dict[str, str] = {
    "occlusion": "OCC", "distractors": "BC", "illumination": "IV", "fast-motion": "FM",
    "scale": "SV", "rotation": "IPR", "out-of-view": "OV", "low-resolution": "LR",
    "deformation": "DEF", "out-of-plane": "OPR",
}
"""Scenario themes (the name part of a sequence name) and the attribute each is built around."""

_SECONDARY: dict[str, float] = {"OCC": 0.3, "BC": 0.3, "IV": 0.3, "MB": 0.25, "FM": 0.15,
                                "SV": 0.25, "IPR": 0.25, "DEF": 0.2, "OPR": 0.15, "OV": 0.15,
                                "LR": 0.08}
"""Probability that a sequence also carries each attribute besides its theme's."""


def theme_of(index: int) -> str:
    """The theme of sequence ``index``: the themes cycle, so any 10 consecutive indices hold all."""
    return list(THEMES)[index % len(THEMES)]


def choose_features(rng: np.random.Generator, index: int) -> frozenset[str]:
    """The designed-in attributes of sequence ``index``: its theme's plus random secondary ones."""
    features = {THEMES[theme_of(index)]}
    if "FM" in features:
        features.add("MB")
    for code, probability in _SECONDARY.items():
        if rng.random() < probability:
            features.add(code)
    return frozenset(features)


# -- plans ---------------------------------------------------------------------------------------

@dataclass
class _Object:
    """A textured, masked rectangle drawn per frame: textures is a pyramid of (texture, mask)."""

    levels: list[tuple[np.ndarray, np.ndarray]]
    cx: np.ndarray
    cy: np.ndarray
    w: np.ndarray
    h: np.ndarray
    angle: np.ndarray
    active: np.ndarray
    back_levels: list[tuple[np.ndarray, np.ndarray]] | None = None
    flipped: np.ndarray | None = None


@dataclass
class Plan:
    """Everything that defines one sequence's frames (arrays have one entry per frame)."""

    size: tuple[int, int]
    features: frozenset[str]
    shape: str
    background: np.ndarray
    cam_x: np.ndarray
    cam_y: np.ndarray
    zoom: np.ndarray
    target: _Object
    distractors: list[_Object]
    occluders: list[_Object]
    gain: np.ndarray
    spot: np.ndarray  # (N, 4): x, y, sigma, amplitude (multiplicative, 0 = none)
    tint: np.ndarray  # (N, 3) per-channel gain
    blur_length: np.ndarray  # target motion blur length (px) per frame
    shake: np.ndarray  # (N, 2): whole-frame blur length (px) and direction (rad)
    deform: np.ndarray  # (N,) deformation phase (NaN when the texture is rigid)
    deform_amp: float = 0.0
    extras: dict[str, object] = field(default_factory=dict)


def _hermite(times: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Cubic Hermite interpolation through waypoints ``values`` at ``times``, sampled at 0..n-1."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return _hermite(times, values[:, None], n)[:, 0]
    if len(times) == 1:
        return np.repeat(values[:1], n, axis=0)
    slopes = _pchip_slopes(np.asarray(times, dtype=np.float64), values)
    t = np.arange(n, dtype=np.float64)
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    dt = times[k + 1] - times[k]
    u = ((t - times[k]) / dt)[:, None]
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    return (h00 * values[k] + h10 * dt[:, None] * slopes[k] + h01 * values[k + 1]
            + h11 * dt[:, None] * slopes[k + 1])


def _pchip_slopes(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Shape-preserving (Fritsch-Carlson / PCHIP) tangents: the curve never overshoots."""
    h = np.diff(times)[:, None]
    d = np.diff(values, axis=0) / h
    slopes = np.zeros_like(values)
    slopes[0], slopes[-1] = d[0], d[-1]
    if len(times) > 2:
        w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
        same = d[:-1] * d[1:] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (w1 + w2) / (w1 / d[:-1] + w2 / d[1:])
        slopes[1:-1] = np.where(same, mean, 0.0)
    return slopes


def _times(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    times = [0.0]
    while times[-1] < n - 1:
        times.append(times[-1] + float(rng.integers(low, high + 1)))
    return np.asarray(times)


def _reflect(value: float, low: float, high: float) -> float:
    if high <= low:
        return (low + high) / 2
    span = high - low
    folded = (value - low) % (2 * span)
    return low + (folded if folded <= span else 2 * span - folded)


def _walk(rng: np.random.Generator, n: int, start: tuple[float, float], box: tuple[float, ...],
          speed: tuple[float, float], *, fast: int = 0, fast_speed: float = 26.0,
          out_of_view: tuple[float, float, float] | None = None,
          attract: list[tuple[float, float, float]] | None = None) -> np.ndarray:
    """A smooth 2-D path: waypoints every 8-24 frames joined by cubic Hermite curves.

    ``box`` = (x0, y0, x1, y1) bounds the waypoints; ``fast`` short segments (2-4 frames) move at
    about ``fast_speed`` px/frame; ``out_of_view`` = (time, x, y) adds an off-frame excursion;
    ``attract`` = [(time, x, y)] pulls waypoints near those times close to the given points.
    """
    x0, y0, x1, y1 = box
    # at most one fast segment per frame of the middle 70 %: 2- and 3-frame sequences have fewer
    # such frames than the 1-3 segments asked for (the draws of longer sequences are unchanged)
    middle = np.arange(int(0.15 * n), max(int(0.15 * n) + 1, int(0.85 * n)))
    fast_at = sorted(rng.choice(middle, size=min(fast, middle.size), replace=False).tolist()
                     ) if fast else []
    times, points = [0.0], [start]
    ov_done = out_of_view is None
    while times[-1] < n - 1:
        t, (px, py) = times[-1], points[-1]
        if fast_at and t >= fast_at[0]:
            fast_at.pop(0)
            candidates = rng.uniform((x0, y0), (x1, y1), size=(24, 2))
            far = candidates[np.argmax(np.hypot(candidates[:, 0] - px, candidates[:, 1] - py))]
            dist = float(np.hypot(far[0] - px, far[1] - py))
            dt = max(2.0, min(4.0, round(dist / (fast_speed * rng.uniform(0.9, 1.2)))))
            times.append(t + dt)
            points.append((float(far[0]), float(far[1])))
            continue
        if not ov_done and t >= out_of_view[0]:
            ov_done = True
            _, ox, oy = out_of_view
            hold = float(rng.integers(5, 12))
            reach = float(rng.integers(6, 12))
            times += [t + reach, t + reach + hold]
            points += [(ox, oy), (ox + rng.uniform(-8, 8), oy + rng.uniform(-8, 8))]
            continue
        dt = float(rng.integers(8, 25))
        v = rng.uniform(*speed)
        direction = rng.uniform(0, 2 * math.pi)
        nx = _reflect(px + math.cos(direction) * v * dt, x0, x1)
        ny = _reflect(py + math.sin(direction) * v * dt, y0, y1)
        for at, ax, ay in attract or ():
            if abs(t + dt - at) < 12:
                nx, ny = ax, ay
        times.append(t + dt)
        points.append((nx, ny))
    return _hermite(np.asarray(times), np.asarray(points), n)


def _scalar_path(rng: np.random.Generator, n: int, waypoints: list[float],
                 spacing: tuple[int, int] = (12, 30)) -> np.ndarray:
    """A smooth scalar path through ``waypoints`` spread at random times over the sequence."""
    times = _times(rng, n, *spacing)
    values = np.interp(np.linspace(0, 1, len(times)), np.linspace(0, 1, len(waypoints)),
                       waypoints)
    values = values + rng.normal(0, 0.02 * (np.ptp(waypoints) + 0.05), len(times))
    values[0] = waypoints[0]
    return _hermite(times, values, n)


# -- textures --------------------------------------------------------------------------------------

def _noise(rng: np.random.Generator, h: int, w: int, cells: tuple[int, ...], channels: int,
           persistence: float = 0.6) -> np.ndarray:
    """Multi-scale value noise in [0, 1], float32 ``(h, w, channels)``."""
    out = np.zeros((h, w, channels), np.float32)
    amplitude, total = 1.0, 0.0
    for count in cells:
        gh, gw = max(2, round(count * h / max(h, w))), max(2, round(count * w / max(h, w)))
        grid = rng.random((gh, gw, channels), dtype=np.float32)
        up = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        out += amplitude * up.reshape(h, w, channels)
        total += amplitude
        amplitude *= persistence
    return np.clip(out / total, 0, 1)


def _colour(rng: np.random.Generator, saturation: tuple[float, float] = (0.4, 1.0),
            value: tuple[float, float] = (0.3, 1.0)) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*saturation) * 255,
                      rng.uniform(*value) * 255]]], np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _shapes(rng: np.random.Generator, image: np.ndarray, count: int, size: tuple[float, float],
            colours: list[np.ndarray] | None = None) -> None:
    """Draw ``count`` random anti-aliased shapes (in place) on a uint8 RGB image."""
    h, w = image.shape[:2]
    for _ in range(count):
        colour = colours[int(rng.integers(len(colours)))] if colours and rng.random() < 0.6 \
            else _colour(rng)
        colour = tuple(float(c) for c in colour)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = max(1, int(rng.uniform(*size) * max(w, h)))
        kind = int(rng.integers(5))
        thick = -1 if rng.random() < 0.7 else int(rng.integers(1, 4))
        if kind == 0:
            cv2.circle(image, (cx, cy), r, colour, thick, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(image, (cx - r, cy - r // 2), (cx + r, cy + r // 2), colour, thick,
                          cv2.LINE_AA)
        elif kind == 2:
            cv2.ellipse(image, (cx, cy), (r, max(1, r // 3)), float(rng.uniform(0, 180)), 0, 360,
                        colour, thick, cv2.LINE_AA)
        elif kind == 3:
            pts = (rng.uniform(-r, r, (int(rng.integers(3, 7)), 2)) + (cx, cy)).astype(np.int32)
            cv2.fillPoly(image, [pts], colour, cv2.LINE_AA)
        else:
            end = (cx + int(rng.integers(-2 * r, 2 * r + 1)), cy + int(rng.integers(-2 * r, 2 * r + 1)))
            cv2.line(image, (cx, cy), end, colour, int(rng.integers(1, 5)), cv2.LINE_AA)


def _target_texture(rng: np.random.Generator, tw: int, th: int) -> np.ndarray:
    """A distinctive random texture: two-colour noise, stripes and shapes (uint8 RGB)."""
    c1, c2 = _colour(rng, (0.5, 1.0), (0.5, 1.0)), _colour(rng, (0.3, 1.0), (0.15, 0.8))
    mix = _noise(rng, th, tw, (2, 4, 8), 1, 0.5)
    mix = np.clip((mix - mix.mean()) * rng.uniform(2.0, 4.0) + 0.5, 0, 1)
    image = c1 * mix + c2 * (1 - mix)
    if rng.random() < 0.6:
        yy, xx = np.mgrid[0:th, 0:tw].astype(np.float32)
        theta = rng.uniform(0, math.pi)
        period = rng.uniform(6, 18)
        stripes = 0.5 + 0.5 * np.sin(2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta))
                                     / period)
        image = image * (0.75 + 0.25 * stripes[..., None])
    image += (_noise(rng, th, tw, (16, 32), 3) - 0.5) * 40
    texture = np.clip(image, 0, 255).astype(np.uint8)
    _shapes(rng, texture, int(rng.integers(3, 9)), (0.08, 0.3), [c1 * 0.4, 255 - c1, c2])
    return texture


def _mask(shape: str, tw: int, th: int) -> np.ndarray:
    """Float32 alpha of the object's silhouette, touching all four sides of the ``tw x th`` box."""
    sub = 4
    u = (np.arange(tw * sub) + 0.5) / (tw * sub) * 2 - 1
    v = (np.arange(th * sub) + 0.5) / (th * sub) * 2 - 1
    au, av = np.abs(u)[None, :], np.abs(v)[:, None]
    if shape == "ellipse":
        inside = au**2 + av**2 <= 1
    elif shape == "rounded":
        inside = au**6 + av**6 <= 1
    elif shape == "octagon":
        inside = au + av <= 1.5
    else:
        inside = np.ones((th * sub, tw * sub), bool)
    return inside.reshape(th, sub, tw, sub).mean(axis=(1, 3)).astype(np.float32)


def _pyramid(texture: np.ndarray, mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    levels = [(texture.astype(np.float32), mask)]
    while min(levels[-1][0].shape[:2]) >= 16:
        tex, msk = levels[-1]
        size = (max(1, tex.shape[1] // 2), max(1, tex.shape[0] // 2))
        levels.append((cv2.resize(tex, size, interpolation=cv2.INTER_AREA),
                       cv2.resize(msk, size, interpolation=cv2.INTER_AREA)))
    return levels


def _background(rng: np.random.Generator, w: int, h: int, clutter: np.ndarray | None) -> np.ndarray:
    """A textured world larger than the frame: multi-scale noise, gradient, random shapes."""
    palette = [_colour(rng, (0.1, 0.8), (0.2, 0.9)) for _ in range(3)]
    weights = _noise(rng, h, w, (2, 3, 5), 3, 0.7)
    weights = np.exp(4 * weights)
    weights /= weights.sum(axis=2, keepdims=True)
    image = sum(weights[..., k:k + 1] * palette[k] for k in range(3))
    luminance = _noise(rng, h, w, (4, 8, 16, 32, 64, 128), 1, rng.uniform(0.5, 0.75))
    image = image * (0.55 + 0.9 * luminance)
    ramp_dir = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (xx * math.cos(ramp_dir) + yy * math.sin(ramp_dir)) / max(w, h)
    image = image * (1 + rng.uniform(0.2, 0.6) * (ramp - ramp.mean()))[..., None]
    world = np.clip(image, 0, 255).astype(np.uint8)
    _shapes(rng, world, int(rng.integers(60, 160)), (0.005, 0.05), palette)
    if clutter is not None:  # faded look-alike patches of the target's texture (background clutter)
        for _ in range(int(rng.integers(6, 12))):
            ph, pw = clutter.shape[:2]
            cw, ch = int(rng.integers(pw // 4, pw // 2 + 1)), int(rng.integers(ph // 4, ph // 2 + 1))
            sx, sy = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
            patch = clutter[sy:sy + ch, sx:sx + cw]
            scale = rng.uniform(0.2, 0.6) * min(w, h) / 4 / max(cw, ch)
            patch = cv2.resize(patch, (max(2, int(cw * scale)), max(2, int(ch * scale))),
                               interpolation=cv2.INTER_AREA)
            px, py = int(rng.integers(0, w - patch.shape[1])), int(rng.integers(0, h - patch.shape[0]))
            alpha = rng.uniform(0.5, 0.85)
            region = world[py:py + patch.shape[0], px:px + patch.shape[1]].astype(np.float32)
            world[py:py + patch.shape[0], px:px + patch.shape[1]] = np.clip(
                region * (1 - alpha) + patch * alpha, 0, 255).astype(np.uint8)
    return world


def _variant(rng: np.random.Generator, texture: np.ndarray) -> np.ndarray:
    """A look-alike of a texture: small hue, saturation and brightness changes, maybe mirrored."""
    hsv = cv2.cvtColor(texture, cv2.COLOR_RGB2HSV).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(5, 16)) * int(rng.choice([-1, 1]))) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.8, 1.15), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.85, 1.15), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    return out[:, ::-1].copy() if rng.random() < 0.4 else out


# -- planning ----------------------------------------------------------------------------------------

def plan_sequence(rng: np.random.Generator, frames: int, size: tuple[int, int],
                  features: frozenset[str], theme: str = "") -> Plan:
    """Draw every random choice of one sequence: textures, paths, events. ``size`` = (W, H)."""
    n = frames
    if "LR" in features and rng.random() < 0.5:
        size = (max(64, size[0] // 2), max(48, size[1] // 2))
    width, height = size
    unit = min(width, height) / 240.0

    # target size and its scale/aspect paths
    aspect0 = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))  # h / w
    if "LR" in features:
        area0 = rng.uniform(140, 330)
    else:
        area0 = (rng.uniform(36, 66) * unit) ** 2
    if "SV" in features:
        amplitude = rng.uniform(0.5, 0.8) * rng.choice([-1.0, 1.0])
        pattern = int(rng.integers(3))
        points = [0.0, amplitude] if pattern == 0 else (
            [0.0, amplitude, amplitude * 0.3] if pattern == 1 else [0.0, 0.2 * amplitude, amplitude])
    else:
        points = [0.0] + list(rng.uniform(-0.1, 0.1, 3))
    log_size = _scalar_path(rng, n, points)
    zoom_share = rng.uniform(0.3, 1.0) if "SV" in features and rng.random() < 0.5 else 0.0
    log_zoom = zoom_share * log_size + _scalar_path(rng, n, [0.0] + list(rng.uniform(-0.06, 0.06, 3)))
    log_zoom -= log_zoom[0]
    log_size = (1 - zoom_share) * log_size  # the rest of the size change comes from the camera
    if "DEF" in features:
        swing = [0.0] + [float(rng.uniform(0.2, 0.4)) * (-1) ** k for k in range(max(2, n // 12))]
        log_aspect = _scalar_path(rng, n, swing, (6, 12))
    else:
        log_aspect = _scalar_path(rng, n, [0.0] + list(rng.uniform(-0.05, 0.05, 2)))
    total_scale = np.exp(log_size + log_zoom)
    if "OPR" in features:
        turn = rng.uniform(1.0, 2.5) * math.pi * rng.choice([-1.0, 1.0])
        yaw = _scalar_path(rng, n, [0.0, turn * 0.4, turn])
        squash = 0.3 + 0.7 * np.abs(np.cos(yaw))
        flipped = np.cos(yaw) < 0
    else:
        squash, flipped = np.ones(n), np.zeros(n, bool)
    base_w = math.sqrt(area0 / aspect0)
    base_h = base_w * aspect0
    extent = max(base_w, base_h) * float(total_scale.max())
    limit = 0.6 * min(width, height)
    if extent > limit and "LR" not in features:
        shrink = limit / extent
        base_w, base_h = base_w * shrink, base_h * shrink
    w = base_w * total_scale * np.exp(log_aspect / 2) * squash
    h = base_h * total_scale * np.exp(-log_aspect / 2)

    # rotation
    if "IPR" in features:
        turn = math.radians(rng.uniform(60, 240)) * rng.choice([-1.0, 1.0])
        angle = _scalar_path(rng, n, [math.radians(rng.uniform(-3, 3)), turn * 0.3, turn * 0.7,
                                      turn])
    else:
        angle = _scalar_path(rng, n, list(np.radians(rng.uniform(-4, 4, 3))))

    # target trajectory
    ext = 0.5 * max(float(np.max(w)), float(np.max(h)))
    margin = ext + 4
    box = (margin, margin, width - margin, height - margin)
    start = (width / 2 + rng.uniform(-0.2, 0.2) * width, height / 2 + rng.uniform(-0.2, 0.2) * height)
    start = (min(max(start[0], box[0]), box[2]), min(max(start[1], box[1]), box[3]))
    ov = None
    if "OV" in features:
        side = int(rng.integers(4))
        depth = ext * rng.uniform(0.3, 2.2)  # beyond the edge: > ext means fully out of view
        along = rng.uniform(0.25, 0.75)
        ox, oy = [(-depth, along * height), (width + depth, along * height),
                  (along * width, -depth), (along * width, height + depth)][side]
        ov = (float(rng.uniform(0.3, 0.6) * n), float(ox), float(oy))
    fast = int(rng.integers(1, 4)) if "FM" in features else 0
    speed = (0.8 * unit, 3.0 * unit)
    centre = _walk(rng, n, start, box, speed, fast=fast, fast_speed=26.0, out_of_view=ov)
    centre[0] = start

    # textures
    tex_scale = max(1.0, 2.0 * float(max(np.max(w), np.max(h))) / max(base_w, base_h))
    tw = int(np.clip(round(base_w * min(tex_scale, 2.5)), 24, 128))
    th = int(np.clip(round(tw * base_h / base_w), 24, 128))
    shape = ("rect", "rounded", "ellipse", "octagon")[int(rng.integers(4))]
    texture = _target_texture(rng, tw, th)
    mask = _mask(shape, tw, th)
    back = None
    if "OPR" in features:
        other = _target_texture(rng, tw, th)
        back = _pyramid(((texture[:, ::-1].astype(np.float32) + other) / 2).astype(np.uint8), mask)
    target = _Object(_pyramid(texture, mask), centre[:, 0], centre[:, 1], w, h, angle,
                     np.ones(n, bool), back, flipped)

    # background world (larger than the frame: the camera pans and zooms over it)
    zoom = np.exp(log_zoom)
    world_w, world_h = int(width / zoom.min() * 1.45) + 16, int(height / zoom.min() * 1.45) + 16
    background = _background(rng, world_w, world_h, texture if "BC" in features else None)
    half_w, half_h = width / (2 * zoom.min()) + 2, height / (2 * zoom.min()) + 2
    cam_box = (half_w, half_h, world_w - half_w, world_h - half_h)
    cam_start = (world_w / 2, world_h / 2)
    if rng.random() < 0.2:
        cam = np.tile(np.asarray(cam_start), (n, 1))
    else:
        cam = _walk(rng, n, cam_start, cam_box, (0.3 * unit, 2.5 * unit))
        cam[:, 0] = np.clip(cam[:, 0], cam_box[0], cam_box[2])
        cam[:, 1] = np.clip(cam[:, 1], cam_box[1], cam_box[3])

    # look-alike distractors
    distractors: list[_Object] = []
    count = int(rng.integers(2, 4)) if "BC" in features else 0
    for _ in range(count):
        variant = _variant(rng, texture)
        meet = [(float(t), float(centre[int(t), 0] + rng.uniform(-1.5, 1.5) * ext),
                 float(centre[int(t), 1] + rng.uniform(-1.5, 1.5) * ext))
                for t in rng.uniform(0.1 * n, 0.95 * n, 2)]
        d_start = (float(rng.uniform(box[0], max(box[0], box[2]))),
                   float(rng.uniform(box[1], max(box[1], box[3]))))
        path = _walk(rng, n, d_start, box, speed, attract=meet)
        factor = rng.uniform(0.85, 1.15)
        distractors.append(_Object(_pyramid(variant, mask), path[:, 0], path[:, 1], w * factor,
                                   h * factor, angle + rng.uniform(-0.3, 0.3), np.ones(n, bool)))

    # occluders
    occluders: list[_Object] = []
    if "OCC" in features:
        if theme == "occlusion":
            kinds = ["partial", "full"] + (["partial"] if rng.random() < 0.5 else [])
        else:
            kinds = ["full" if rng.random() < 0.4 else "partial"]
        t = max(6, int(0.1 * n))
        for kind in kinds:
            duration = int(rng.integers(16, 32))
            if t + duration >= n:
                break
            occluders.append(_occluder(rng, kind, t, duration, n, target))
            t += duration + int(rng.integers(4, 20))

    # illumination
    if "IV" in features:
        gain = _scalar_path(rng, n, [1.0, float(rng.uniform(0.35, 0.6)), float(rng.uniform(1.1, 1.5)),
                                     float(rng.uniform(0.6, 1.0))], (8, 20))
        gain = np.clip(gain, 0.25, 1.7)
        spot_path = _walk(rng, n, (width * rng.uniform(0.2, 0.8), height * rng.uniform(0.2, 0.8)),
                          (0, 0, width, height), (1 * unit, 4 * unit))
        amp = rng.uniform(0.4, 0.9) * rng.choice([-0.8, 1.0])
        spot = np.column_stack([spot_path, np.full(n, rng.uniform(0.25, 0.5) * width),
                                np.full(n, amp)])
        tint_end = rng.uniform(0.8, 1.2, 3)
        tint = 1 + np.linspace(0, 1, n)[:, None] * (tint_end - 1)
    else:
        gain, spot, tint = np.ones(n), np.zeros((n, 4)), np.ones((n, 3))

    # blur
    velocity = np.gradient(centre, axis=0) if n > 1 else np.zeros((n, 2))
    speed_now = np.hypot(velocity[:, 0], velocity[:, 1])
    if "MB" in features:
        blur_length = speed_now * rng.uniform(0.6, 1.0)
        shake = np.zeros((n, 2))
        for start_t in rng.integers(1, max(2, n), int(rng.integers(1, 4))):
            span = slice(int(start_t), int(start_t) + int(rng.integers(3, 9)))
            shake[span, 0] = rng.uniform(4, 10) * unit
            shake[span, 1] = rng.uniform(0, math.pi)
    else:
        blur_length, shake = np.zeros(n), np.zeros((n, 2))
    blur_length[0], shake[0] = 0.0, 0.0

    deform = np.full(n, np.nan)
    deform_amp = 0.0
    if "DEF" in features:
        deform = np.arange(n) * rng.uniform(0.15, 0.35)
        deform_amp = float(rng.uniform(0.05, 0.09))
    return Plan((width, height), features, shape, background, cam[:, 0], cam[:, 1], zoom, target,
                distractors, occluders, gain, spot, tint, blur_length, shake, deform, deform_amp)


def _occluder(rng: np.random.Generator, kind: str, t0: int, duration: int, n: int,
              target: _Object) -> _Object:
    """An object that slides across the target during ``[t0, t0 + duration)``."""
    mid = t0 + duration // 2
    tw, th = float(target.w[mid]), float(target.h[mid])
    size = max(tw, th)
    if kind == "full":
        ow, oh = size * rng.uniform(1.5, 2.1), size * rng.uniform(1.5, 2.1)
        offset = 0.0
    else:
        ow, oh = size * rng.uniform(0.5, 0.9), size * rng.uniform(0.5, 0.9)
        offset = rng.uniform(0.15, 0.45) * size * rng.choice([-1.0, 1.0])
    direction = rng.uniform(0, 2 * math.pi)
    dx, dy = math.cos(direction), math.sin(direction)
    reach = 0.5 * (size + max(ow, oh)) * 1.5
    t = np.arange(n, dtype=np.float64)
    travel = np.clip((t - t0) / duration, 0, 1) * 2 * reach - reach
    cx = target.cx + dx * travel - dy * offset
    cy = target.cy + dy * travel + dx * offset
    texture = np.clip(_noise(rng, 48, 48, (3, 6, 12, 24), 3) * 255 * rng.uniform(0.5, 1.0), 0,
                      255).astype(np.uint8)
    _shapes(rng, texture, 6, (0.05, 0.2))
    shape = "ellipse" if rng.random() < 0.4 else "rect"
    active = (t >= t0) & (t < t0 + duration)
    return _Object(_pyramid(texture, _mask(shape, 48, 48)), cx, cy, np.full(n, ow),
                   np.full(n, oh), np.full(n, rng.uniform(-0.5, 0.5)), active)


# -- rendering ---------------------------------------------------------------------------------------

def corners(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    """The 4 corners ``(4, 2)`` of a rotated rectangle, starting top-left (at angle 0), clockwise."""
    c, s = math.cos(angle), math.sin(angle)
    local = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    return np.column_stack([cx + c * local[:, 0] - s * local[:, 1],
                            cy + s * local[:, 0] + c * local[:, 1]])


def _warp_object(obj: _Object, i: int, deform: float = math.nan, deform_amp: float = 0.0,
                 pad: int = 0) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Render object ``obj`` at frame ``i`` on its own canvas: (x0, y0, texture, alpha)."""
    w, h, angle = float(obj.w[i]), float(obj.h[i]), float(obj.angle[i])
    cx, cy = float(obj.cx[i]), float(obj.cy[i])
    levels = obj.back_levels if obj.back_levels is not None and obj.flipped[i] else obj.levels
    base_w, base_h = levels[0][1].shape[1], levels[0][1].shape[0]
    level = int(np.clip(math.floor(math.log2(max(1e-6, min(base_w / max(w, 1e-6),
                                                          base_h / max(h, 1e-6))))), 0,
                        len(levels) - 1))
    texture, mask = levels[level]
    lh, lw = mask.shape
    if not math.isnan(deform):
        texture, mask = _deform(texture, mask, deform, deform_amp)
    pts = corners(cx, cy, w, h, angle)
    x0, y0 = math.floor(pts[:, 0].min()) - 1 - pad, math.floor(pts[:, 1].min()) - 1 - pad
    x1, y1 = math.ceil(pts[:, 0].max()) + 1 + pad, math.ceil(pts[:, 1].max()) + 1 + pad
    c, s = math.cos(angle), math.sin(angle)
    sx, sy = w / lw, h / lh
    linear = np.array([[c * sx, -s * sy], [s * sx, c * sy]])
    shift = np.array([cx, cy]) - linear @ np.array([lw / 2, lh / 2])
    # OpenCV puts pixel centres at integers: edge coordinate = OpenCV coordinate + 0.5
    offset = linear @ np.array([0.5, 0.5]) + shift - 0.5 - np.array([x0, y0])
    matrix = np.column_stack([linear, offset])
    canvas = (x1 - x0, y1 - y0)
    tex = cv2.warpAffine(texture, matrix, canvas, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, matrix, canvas, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return x0, y0, tex, alpha


def _deform(texture: np.ndarray, mask: np.ndarray, phase: float,
            amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Non-rigid deformation inside the object's box (zero displacement on the box's border)."""
    lh, lw = mask.shape
    v, u = np.mgrid[0:lh, 0:lw].astype(np.float32)
    un, vn = (u + 0.5) / lw, (v + 0.5) / lh
    envelope = np.sin(np.pi * un) * np.sin(np.pi * vn)
    map_x = u + amplitude * lw * envelope * np.sin(2 * np.pi * vn + phase)
    map_y = v + amplitude * lh * envelope * np.sin(2 * np.pi * un + 1.3 * phase)
    tex = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    msk = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return tex, msk


def _line_kernel(length: float, direction: float) -> np.ndarray:
    size = math.ceil(length) | 1
    kernel = np.zeros((size, size), np.float32)
    half = (size - 1) / 2
    dx, dy = math.cos(direction) * length / 2, math.sin(direction) * length / 2
    cv2.line(kernel, (round(half * 16 - dx * 16), round(half * 16 - dy * 16)),
             (round(half * 16 + dx * 16), round(half * 16 + dy * 16)), 1.0, 1, cv2.LINE_AA,
             shift=4)
    total = kernel.sum()
    if total <= 0:
        kernel[int(half), int(half)] = 1.0
        total = 1.0
    return kernel / total


def _composite(frame: np.ndarray, x0: int, y0: int, tex: np.ndarray,
               alpha: np.ndarray, premultiplied: bool = False) -> tuple[slice, slice, slice, slice] | None:
    """Alpha-blend a canvas at ``(x0, y0)`` onto ``frame`` (in place); returns the overlap slices."""
    height, width = frame.shape[:2]
    ch, cw = alpha.shape
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + cw, width), min(y0 + ch, height)
    if fx0 >= fx1 or fy0 >= fy1:
        return None
    fs = (slice(fy0, fy1), slice(fx0, fx1))
    cs = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
    region = frame[fs]
    a = alpha[cs][..., None]
    colour = tex[cs]
    if premultiplied:
        region *= 1 - a
        region += colour
    else:
        region += a * (colour - region)
    return (*fs, *cs)


@dataclass
class FrameState:
    """What rendering measured on one frame (fractions of the target's full area)."""

    in_view: float
    visible: float
    occluded: float


def render_frame(plan: Plan, i: int, *, want_mask: bool = False
                 ) -> tuple[np.ndarray, FrameState, np.ndarray | None]:
    """Render frame ``i``: (RGB uint8 image, measured visibility, target alpha in the frame).

    The alpha (float32 ``(H, W)``, 0..1) is the target's silhouette before occluders, only when
    ``want_mask``.
    """
    width, height = plan.size
    z = float(plan.zoom[i])
    tx, ty = width / 2 - z * float(plan.cam_x[i]), height / 2 - z * float(plan.cam_y[i])
    camera = np.array([[z, 0, 0.5 * z + tx - 0.5], [0, z, 0.5 * z + ty - 0.5]])
    frame = cv2.warpAffine(plan.background, camera, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    for distractor in plan.distractors:
        x0, y0, tex, alpha = _warp_object(distractor, i)
        _composite(frame, x0, y0, tex, alpha)

    blur = float(plan.blur_length[i])
    pad = math.ceil(blur / 2) + 1 if blur >= 2 else 0
    x0, y0, tex, alpha = _warp_object(plan.target, i, float(plan.deform[i]), plan.deform_amp, pad)
    total = float(alpha.sum())
    if blur >= 2:
        vx = plan.target.cx[min(i + 1, len(plan.target.cx) - 1)] - plan.target.cx[max(i - 1, 0)]
        vy = plan.target.cy[min(i + 1, len(plan.target.cy) - 1)] - plan.target.cy[max(i - 1, 0)]
        kernel = _line_kernel(blur, math.atan2(vy, vx))
        premult = cv2.filter2D(tex * alpha[..., None], -1, kernel, borderType=cv2.BORDER_CONSTANT)
        blurred = cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        overlap = _composite(frame, x0, y0, premult, blurred, premultiplied=True)
    else:
        overlap = _composite(frame, x0, y0, tex, alpha)
    in_view = float(alpha[overlap[2], overlap[3]].sum()) if overlap else 0.0

    occluded = 0.0
    cover = None
    for occluder in plan.occluders:
        if not occluder.active[i]:
            continue
        ox, oy, otex, oalpha = _warp_object(occluder, i)
        _composite(frame, ox, oy, otex, oalpha)
        if overlap:
            if cover is None:
                cover = np.zeros(alpha.shape, np.float32)
            _union(cover, ox - x0, oy - y0, oalpha)
    if cover is not None and overlap:
        occluded = float((alpha[overlap[2], overlap[3]] * cover[overlap[2], overlap[3]]).sum())

    if plan.shake[i, 0] >= 2:
        frame = cv2.filter2D(frame, -1, _line_kernel(float(plan.shake[i, 0]), float(plan.shake[i, 1])),
                             borderType=cv2.BORDER_REFLECT)
    _illuminate(frame, plan, i)
    image = np.clip(frame + 0.5, 0, 255).astype(np.uint8)

    mask = None
    if want_mask:
        mask = np.zeros((height, width), np.float32)
        if overlap:
            mask[overlap[0], overlap[1]] = alpha[overlap[2], overlap[3]]
    if total <= 0:
        return image, FrameState(0.0, 0.0, 0.0), mask
    visible = in_view if cover is None else in_view - occluded
    return image, FrameState(in_view / total, max(0.0, visible) / total, occluded / total), mask


def _union(cover: np.ndarray, dx: int, dy: int, alpha: np.ndarray) -> None:
    """``cover = max(cover, alpha placed at (dx, dy))`` on the overlapping part (in place)."""
    ch, cw = cover.shape
    ah, aw = alpha.shape
    x0, y0, x1, y1 = max(dx, 0), max(dy, 0), min(dx + aw, cw), min(dy + ah, ch)
    if x0 < x1 and y0 < y1:
        np.maximum(cover[y0:y1, x0:x1], alpha[y0 - dy:y1 - dy, x0 - dx:x1 - dx],
                   out=cover[y0:y1, x0:x1])


def _illuminate(frame: np.ndarray, plan: Plan, i: int) -> None:
    gain = float(plan.gain[i])
    sx, sy, sigma, amp = (float(v) for v in plan.spot[i])
    tint = plan.tint[i].astype(np.float32)
    if gain == 1.0 and amp == 0.0 and np.all(tint == 1):
        return
    if amp != 0.0:
        height, width = frame.shape[:2]
        gx = np.exp(-((np.arange(width, dtype=np.float32) + 0.5 - sx) ** 2) / (2 * sigma**2))
        gy = np.exp(-((np.arange(height, dtype=np.float32) + 0.5 - sy) ** 2) / (2 * sigma**2))
        field_ = (gain * (1 + amp * np.outer(gy, gx))).astype(np.float32)
        frame *= field_[..., None] * tint
    else:
        frame *= (gain * tint).astype(np.float32)


def illumination_at(plan: Plan, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The (grey) illumination factor at image points ``(x[i], y[i])`` of each frame ``i``."""
    sx, sy, sigma, amp = plan.spot.T
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(sigma > 0, np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * np.where(
            sigma > 0, sigma, 1) ** 2)), 0.0)
    return plan.gain * (1 + amp * g) * plan.tint.mean(axis=1)
