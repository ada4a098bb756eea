"""Crops (``uint8`` ``(H, W, 3)`` RGB arrays) to network input tensors (torch; Siamese trackers only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from siambench.errors import SiambenchError


def channel_order(model: object) -> str:
    """The channel order the model's weights expect: ``"rgb"`` or ``"bgr"`` (``config``; default rgb)."""
    config = getattr(model, "config", None) or {}
    order = str(config.get("channel_order", "rgb")).lower() if isinstance(config, dict) else "rgb"
    if order not in ("rgb", "bgr"):
        raise SiambenchError(f"model config channel_order must be 'rgb' or 'bgr', got {order!r}")
    return order


def crops_to_tensor(crops: Sequence[np.ndarray | torch.Tensor] | np.ndarray, *, bgr: bool,
                    device: torch.device, pin: bool = False) -> torch.Tensor:
    """Stack RGB ``(S, S, 3)`` crops into a float32 ``(B, 3, S, S)`` tensor of 0–255 values on
    ``device``; channels reversed when ``bgr`` (weights trained on ``cv2.imread`` frames).
    ``uint8`` arrays, or tensors (the ``tensor`` crop's, already on the device). ``pin``: stage
    the stacked arrays in pinned host memory when ``device`` is CUDA (one asynchronous copy)."""
    if len(crops) and isinstance(crops[0], torch.Tensor):
        return array_to_tensor(torch.stack(list(crops)), bgr=bgr, device=device)
    return array_to_tensor(np.stack(crops), bgr=bgr, device=device, pin=pin)


def array_to_tensor(batch: np.ndarray | torch.Tensor, *, bgr: bool, device: torch.device,
                    pin: bool = False) -> torch.Tensor:
    """A ``(B, S, S, 3)`` RGB batch as :func:`crops_to_tensor` makes it: for a ``uint8`` array one
    host→device copy of the pixels (pinned when ``pin`` and ``device`` is CUDA), then float32
    ``(B, 3, S, S)`` on the device; a tensor is moved (if not there) and converted."""
    if isinstance(batch, torch.Tensor):
        tensor = batch.flip(-1) if bgr else batch
        return tensor.to(device).permute(0, 3, 1, 2).float()
    if bgr:
        batch = batch[..., ::-1]
    host = torch.from_numpy(np.ascontiguousarray(batch))
    if pin and torch.device(device).type == "cuda":
        host = host.pin_memory()
    tensor = host.to(device, non_blocking=True)
    return tensor.permute(0, 3, 1, 2).float()


def model_device(model: torch.nn.Module, default: str | torch.device = "cpu") -> torch.device:
    """The device of the model's first parameter or buffer (``default`` for a parameterless model)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device(default)
