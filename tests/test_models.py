"""Tests of siambench.models networks: architecture, parameter counts, shapes, template caching."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from siambench.errors import SiambenchError, UnknownNameError
from siambench.models import SiamFC, SiamRPN, build_model, list_models
from siambench.models.backbones import AlexNetFC, AlexNetRPN
from siambench.models.heads import (
    DepthwiseRPN,
    SiamFCHead,
    UpChannelRPN,
    xcorr,
    xcorr_depthwise,
)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def images(batch: int, size: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 255


@pytest.fixture(scope="module")
def small_models() -> dict[str, nn.Module]:
    return {name: build_model(name, width_mult=0.25, seed=3).eval() for name in list_models()}


# ------------------------------------------------------------------------- architecture

def test_parameter_counts_match_spec_at_width_one() -> None:
    assert n_params(AlexNetRPN()) == 3_749_952
    assert n_params(UpChannelRPN(256, 5)) == 18_882_980
    assert n_params(DepthwiseRPN(256, 256, 5)) == 2_501_150
    assert n_params(build_model("siamrpn")) == 22_632_932
    assert n_params(build_model("siamrpn-dw")) == 6_251_102
    assert n_params(build_model("siamfc")) == 2_336_320
    assert n_params(AlexNetFC()) == 2_336_320
    assert n_params(SiamFCHead()) == 0


def test_alexnet_rpn_layer_order_and_no_padding() -> None:
    net = AlexNetRPN()
    kinds = [[type(m).__name__ for m in getattr(net, f"layer{i}")] for i in range(1, 6)]
    assert kinds == [["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"],
                     ["Conv2d", "BatchNorm2d", "MaxPool2d", "ReLU"],
                     ["Conv2d", "BatchNorm2d", "ReLU"],
                     ["Conv2d", "BatchNorm2d", "ReLU"],
                     ["Conv2d", "BatchNorm2d"]]
    convs = [getattr(net, f"layer{i}")[0] for i in range(1, 6)]
    assert [c.weight.shape[:2] for c in convs] == [(96, 3), (256, 96), (384, 256), (384, 384), (256, 384)]
    assert [c.kernel_size[0] for c in convs] == [11, 5, 3, 3, 3]
    assert [c.stride[0] for c in convs] == [2, 1, 1, 1, 1]
    assert all(c.padding == (0, 0) and c.groups == 1 and c.bias is not None for c in convs)
    bn = net.layer1[1]
    assert bn.eps == 1e-5 and bn.momentum == 0.1
    assert net.out_channels == 256


def test_alexnet_fc_layout_matches_siamfc_pytorch() -> None:
    net = AlexNetFC()
    kinds = [[type(m).__name__ for m in getattr(net, f"conv{i}")] for i in range(1, 6)]
    assert kinds[0] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert kinds[4] == ["Conv2d"]
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["conv2.0.weight"] == (256, 48, 5, 5)
    assert shapes["conv4.0.weight"] == (384, 192, 3, 3)
    assert shapes["conv5.0.weight"] == (256, 192, 3, 3)
    assert shapes["conv5.0.bias"] == (256,)
    assert [getattr(net, f"conv{i}")[0].groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    bns = [getattr(net, f"conv{i}")[1] for i in range(1, 5)]
    assert all(b.eps == 1e-6 and b.momentum == 0.05 for b in bns)


def test_state_dict_key_names_follow_the_contract() -> None:
    rpn = build_model("siamrpn", width_mult=0.25).state_dict()
    for key in ("backbone.layer1.0.weight", "backbone.layer1.1.running_mean", "backbone.layer5.1.bias",
                "head.template_cls.weight", "head.template_reg.bias", "head.search_cls.weight",
                "head.search_reg.weight", "head.reg_adjust.bias"):
        assert key in rpn
    assert rpn["head.template_cls.weight"].shape == (64 * 10, 64, 3, 3)
    assert rpn["head.template_reg.weight"].shape == (64 * 20, 64, 3, 3)
    assert rpn["head.reg_adjust.weight"].shape == (20, 20, 1, 1)
    dw = build_model("siamrpn-dw", width_mult=0.25).state_dict()
    for key in ("head.cls.conv_kernel.0.weight", "head.cls.conv_kernel.1.running_var",
                "head.reg.conv_search.0.weight", "head.cls.head.0.weight", "head.cls.head.1.weight",
                "head.reg.head.3.bias"):
        assert key in dw
    assert "head.cls.conv_kernel.0.bias" not in dw and "head.cls.head.0.bias" not in dw
    assert dw["head.cls.head.3.weight"].shape == (10, 64, 1, 1)
    assert dw["head.reg.head.3.weight"].shape == (20, 64, 1, 1)
    fc = build_model("siamfc", width_mult=0.25).state_dict()
    expected = {f"backbone.conv{i}.0.{p}" for i in range(1, 6) for p in ("weight", "bias")}
    expected |= {f"backbone.conv{i}.1.{p}" for i in range(1, 5)
                 for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    assert set(fc) == expected


def test_width_mult_scales_every_channel_and_heads_follow() -> None:
    model = build_model("siamrpn", width_mult=0.5)
    convs = [getattr(model.backbone, f"layer{i}")[0] for i in range(1, 6)]
    assert [c.out_channels for c in convs] == [48, 128, 192, 192, 128]
    assert convs[0].in_channels == 3
    assert model.head.in_channels == 128
    dw = build_model("siamrpn-dw", width_mult=0.5)
    assert dw.head.cls.conv_kernel[0].weight.shape == (128, 128, 3, 3)
    assert dw.config["hidden"] == 128
    narrow = build_model("siamrpn-dw", width_mult=0.5, hidden=32)
    assert narrow.head.reg.head[3].weight.shape == (20, 32, 1, 1)
    assert build_model("siamfc", width_mult=0.5).backbone.out_channels == 128
    with pytest.raises(SiambenchError, match="multiple of 2"):
        build_model("siamfc", width_mult=0.3)  # 384 · 0.3 = 115: odd, grouped conv impossible
    with pytest.raises(SiambenchError, match="positive"):
        AlexNetRPN(0.0)


@pytest.mark.parametrize("size, side", [(127, 6), (239, 20), (255, 22), (271, 24)])
def test_backbone_feature_sizes(size: int, side: int) -> None:
    with torch.inference_mode():
        for net in (AlexNetRPN(0.25).eval(), AlexNetFC(0.25).eval()):
            assert net(images(1, size, 0)).shape == (1, 64, side, side)


# ------------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("name", ["siamrpn", "siamrpn-dw"])
@pytest.mark.parametrize("search, side", [(255, 17), (271, 19)])
def test_siamrpn_output_shapes(small_models: dict, name: str, search: int, side: int) -> None:
    with torch.inference_mode():
        cls, reg = small_models[name](images(2, 127, 1), images(2, search, 2))
    assert cls.shape == (2, 10, side, side)
    assert reg.shape == (2, 20, side, side)
    assert cls.dtype == torch.float32
    assert small_models[name].score_size(search) == side
    assert small_models[name].anchors(search).shape == (5 * side * side, 4)


@pytest.mark.parametrize("search, side", [(255, 17), (239, 15)])
def test_siamfc_output_shape(small_models: dict, search: int, side: int) -> None:
    with torch.inference_mode():
        response = small_models["siamfc"](images(2, 127, 1), images(2, search, 2))
    assert response.shape == (2, 1, side, side)


# -------------------------------------------------------------------- caching, batching

@pytest.mark.parametrize("name", ["siamrpn", "siamrpn-dw"])
def test_track_equals_forward_and_batches_are_independent(small_models: dict, name: str) -> None:
    model = small_models[name]
    z, x = images(3, 127, 4), images(3, 255, 5)
    with torch.inference_mode():
        cls, reg = model(z, x)
        kernels = model.template_kernels(z)
        t_cls, t_reg = model.track(x, kernels)
        torch.testing.assert_close(t_cls, cls, rtol=0, atol=0)
        torch.testing.assert_close(t_reg, reg, rtol=0, atol=0)
        for i in range(3):
            c1, r1 = model.track(x[i:i + 1], model.template_kernels(z[i:i + 1]))
            torch.testing.assert_close(c1, cls[i:i + 1], rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(r1, reg[i:i + 1], rtol=1e-4, atol=1e-4)
        # one template's kernels serve several search images (no template recomputation)
        shared = model.template_kernels(z[:1])
        s_cls, s_reg = model.track(x, shared)
        r_cls, r_reg = model(z[:1].expand(3, -1, -1, -1), x)
        torch.testing.assert_close(s_cls, r_cls, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(s_reg, r_reg, rtol=1e-4, atol=1e-4)
    assert not cls.requires_grad


def test_up_channel_kernels_follow_the_dasiamrpn_reshape(small_models: dict) -> None:
    model = small_models["siamrpn"]
    z, x = images(1, 127, 6), images(1, 255, 7)
    with torch.inference_mode():
        kernels = model.template_kernels(z)
        z_f, x_f = model.backbone(z), model.backbone(x)
        c = model.backbone.out_channels
        assert kernels.cls.shape == (10, c, 4, 4) and kernels.reg.shape == (20, c, 4, 4)
        # DaSiamRPN: conv_cls1(z_f).view(2k, C, 4, 4); cls = conv2d(conv_cls2(x_f), kernel)
        expected_cls = F.conv2d(model.head.search_cls(x_f), model.head.template_cls(z_f).view(10, c, 4, 4))
        expected_reg = model.head.reg_adjust(
            F.conv2d(model.head.search_reg(x_f), model.head.template_reg(z_f).view(20, c, 4, 4)))
        cls, reg = model.track(x, kernels)
    torch.testing.assert_close(cls, expected_cls, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(reg, expected_reg, rtol=1e-5, atol=1e-5)


def test_xcorr_helpers_against_loops() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 7, 7, generator=g)
    k = torch.randn(2 * 4, 3, 3, 3, generator=g)  # 2 templates × 4 kernels
    out = xcorr(x, k, templates=2)
    for i in range(2):
        torch.testing.assert_close(out[i:i + 1], F.conv2d(x[i:i + 1], k[4 * i:4 * i + 4]))
    kd = torch.randn(2, 3, 3, 3, generator=g)
    outd = xcorr_depthwise(x, kd)
    assert outd.shape == (2, 3, 5, 5)
    for i in range(2):
        for ch in range(3):
            ref = F.conv2d(x[i:i + 1, ch:ch + 1], kd[i:i + 1, ch:ch + 1])
            torch.testing.assert_close(outd[i:i + 1, ch:ch + 1], ref)
    with pytest.raises(SiambenchError, match="cannot correlate"):
        xcorr(torch.randn(3, 3, 7, 7), k, templates=2)


def test_siamfc_three_scales_share_one_template(small_models: dict) -> None:
    model = small_models["siamfc"]
    z, x = images(1, 127, 8), images(3, 255, 9)
    with torch.inference_mode():
        features = model.template_features(z)
        shared = model.track(x, features)
        reference = model(z.expand(3, -1, -1, -1), x)
        single = model(z, x[1:2])
    torch.testing.assert_close(shared, reference, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(shared[1:2], single, rtol=1e-4, atol=1e-3)


def test_siamfc_head_scales_the_correlation() -> None:
    z = torch.ones(1, 2, 2, 2)
    x = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(1, 2, 3, 3)
    out = SiamFCHead(0.5)(z, x)
    # window sums of channel 0 (0..8) and channel 1 (9..17): top-left = (0+1+3+4) + (9+10+12+13)
    assert out.shape == (1, 1, 2, 2)
    assert float(out[0, 0, 0, 0]) == pytest.approx(0.5 * 52)
    assert float(out[0, 0, 1, 1]) == pytest.approx(0.5 * (4 + 5 + 7 + 8 + 13 + 14 + 16 + 17))


# ----------------------------------------------------------------- build_model, weights

def test_seed_reproducible_and_global_rng_untouched() -> None:
    state = torch.random.get_rng_state()
    a = build_model("siamrpn-dw", width_mult=0.25, seed=11).state_dict()
    assert torch.equal(state, torch.random.get_rng_state())
    b = build_model("siamrpn-dw", width_mult=0.25, seed=11).state_dict()
    c = build_model("siamrpn-dw", width_mult=0.25, seed=12).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["backbone.layer3.0.weight"], c["backbone.layer3.0.weight"])
    assert torch.count_nonzero(a["backbone.layer3.0.bias"]) == 0
    assert torch.all(a["backbone.layer3.1.weight"] == 1) and torch.all(a["backbone.layer3.1.bias"] == 0)


def test_seeded_weights_do_not_depend_on_global_rng() -> None:
    torch.manual_seed(1)
    a = build_model("siamfc", width_mult=0.25, seed=5).state_dict()
    torch.manual_seed(2)
    b = build_model("siamfc", width_mult=0.25, seed=5).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", ["siamrpn", "siamrpn-dw", "siamfc"])
def test_config_rebuilds_the_same_architecture(name: str) -> None:
    model = build_model(name, width_mult=0.25, channel_order="bgr", search_size=271)
    assert model.name == name
    assert model.config["channel_order"] == "bgr" and model.config["search_size"] == 271
    again = build_model(model.name, **model.config)
    assert again.config == model.config
    assert {k: v.shape for k, v in again.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    for value in model.config.values():  # plain, weights_only-loadable values
        assert isinstance(value, (int, float, str, list))


def test_default_config_values() -> None:
    rpn = build_model("siamrpn", width_mult=0.25)
    assert isinstance(rpn, SiamRPN) and rpn.anchor_num == 5
    assert rpn.config == {"width_mult": 0.25, "anchor_num": 5, "channel_order": "rgb",
                          "template_size": 127, "search_size": 255, "stride": 8,
                          "anchor_ratios": [0.33, 0.5, 1.0, 2.0, 3.0], "anchor_scales": [8.0]}
    fc = build_model("siamfc", width_mult=0.25)
    assert isinstance(fc, SiamFC) and fc.config["out_scale"] == 0.001


def test_build_model_errors() -> None:
    assert list_models() == ["siamrpn", "siamrpn-dw", "siamfc"]
    with pytest.raises(UnknownNameError, match="siamrpn-dw"):
        build_model("siamrpn++")
    with pytest.raises(SiambenchError, match="hidden"):
        build_model("siamrpn", hidden=64)
    with pytest.raises(SiambenchError, match="anchor_num=3"):
        build_model("siamrpn", width_mult=0.25, anchor_num=3)
    with pytest.raises(SiambenchError, match="channel_order"):
        build_model("siamfc", width_mult=0.25, channel_order="yuv")


def test_anchor_num_follows_ratios() -> None:
    model = build_model("siamrpn", width_mult=0.25, anchor_num=3, anchor_ratios=[0.5, 1, 2]).eval()
    with torch.inference_mode():
        cls, reg = model(images(1, 127, 0), images(1, 255, 1))
    assert cls.shape == (1, 6, 17, 17) and reg.shape == (1, 12, 17, 17)


@pytest.mark.parametrize("name", ["siamrpn", "siamrpn-dw"])
def test_random_weights_give_moderate_outputs(small_models: dict, name: str) -> None:
    with torch.inference_mode():
        cls, reg = small_models[name](images(1, 127, 2), images(1, 255, 3))
    assert torch.isfinite(cls).all() and torch.isfinite(reg).all()
    assert float(cls.abs().max()) < 100 and float(reg.abs().max()) < 5  # exp(dw) stays finite


def test_training_step_backpropagates(small_models: dict) -> None:
    model = build_model("siamrpn", width_mult=0.25, seed=0).train()
    cls, reg = model(images(2, 127, 0), images(2, 255, 1))
    (cls.square().mean() + reg.square().mean()).backward()
    assert model.backbone.layer1[0].weight.grad is not None
    assert model.head.template_cls.weight.grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", ["siamrpn", "siamrpn-dw", "siamfc"])
def test_cuda_matches_cpu(name: str) -> None:
    model = build_model(name, width_mult=0.25, seed=1).eval()
    z, x = images(2, 127, 0), images(2, 255, 1)
    with torch.inference_mode():
        cpu = model(z, x)
        model.cuda()
        kernels = model.template_kernels(z.cuda()) if name != "siamfc" else model.template_features(z.cuda())
        gpu = model.track(x.cuda(), kernels)
    cpu = cpu if isinstance(cpu, tuple) else (cpu,)
    gpu = gpu if isinstance(gpu, tuple) else (gpu,)
    for a, b in zip(cpu, gpu, strict=True):
        torch.testing.assert_close(b.cpu(), a, rtol=1e-3, atol=1e-2)
