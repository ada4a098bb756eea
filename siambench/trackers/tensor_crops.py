"""Context crops made by torch on the network's device (the Siamese trackers' ``crop: tensor``).

The same windows as siambench's ``warp`` crop (:func:`siambench.trackers.crops.crop_geometry`:
integer side, pysot or siamfc corner, frame-array coordinates with pixel ``i`` centred at ``i``):
output pixel ``u`` samples the source at ``xmin + (u + 0.5)·side/out − 0.5`` (same for y),
bilinearly, with the constant border colour outside the frame (blended at the frame's edge, as
OpenCV's ``BORDER_CONSTANT`` does). The interpolation is exact float32 arithmetic, where
``cv2.warpAffine`` quantises positions to 1/32 pixel and weights to 15 bits and rounds the
result to ``uint8``; the two crops differ by a fraction of a grey level on average (a few levels
at sharp edges), so ``tensor`` is a crop method of its own, not a faster ``warp``.

What it is for: on a GPU the frame is copied once (``uint8``) and all its crops (SiamFC's
scales) come from one ``grid_sample``, so the host does no per-crop work; on the CPU it is
slower than OpenCV's warp. Crops are ``float32`` ``(n, out, out, 3)`` RGB values 0–255, not
rounded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["crop_windows", "frame_to_device"]


def frame_to_device(frame: np.ndarray | torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """A ``(H, W, 3)`` frame as a tensor on ``device`` (one ``uint8`` copy; a tensor already
    there is returned as it is; on the CPU the array's memory is shared, not copied)."""
    if isinstance(frame, torch.Tensor):
        return frame.to(device)
    return torch.from_numpy(np.ascontiguousarray(frame)).to(device)


def crop_windows(frame: torch.Tensor, windows: Sequence[tuple[int, int, int]], out: int,
                 border: Sequence[float]) -> torch.Tensor:
    """The ``out x out`` crops of ``windows`` = ``[(xmin, ymin, side)]`` from ``frame``
    ``(H, W, 3)`` (any dtype, on any device), ``border`` the colour outside the frame (rounded to
    whole grey levels, as the ``warp`` crop's OpenCV border is): ``float32`` ``(n, out, out, 3)``
    on the frame's device (module docstring for the sampling)."""
    if not windows:
        raise ValueError("crop_windows needs at least one window")
    height, width = int(frame.shape[0]), int(frame.shape[1])
    device = frame.device
    colour = torch.as_tensor(np.rint(np.asarray(border, dtype=np.float64)), dtype=torch.float32,
                             device=device)
    source = (frame.to(torch.float32) - colour).permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)
    geometry = torch.as_tensor(np.asarray(windows, dtype=np.float64), dtype=torch.float64,
                               device=device)  # (n, 3): xmin, ymin, side
    steps = (torch.arange(out, dtype=torch.float64, device=device) + 0.5) / out  # (out,)
    xs = geometry[:, 0:1] + steps[None, :] * geometry[:, 2:3]  # source x + 0.5 (pixel edges)
    ys = geometry[:, 1:2] + steps[None, :] * geometry[:, 2:3]
    # grid_sample, align_corners=False: -1 and +1 are the outer edges of the first / last pixel
    grid_x = (xs * (2.0 / width) - 1.0)[:, None, :].expand(-1, out, -1)
    grid_y = (ys * (2.0 / height) - 1.0)[:, :, None].expand(-1, -1, out)
    grid = torch.stack((grid_x, grid_y), dim=-1).to(torch.float32)  # (n, out, out, 2)
    sampled = F.grid_sample(source.expand(len(windows), -1, -1, -1), grid, mode="bilinear",
                            padding_mode="zeros", align_corners=False)
    return sampled.permute(0, 2, 3, 1) + colour
