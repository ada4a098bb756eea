"""Checkpoint format (save/load) and importers of public releases (spec §7 layouts).

The released files cannot be downloaded here, so the tests write state dicts of random tensors
with the exact key names and shapes of spec §7 and import them.
"""

from __future__ import annotations

import datetime as dt
import io
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from siambench.errors import SiambenchError
from siambench.models import build_model
from siambench.models.checkpoint import (
    FORMAT,
    CheckpointError,
    detect_kind_or_none,
    load_checkpoint,
    save_checkpoint,
    state_dict_mismatches,
)
from siambench.models.importers import (
    TRACKER_PARAMS,
    convert_state_dict,
    detect_kind,
    import_weights,
    unwrap_state_dict,
)

ALEX_INDICES = (0, 1, 4, 5, 8, 9, 11, 12, 14, 15)
BN_PARAMS = ("weight", "bias", "running_mean", "running_var")


# ----------------------------------------------------------------------- layout builders

def alexnet_shapes(prefix: str, width: int = 1) -> dict[str, tuple[int, ...]]:
    """alexnetlegacy / DaSiamRPN / HRPN backbone keys (spec §7.1, §7.2)."""
    c = [3] + [n * width for n in (96, 256, 384, 384, 256)]
    kernels = (11, 5, 3, 3, 3)
    shapes: dict[str, tuple[int, ...]] = {}
    for stage in range(5):
        conv, bn = ALEX_INDICES[2 * stage], ALEX_INDICES[2 * stage + 1]
        k = kernels[stage]
        shapes[f"{prefix}.{conv}.weight"] = (c[stage + 1], c[stage], k, k)
        shapes[f"{prefix}.{conv}.bias"] = (c[stage + 1],)
        for p in BN_PARAMS:
            shapes[f"{prefix}.{bn}.{p}"] = (c[stage + 1],)
        shapes[f"{prefix}.{bn}.num_batches_tracked"] = ()
    return shapes


def pysot_alex_dw_shapes() -> dict[str, tuple[int, ...]]:
    """pysot siamrpn_alex_dwxcorr model.pth (spec §7.1)."""
    shapes = alexnet_shapes("backbone.features")
    for branch, out in (("cls", 10), ("loc", 20)):
        p = f"rpn_head.{branch}"
        for part in ("conv_kernel", "conv_search"):
            shapes[f"{p}.{part}.0.weight"] = (256, 256, 3, 3)
            for q in BN_PARAMS:
                shapes[f"{p}.{part}.1.{q}"] = (256,)
            shapes[f"{p}.{part}.1.num_batches_tracked"] = ()
        shapes[f"{p}.head.0.weight"] = (256, 256, 1, 1)
        for q in BN_PARAMS:
            shapes[f"{p}.head.1.{q}"] = (256,)
        shapes[f"{p}.head.1.num_batches_tracked"] = ()
        shapes[f"{p}.head.3.weight"] = (out, 256, 1, 1)
        shapes[f"{p}.head.3.bias"] = (out,)
    return shapes


def dasiam_shapes(size: int) -> dict[str, tuple[int, ...]]:
    """DaSiamRPN SiamRPNvot/otb (size 1) and SiamRPNBIG (size 2) (spec §7.2)."""
    c = 256 * size
    shapes = alexnet_shapes("featureExtract", size)
    shapes.update({
        "conv_r1.weight": (c * 20, c, 3, 3), "conv_r1.bias": (c * 20,),
        "conv_r2.weight": (c, c, 3, 3), "conv_r2.bias": (c,),
        "conv_cls1.weight": (c * 10, c, 3, 3), "conv_cls1.bias": (c * 10,),
        "conv_cls2.weight": (c, c, 3, 3), "conv_cls2.bias": (c,),
        "regress_adjust.weight": (20, 20, 1, 1), "regress_adjust.bias": (20,),
    })
    return shapes


HRPN_RENAME = {"featureExtract": "feature", "conv_r1": "conv_reg_z", "conv_r2": "conv_reg_x",
               "conv_cls1": "conv_cls_z", "conv_cls2": "conv_cls_x",
               "regress_adjust": "adjust_reg"}


def siamfc_shapes() -> dict[str, tuple[int, ...]]:
    """siamfc-pytorch siamfc_alexnet_e50.pth (spec §7.3)."""
    convs = {1: (96, 3, 11, 11), 2: (256, 48, 5, 5), 3: (384, 256, 3, 3), 4: (384, 192, 3, 3),
             5: (256, 192, 3, 3)}
    shapes: dict[str, tuple[int, ...]] = {}
    for n, shape in convs.items():
        shapes[f"backbone.conv{n}.0.weight"] = shape
        shapes[f"backbone.conv{n}.0.bias"] = (shape[0],)
        if n < 5:
            for q in BN_PARAMS:
                shapes[f"backbone.conv{n}.1.{q}"] = (shape[0],)
            shapes[f"backbone.conv{n}.1.num_batches_tracked"] = ()
    return shapes


def random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0, *,
                 num_batches_tracked: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors of the given shapes, scaled so a forward pass stays well conditioned."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            if num_batches_tracked:
                state[key] = torch.tensor(1234, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=g) / fan_in ** 0.5
        elif key.endswith("weight"):  # BN gamma
            state[key] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            state[key] = 0.1 * torch.randn(shape, generator=g)
    return state


def write(path: Path, obj: object) -> Path:
    torch.save(obj, path)
    return path


def images(search: int = 255, seed: int = 1, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 3, 127, 127, generator=g) * 255,
            torch.rand(batch, 3, search, search, generator=g) * 255)


def copy_(param: torch.Tensor, value: torch.Tensor) -> None:
    with torch.no_grad():
        param.copy_(value)


def copy_conv_bn(conv: torch.nn.Module, bn: torch.nn.Module | None, sd: dict, conv_key: str,
                 bn_key: str | None) -> None:
    copy_(conv.weight, sd[f"{conv_key}.weight"])
    if conv.bias is not None:
        copy_(conv.bias, sd[f"{conv_key}.bias"])
    if bn is not None:
        for q in BN_PARAMS:
            copy_(getattr(bn, q), sd[f"{bn_key}.{q}"])


def hand_copied_backbone(model: torch.nn.Module, sd: dict, prefix: str) -> None:
    b = model.backbone
    stages = [(b.layer1, 0, 1), (b.layer2, 4, 5), (b.layer3, 8, 9), (b.layer4, 11, 12),
              (b.layer5, 14, 15)]
    for seq, conv, bn in stages:
        copy_conv_bn(seq[0], seq[1], sd, f"{prefix}.{conv}", f"{prefix}.{bn}")


def dasiam_reference(sd: dict, z: torch.Tensor, x: torch.Tensor, prefix: str = "featureExtract",
                     names: tuple[str, ...] = ("conv_cls1", "conv_r1", "conv_cls2", "conv_r2",
                                               "regress_adjust")) -> tuple[torch.Tensor, ...]:
    """DaSiamRPN's forward written from its net.py description (spec §1.1, §1.2), batch 1."""
    def features(t: torch.Tensor) -> torch.Tensor:
        for stage, (conv, bn) in enumerate(zip(ALEX_INDICES[::2], ALEX_INDICES[1::2])):
            stride = 2 if stage == 0 else 1
            t = F.conv2d(t, sd[f"{prefix}.{conv}.weight"], sd[f"{prefix}.{conv}.bias"], stride)
            t = F.batch_norm(t, sd[f"{prefix}.{bn}.running_mean"], sd[f"{prefix}.{bn}.running_var"],
                             sd[f"{prefix}.{bn}.weight"], sd[f"{prefix}.{bn}.bias"], False, 0.0, 1e-5)
            if stage < 2:
                t = F.max_pool2d(t, 3, 2)
            if stage < 4:
                t = F.relu(t)
        return t

    cls1, r1, cls2, r2, adjust = names
    zf, xf = features(z), features(x)
    c = zf.shape[1]
    r1_kernel = F.conv2d(zf, sd[f"{r1}.weight"], sd[f"{r1}.bias"])
    cls1_kernel = F.conv2d(zf, sd[f"{cls1}.weight"], sd[f"{cls1}.bias"])
    k = r1_kernel.shape[1] // (4 * c)
    r1_kernel = r1_kernel.view(4 * k, c, 4, 4)
    cls1_kernel = cls1_kernel.view(2 * k, c, 4, 4)
    reg = F.conv2d(F.conv2d(xf, sd[f"{r2}.weight"], sd[f"{r2}.bias"]), r1_kernel)
    reg = F.conv2d(reg, sd[f"{adjust}.weight"], sd[f"{adjust}.bias"])
    cls = F.conv2d(F.conv2d(xf, sd[f"{cls2}.weight"], sd[f"{cls2}.bias"]), cls1_kernel)
    return cls, reg, zf


@pytest.fixture(scope="module")
def big_state() -> dict[str, torch.Tensor]:
    """A SiamRPNBIG-sized random state dict (90 M parameters, no num_batches_tracked)."""
    return random_state(dasiam_shapes(2), seed=7, num_batches_tracked=False)


# ----------------------------------------------------------------------- detection, pure maps

def test_detect_every_layout() -> None:
    assert detect_kind(pysot_alex_dw_shapes()) == "pysot-alex-dw"
    assert detect_kind(dasiam_shapes(1)) == "dasiamrpn"
    assert detect_kind(dasiam_shapes(2)) == "dasiamrpn"
    hrpn = {k.replace("featureExtract", "feature"): v for k, v in dasiam_shapes(2).items()}
    hrpn = {next((HRPN_RENAME[m] + k[len(m):] for m in HRPN_RENAME if k.startswith(m + ".")), k): v
            for k, v in hrpn.items()}
    assert detect_kind(hrpn) == "hrpn"
    assert detect_kind(siamfc_shapes()) == "siamfc-pytorch"
    assert detect_kind_or_none({"fc.weight": 1, "fc.bias": 2}) is None


def test_unwrap_snapshot_and_module_prefix() -> None:
    state = random_state(pysot_alex_dw_shapes())
    snapshot = {"epoch": 19, "state_dict": {"module." + k: v for k, v in state.items()},
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.01}]}}
    unwrapped = unwrap_state_dict(snapshot)
    assert unwrapped is not None and list(unwrapped) == list(state)
    assert all(unwrapped[k] is state[k] for k in state)
    assert unwrap_state_dict({"epoch": 3}) is None


def test_pysot_keymap_legacy_and_layer_layouts_agree() -> None:
    state = random_state(pysot_alex_dw_shapes(), seed=3)
    legacy = convert_state_dict(state)
    assert legacy.kind == "pysot-alex-dw" and legacy.model == "siamrpn-dw"
    assert legacy.config == {"width_mult": 1.0, "anchor_num": 5, "hidden": 256,
                             "channel_order": "bgr"}
    sd = legacy.state_dict
    assert sd["backbone.layer4.0.weight"] is state["backbone.features.11.weight"]
    assert sd["backbone.layer5.1.running_var"] is state["backbone.features.15.running_var"]
    assert sd["head.reg.head.3.bias"] is state["rpn_head.loc.head.3.bias"]
    assert sd["head.cls.conv_search.1.num_batches_tracked"] is \
        state["rpn_head.cls.conv_search.1.num_batches_tracked"]
    assert set(sd) == set(build_model("siamrpn-dw", **legacy.config).state_dict())
    # pysot's training layout (backbone.layerN) maps to the same names and tensors.
    layers = {"1": (0, 1), "2": (4, 5), "3": (8, 9), "4": (11, 12), "5": (14, 15)}
    renamed = {}
    for key, value in state.items():
        for n, (conv, bn) in layers.items():
            for index, old in ((0, conv), (1, bn)):
                prefix = f"backbone.features.{old}."
                if key.startswith(prefix):
                    key = f"backbone.layer{n}.{index}." + key[len(prefix):]
        renamed[key] = value
    training = convert_state_dict({"state_dict": renamed, "epoch": 5})
    assert training.kind == "pysot-alex-dw"
    assert {k: id(v) for k, v in training.state_dict.items()} == {k: id(v) for k, v in sd.items()}
    assert legacy.metadata["tracker_params"]["instance_size"] == 287
    assert (legacy.metadata["tracker_params"]["penalty_k"],
            legacy.metadata["tracker_params"]["window_influence"],
            legacy.metadata["tracker_params"]["lr"]) == (0.16, 0.40, 0.30)


def test_dasiam_big_keymap_gives_width_2() -> None:
    shapes = dasiam_shapes(2)
    state = {k: torch.empty(v) for k, v in shapes.items() if not k.endswith("tracked")}
    converted = convert_state_dict(state, name_hint="SiamRPNBIG.model")
    assert converted.kind == "dasiamrpn-big" and converted.model == "siamrpn"
    assert converted.config == {"width_mult": 2.0, "anchor_num": 5, "channel_order": "bgr"}
    assert converted.state_dict["head.template_reg.weight"].shape == (10240, 512, 3, 3)
    assert converted.state_dict["head.template_cls.weight"] is state["conv_cls1.weight"]
    assert converted.state_dict["head.search_reg.weight"] is state["conv_r2.weight"]
    assert converted.state_dict["head.reg_adjust.bias"] is state["regress_adjust.bias"]
    assert converted.metadata["tracker_params"] == TRACKER_PARAMS["dasiamrpn-big"]
    assert converted.metadata["tracker_params"]["adaptive"] is True


def test_dasiam_vot_otb_chosen_by_name_or_kind() -> None:
    state = {k: torch.empty(v) for k, v in dasiam_shapes(1).items()}
    assert convert_state_dict(state, name_hint="SiamRPNOTB.model").kind == "dasiamrpn-otb"
    assert convert_state_dict(state, name_hint="SiamRPNvot.model").kind == "dasiamrpn-vot"
    unnamed = convert_state_dict(state, name_hint="weights.pth")
    assert unnamed.kind == "dasiamrpn-vot" and "otb" in unnamed.metadata["note"]
    explicit = convert_state_dict(state, "dasiamrpn-otb", name_hint="weights.pth")
    assert explicit.metadata["tracker_params"]["penalty_k"] == 0.22
    with pytest.raises(CheckpointError, match="SiamRPNBIG has 192"):
        convert_state_dict(state, "dasiamrpn-big")


def test_unknown_layout_lists_first_keys(tmp_path: Path) -> None:
    state = {f"encoder.block{i}.weight": torch.zeros(2) for i in range(15)}
    path = write(tmp_path / "mystery.pth", state)
    with pytest.raises(CheckpointError) as info:
        import_weights(path)
    message = str(info.value)
    assert str(path) in message and "no known layout" in message
    assert "encoder.block0.weight" in message and "encoder.block9.weight" in message
    assert "encoder.block10.weight" not in message


def test_known_layout_with_foreign_keys_lists_them(tmp_path: Path) -> None:
    state = random_state(pysot_alex_dw_shapes())
    state["neck.downsample.0.weight"] = torch.zeros(1)
    state["rpn_head.cls.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as info:
        import_weights(write(tmp_path / "model.pth", state))
    assert "2 keys the pysot-alex-dw layout does not have" in str(info.value)
    assert "neck.downsample.0.weight" in str(info.value)


# ----------------------------------------------------------------------- full imports

def test_pysot_import_equals_hand_copied_model(tmp_path: Path) -> None:
    state = random_state(pysot_alex_dw_shapes(), seed=11)
    path = write(tmp_path / "model.pth", {"state_dict": {"module." + k: v for k, v in state.items()}})
    model, meta = import_weights(path)
    assert model.config["channel_order"] == "bgr" and not model.training
    assert meta["imported_from"] == "pysot-alex-dw" and meta["tracker_param_set"] == "pysot"
    assert meta["source"] == str(path) and len(meta["sha256"]) == 64
    hand = build_model("siamrpn-dw").eval()
    hand_copied_backbone(hand, state, "backbone.features")
    for ours, theirs in ((hand.head.cls, "rpn_head.cls"), (hand.head.reg, "rpn_head.loc")):
        copy_conv_bn(ours.conv_kernel[0], ours.conv_kernel[1], state, f"{theirs}.conv_kernel.0",
                     f"{theirs}.conv_kernel.1")
        copy_conv_bn(ours.conv_search[0], ours.conv_search[1], state, f"{theirs}.conv_search.0",
                     f"{theirs}.conv_search.1")
        copy_conv_bn(ours.head[0], ours.head[1], state, f"{theirs}.head.0", f"{theirs}.head.1")
        copy_conv_bn(ours.head[3], None, state, f"{theirs}.head.3", None)
    z, x = images(287)
    with torch.no_grad():
        cls, reg = model(z, x)
        hand_cls, hand_reg = hand(z, x)
    assert cls.shape == (1, 10, 21, 21) and reg.shape == (1, 20, 21, 21)
    assert torch.equal(cls, hand_cls) and torch.equal(reg, hand_reg)
    assert int(model.backbone.layer1[1].num_batches_tracked) == 1234


def test_dasiam_vot_import_matches_reference_forward_and_kernels(tmp_path: Path) -> None:
    state = random_state(dasiam_shapes(1), seed=5, num_batches_tracked=False)
    path = tmp_path / "SiamRPNvot.model"  # the release predates zip serialisation: legacy format
    torch.save(state, path, _use_new_zipfile_serialization=False)
    assert path.read_bytes()[:2] == b"\x80\x02"
    model, meta = import_weights(path)
    assert model.config["width_mult"] == 1.0 and model.anchor_num == 5
    assert meta["imported_from"] == "dasiamrpn-vot"
    assert (meta["tracker_params"]["penalty_k"], meta["tracker_params"]["window_influence"],
            meta["tracker_params"]["lr"], meta["tracker_params"]["instance_size"]) == \
        (0.04, 0.44, 0.45, 271)
    z, x = images(271, seed=2)
    with torch.no_grad():
        cls, reg = model(z, x)
        ref_cls, ref_reg, zf = dasiam_reference(state, z, x)
        kernels = model.template_kernels(z)
        template_out = F.conv2d(zf, state["conv_cls1.weight"], state["conv_cls1.bias"])
    assert cls.shape == (1, 10, 19, 19) and reg.shape == (1, 20, 19, 19)
    torch.testing.assert_close(cls, ref_cls, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(reg, ref_reg, rtol=1e-4, atol=1e-4)
    # spec §1.2: template output channel o → kernel o // C, input channel o % C
    assert kernels.cls.shape == (10, 256, 4, 4) and kernels.reg.shape == (20, 256, 4, 4)
    for o in (0, 1, 255, 256, 257, 1000, 2559):
        torch.testing.assert_close(kernels.cls[o // 256, o % 256], template_out[0, o],
                                   rtol=1e-5, atol=1e-5)


def test_hrpn_import_big_shapes(tmp_path: Path, big_state: dict) -> None:
    """siamrpn-pytorch (SiamRPNBIG shapes, 512 channels) end to end; DaSiamRPN BIG has the same
    tensors under other names (its key map and width inference: test_dasiam_big_keymap…)."""
    hrpn = {}
    for key, value in big_state.items():
        module, _, rest = key.partition(".")
        hrpn[f"{HRPN_RENAME[module]}.{rest}"] = value
    model, meta = import_weights(write(tmp_path / "model.pth", hrpn))
    assert meta["imported_from"] == "hrpn" and meta["tracker_param_set"] == "siamrpn-pytorch"
    assert meta["channel_order"] == "bgr" and model.config["channel_order"] == "bgr"
    assert model.config["width_mult"] == 2.0 and model.backbone.out_channels == 512
    assert model.head.template_reg.weight.shape == (10240, 512, 3, 3)
    assert torch.equal(model.head.template_reg.weight, hrpn["conv_reg_z.weight"])
    assert torch.equal(model.head.search_cls.bias, hrpn["conv_cls_x.bias"])
    assert torch.equal(model.head.search_reg.weight, hrpn["conv_reg_x.weight"])
    assert torch.equal(model.head.reg_adjust.weight, hrpn["adjust_reg.weight"])
    assert torch.equal(model.backbone.layer3[1].running_var, hrpn["feature.9.running_var"])
    # siamrpn-pytorch's learn(): kernel_reg = conv_reg_z(z).view(4k, 512, 4, 4) (the forward of
    # the same head code on real inputs is checked against DaSiamRPN's reference above).
    z, _ = images(271, seed=4)
    with torch.no_grad():
        kernels = model.template_kernels(z)
        zf = model.backbone(z)
        kernel_reg = F.conv2d(zf, hrpn["conv_reg_z.weight"], hrpn["conv_reg_z.bias"])
        kernel_cls = F.conv2d(zf, hrpn["conv_cls_z.weight"], hrpn["conv_cls_z.bias"])
    torch.testing.assert_close(kernels.reg, kernel_reg.view(20, 512, 4, 4), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(kernels.cls, kernel_cls.view(10, 512, 4, 4), rtol=1e-5, atol=1e-5)


def test_siamfc_import_equals_hand_copied_model(tmp_path: Path) -> None:
    state = random_state(siamfc_shapes(), seed=9)
    model, meta = import_weights(write(tmp_path / "siamfc_alexnet_e50.pth", state))
    assert meta["imported_from"] == "siamfc-pytorch" and model.config["channel_order"] == "rgb"
    assert meta["tracker_params"]["scale_step"] == 1.0375
    assert all(m.eps == 1e-6 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    hand = build_model("siamfc").eval()
    b = hand.backbone
    for n, seq in enumerate((b.conv1, b.conv2, b.conv3, b.conv4, b.conv5), start=1):
        copy_conv_bn(seq[0], seq[1] if n < 5 else None, state, f"backbone.conv{n}.0",
                     f"backbone.conv{n}.1")
    z, x = images(255, seed=3)
    with torch.no_grad():
        out, hand_out = model(z, x), hand(z, x)
    assert out.shape == (1, 1, 17, 17) and torch.equal(out, hand_out)


def test_import_with_mismatched_shapes_lists_every_problem(tmp_path: Path) -> None:
    state = random_state(dasiam_shapes(1))
    state["conv_r2.weight"] = torch.zeros(256, 256, 5, 5)
    del state["regress_adjust.bias"]
    with pytest.raises(CheckpointError) as info:
        import_weights(write(tmp_path / "SiamRPNvot.model", state))
    message = str(info.value)
    assert "2 problems" in message
    assert ("shape mismatch: head.search_reg.weight: file (256, 256, 5, 5) vs model "
            "(256, 256, 3, 3)") in message
    assert "missing: head.reg_adjust.bias (model shape (20,))" in message


# ----------------------------------------------------------------------- siambench checkpoints

@pytest.mark.parametrize("name,config", [
    ("siamrpn", {"width_mult": 0.25}),
    ("siamrpn-dw", {"width_mult": 0.25, "channel_order": "bgr"}),
    ("siamfc", {"width_mult": 0.25}),
])
def test_round_trip_is_bit_exact(tmp_path: Path, name: str, config: dict) -> None:
    model = build_model(name, seed=3, **config)
    with torch.no_grad():  # non-default running statistics must survive too
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(77)
    meta = {"command": "siambench train --tracker siamrpn", "dataset": "synthetic-train",
            "steps": 1200, "scores": {"synthetic": {"auc": 0.5}}, "seeds": (1, 2)}
    path = save_checkpoint(tmp_path / "out" / "model.ckpt", model, metadata=meta)
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.ckpt"]  # no temp file left
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == FORMAT and raw["version"] == 1 and raw["model"] == name
    loaded, loaded_meta = load_checkpoint(path)
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.config == model.config
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(original) == list(restored)
    for key in original:
        assert original[key].dtype == restored[key].dtype
        assert torch.equal(original[key], restored[key]), key
    for key, value in meta.items():
        assert loaded_meta[key] == value
    assert loaded_meta["torch_version"] == torch.__version__
    assert "siambench_version" in loaded_meta
    assert dt.datetime.fromisoformat(loaded_meta["created"]).tzinfo is not None
    # import_weights accepts a siambench checkpoint too (the `--weights` path).
    again, again_meta = import_weights(path)
    assert again_meta == loaded_meta and torch.equal(
        next(iter(again.state_dict().values())), next(iter(original.values())))


def test_mismatched_checkpoint_lists_every_mismatch(tmp_path: Path) -> None:
    model = build_model("siamrpn", width_mult=0.25, seed=1)
    path = save_checkpoint(tmp_path / "m.ckpt", model, metadata={})
    payload = torch.load(path, weights_only=True)
    payload["config"]["anchor_num"] = 3
    payload["config"]["anchor_ratios"] = [0.5, 1.0, 2.0]
    del payload["state_dict"]["backbone.layer2.0.bias"]
    payload["state_dict"]["head.extra.weight"] = torch.zeros(3, 2)
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(str(path))
    lines = [line.strip() for line in message.splitlines()[1:]]
    assert lines == [
        "missing: backbone.layer2.0.bias (model shape (64,))",
        "shape mismatch: head.template_cls.weight: file (640, 64, 3, 3) vs model (384, 64, 3, 3)",
        "shape mismatch: head.template_cls.bias: file (640,) vs model (384,)",
        "shape mismatch: head.template_reg.weight: file (1280, 64, 3, 3) vs model (768, 64, 3, 3)",
        "shape mismatch: head.template_reg.bias: file (1280,) vs model (768,)",
        "shape mismatch: head.reg_adjust.weight: file (20, 20, 1, 1) vs model (12, 12, 1, 1)",
        "shape mismatch: head.reg_adjust.bias: file (20,) vs model (12,)",
        "unexpected: head.extra.weight (file shape (3, 2))",
    ]
    assert "7 problems" not in message and "8 problems" in message


def test_state_dict_mismatches_tolerates_missing_num_batches_tracked() -> None:
    model = build_model("siamfc", width_mult=0.25)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert state_dict_mismatches(model, state) == []


def test_metadata_must_be_plain_data(tmp_path: Path) -> None:
    model = build_model("siamfc", width_mult=0.25)
    with pytest.raises(SiambenchError, match=r"metadata.opt holds a object"):
        save_checkpoint(tmp_path / "x.ckpt", model, metadata={"opt": object()})
    assert not (tmp_path / "x.ckpt").exists()


# ----------------------------------------------------------------------- files that are not checkpoints

class _RunsCode:
    """A pickle payload that would create a marker file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickle_with_code_is_refused_without_running(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.pth"
    if writer == "torch":
        torch.save({"state_dict": {"w": torch.zeros(1)}, "hook": _RunsCode(marker)}, path)
    else:  # a plain pickle (no torch storages): the code global is the first one met
        path.write_bytes(pickle.dumps({"weights": [0.5], "hook": _RunsCode(marker)}, protocol=2))
    for loader in (load_checkpoint, import_weights):
        with pytest.raises(CheckpointError) as info:
            loader(path)
        assert str(path) in str(info.value) and "refused" in str(info.value)
        assert "exec" in str(info.value)
    assert not marker.exists()


def test_bare_state_dict_says_use_the_importer(tmp_path: Path) -> None:
    path = write(tmp_path / "SiamRPNotb.model", random_state(dasiam_shapes(1)))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "bare state dict in the dasiamrpn layout" in message
    assert "import_weights" in message and "--weights" in message


def test_pysot_snapshot_says_use_the_importer(tmp_path: Path) -> None:
    snapshot = {"epoch": 20, "state_dict": {"backbone.features.0.weight": torch.zeros(1)},
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.005, "params": [0]}]}}
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(write(tmp_path / "checkpoint_e20.pth", snapshot))
    assert "training snapshot (with epoch, optimizer)" in str(info.value)
    assert "import_weights" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not a torch file at all\n", bytes(range(256)) * 4,
                                     b"PK\x03\x04garbage"])
def test_garbage_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    for loader in (load_checkpoint, import_weights):
        with pytest.raises(CheckpointError) as info:
            loader(path)
        assert str(info.value).startswith(str(path))
        assert "not a" in str(info.value) and "PyTorch weights file" in str(info.value)


def test_missing_file_and_other_objects(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such weights file"):
        load_checkpoint(tmp_path / "absent.ckpt")
    with pytest.raises(CheckpointError, match="a single tensor of shape"):
        load_checkpoint(write(tmp_path / "t.pth", torch.zeros(2, 3)))
    with pytest.raises(CheckpointError, match="a list"):
        import_weights(write(tmp_path / "l.pth", [1, 2]))


def test_future_version_is_refused(tmp_path: Path) -> None:
    model = build_model("siamfc", width_mult=0.25)
    path = save_checkpoint(tmp_path / "m.ckpt", model, metadata={})
    payload = torch.load(path, weights_only=True)
    payload["version"] = 2
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="version 2 is not supported"):
        load_checkpoint(path)
