"""Trackers: stub-network decoding (SiamRPN, SiamFC), registry and parameters, simple and OpenCV
trackers, the got10k adapter, and end-to-end runs with random weights."""

from __future__ import annotations

import math
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
import torch

from siambench.errors import SiambenchError, UnknownNameError
from siambench.trackers import (
    TrackOutput,
    as_got10k,
    create_tracker,
    list_trackers,
    parse_set_options,
    registry,
    resolve_params,
)
from siambench.trackers.classic import CLASSIC_TRACKERS, opencv_factory
from siambench.trackers.siamfc import SiamFCTracker, fc_decide, scale_factors
from siambench.trackers.siamrpn import SiamRPNTracker, cosine_window, rpn_decide

K = 5


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


# -- stub networks ---------------------------------------------------------------------------

class StubRPN(torch.nn.Module):
    """Returns fixed maps; records what it was fed."""

    def __init__(self, side: int = 17, order: str = "rgb") -> None:
        super().__init__()
        self.anchor_num = K
        self.config = {"channel_order": order}
        self.side = side
        self.cls = torch.zeros(1, 2 * K, side, side)
        self.cls[0, :K] = 10.0           # background logit
        self.cls[0, K:] = -10.0          # foreground logit
        self.reg = torch.zeros(1, 4 * K, side, side)
        self.templates: list[torch.Tensor] = []
        self.searches: list[torch.Tensor] = []

    def set_anchor(self, a: int, y: int, x: int, fg: float, deltas=(0.0, 0.0, 0.0, 0.0),
                   bg: float = -10.0) -> None:
        self.cls[0, a, y, x] = bg
        self.cls[0, K + a, y, x] = fg
        for j, value in enumerate(deltas):
            self.reg[0, j * K + a, y, x] = value

    def template_kernels(self, z: torch.Tensor) -> str:
        self.templates.append(z.clone())
        return "kernels"

    def track(self, x: torch.Tensor, kernels: str):
        assert kernels == "kernels"
        self.searches.append(x.clone())
        return self.cls.clone(), self.reg.clone()


def rpn_params(**changes):
    return resolve_params("siamrpn", "default", changes)


FRAME = np.full((240, 320, 3), 90, np.uint8)
# w = h = 63.5 → p = 63.5, s_z = 127 → scale_z = 1 exactly; centre (160, 120)
BOX = np.array([160 - 62.5 / 2, 120 - 62.5 / 2, 63.5, 63.5])


# -- SiamRPN decoding ------------------------------------------------------------------------

def test_peak_anchor_with_offsets_gives_expected_box() -> None:
    stub = StubRPN()
    # anchor type 2 (64 x 64), row 10, column 5 → anchor centre (−24, +16) in crop pixels
    stub.set_anchor(2, 10, 5, fg=10.0, deltas=(0.25, -0.5, math.log(1.2), 0.0))
    tracker = SiamRPNTracker(stub, rpn_params(penalty_k=0.0, window_influence=0.0))
    tracker.init(FRAME, BOX)
    out = tracker.update(FRAME)
    score = sigmoid(20.0)
    lr = score * 0.4
    cx, cy = 160 + (0.25 * 64 - 24), 120 + (-0.5 * 64 + 16)        # (152, 104)
    w = 63.5 * (1 - lr) + 76.8 * lr
    h = 63.5 * (1 - lr) + 64.0 * lr
    assert tracker.last_decision.best == 2 * 17 * 17 + 10 * 17 + 5
    np.testing.assert_allclose(out.box, [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h], atol=1e-9)
    assert out.score == pytest.approx(score, abs=1e-7)
    assert isinstance(out, TrackOutput)
    # the crops: template 127, search 255 around the centre, RGB kept for "rgb" weights
    assert tuple(stub.templates[0].shape) == (1, 3, 127, 127)
    assert tuple(stub.searches[0].shape) == (1, 3, 255, 255)


def test_penalty_prefers_unchanged_shape() -> None:
    stub = StubRPN()
    # candidate A: type 0 (104 x 32) at the centre, no offsets — a big shape change
    stub.set_anchor(0, 8, 8, fg=3.0)
    # candidate B: type 2 (64 x 64) at the centre, resized to the previous 63.5 x 63.5
    stub.set_anchor(2, 8, 8, fg=2.5, deltas=(0, 0, math.log(63.5 / 64), math.log(63.5 / 64)))
    a_index, b_index = 0 * 289 + 8 * 17 + 8, 2 * 289 + 8 * 17 + 8

    plain = SiamRPNTracker(stub, rpn_params(penalty_k=0.0, window_influence=0.0))
    plain.init(FRAME, BOX)
    plain.update(FRAME)
    assert plain.last_decision.best == a_index

    penalised = SiamRPNTracker(stub, rpn_params(penalty_k=0.3, window_influence=0.0))
    penalised.init(FRAME, BOX)
    penalised.update(FRAME)
    decision = penalised.last_decision
    assert decision.best == b_index
    # hand-computed penalty of A: s_c = sqrt(172·100)/127, r_c = 104/32
    s_c = math.sqrt(172 * 100) / 127
    r_c = 104 / 32
    assert decision.penalty[a_index] == pytest.approx(math.exp(-(r_c * s_c - 1) * 0.3), rel=1e-12)
    assert decision.penalty[b_index] == pytest.approx(1.0, abs=1e-6)  # float32 deltas
    assert decision.score == pytest.approx(sigmoid(12.5), abs=1e-7)


def test_window_prefers_the_centre() -> None:
    stub = StubRPN()
    stub.set_anchor(2, 8, 8, fg=2.0)          # centre
    stub.set_anchor(2, 2, 14, fg=2.2)         # off-centre, slightly higher score
    centre, off = 2 * 289 + 8 * 17 + 8, 2 * 289 + 2 * 17 + 14
    for wi, expected in ((0.0, off), (0.4, centre)):
        tracker = SiamRPNTracker(stub, rpn_params(penalty_k=0.0, window_influence=wi))
        tracker.init(FRAME, BOX)
        tracker.update(FRAME)
        assert tracker.last_decision.best == expected
    window = cosine_window(17, K)
    assert window.shape == (K * 289,)
    assert window[centre] == pytest.approx(np.hanning(17)[8] ** 2)
    assert window[off] == pytest.approx(np.hanning(17)[2] * np.hanning(17)[14])
    assert window[0] == 0.0


def test_rpn_decide_pscore_formula() -> None:
    rng = np.random.default_rng(0)
    from siambench.models.anchors import generate_anchors
    anchors = generate_anchors(17)
    score = rng.uniform(0, 1, K * 289)
    deltas = rng.normal(0, 0.2, (4, K * 289))
    window = cosine_window(17, K)
    d = rpn_decide(score, deltas, anchors, window, (50.0, 80.0), penalty_k=0.1,
                   window_influence=0.3, lr=0.5)
    np.testing.assert_allclose(d.pscore, d.penalty * score * 0.7 + window * 0.3)
    assert d.best == int(np.argmax(d.pscore))
    assert d.rate == pytest.approx(d.penalty[d.best] * score[d.best] * 0.5)
    np.testing.assert_allclose(d.boxes[2], np.exp(deltas[2]) * anchors[:, 2])


def test_clipping_to_image_and_minimum_size() -> None:
    stub = StubRPN()
    # anchor type 2 at column 0 (cx −64), pushed further left and shrunk to 3.2 pixels
    stub.set_anchor(2, 8, 0, fg=10.0, deltas=(-1.0, 0.0, math.log(0.05), math.log(0.05)))
    tracker = SiamRPNTracker(stub, rpn_params(penalty_k=0.0, window_influence=0.0, lr=1.0))
    box = np.array([20.0, 100.0, 63.5, 63.5])
    tracker.init(FRAME, box)
    out = tracker.update(FRAME)
    lr = sigmoid(20.0)
    w = 63.5 * (1 - lr) + 3.2 * lr          # below 10 → clipped to 10
    assert w < 10
    cy = 100 + 62.5 / 2
    np.testing.assert_allclose(out.box, [0 - 4.5, cy - 4.5, 10.0, 10.0], atol=1e-9)
    np.testing.assert_allclose(tracker.centre, [0.0, cy])


def test_static_target_round_trip() -> None:
    stub = StubRPN()
    stub.set_anchor(2, 8, 8, fg=10.0, deltas=(0, 0, math.log(63.5 / 64), math.log(63.5 / 64)))
    tracker = SiamRPNTracker(stub, rpn_params())
    tracker.init(FRAME, BOX)
    for _ in range(3):
        out = tracker.update(FRAME)
        np.testing.assert_allclose(out.box, BOX, atol=1e-4)  # float32 log-size deltas


def test_bgr_weights_get_bgr_crops() -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[...] = (200, 100, 0)
    for order, first in (("rgb", 200.0), ("bgr", 0.0)):
        stub = StubRPN(order=order)
        tracker = SiamRPNTracker(stub, rpn_params())
        tracker.init(frame, BOX)
        tracker.update(frame)
        assert stub.templates[0][0, 0, 63, 63].item() == first
        assert stub.searches[0][0, 0, 127, 127].item() == first


@pytest.mark.parametrize("box, instance, side", [
    ([150.0, 110.0, 10.0, 10.0], 287, 21),     # 100 / 76800 < 0.004 → 287
    ([100.0, 80.0, 100.0, 80.0], 271, 19),
])
def test_adaptive_instance_size(box, instance, side) -> None:
    stub = StubRPN(side=side)
    tracker = SiamRPNTracker(stub, resolve_params("siamrpn", "dasiamrpn-big"))
    tracker.init(FRAME, np.array(box))
    tracker.update(FRAME)
    assert tuple(stub.searches[0].shape) == (1, 3, instance, instance)


def test_wrong_map_size_is_an_error() -> None:
    tracker = SiamRPNTracker(StubRPN(side=17), resolve_params("siamrpn", "vot"))
    tracker.init(FRAME, BOX)
    with pytest.raises(SiambenchError, match="19x19"):
        tracker.update(FRAME)


def test_update_before_init_and_bad_box() -> None:
    tracker = SiamRPNTracker(StubRPN(), rpn_params())
    with pytest.raises(SiambenchError, match="before init"):
        tracker.update(FRAME)
    with pytest.raises(SiambenchError, match="w, h > 0"):
        tracker.init(FRAME, [1, 2, 0, 5])


# -- SiamFC ----------------------------------------------------------------------------------

def fc_params(**changes):
    return resolve_params("siamfc", "default", changes)


def test_scale_factors() -> None:
    np.testing.assert_allclose(scale_factors(3, 1.0375), [1 / 1.0375, 1.0, 1.0375])
    np.testing.assert_allclose(scale_factors(5, 1.0255), 1.0255 ** np.arange(-2, 3))


def test_fc_decide_displacement_and_scale_choice() -> None:
    factors = scale_factors(3, 1.0375)
    window = np.outer(np.hanning(272), np.hanning(272))
    window /= window.sum()
    responses = np.zeros((3, 272, 272))
    responses[1, 135, 136] = 0.99        # centre scale, near the centre
    responses[2, 140, 150] = 1.0         # larger scale, off-centre
    kwargs = dict(window_influence=0.0, total_stride=8, response_up=16, instance_size=255)
    chosen = fc_decide(responses, window, factors, 200.0, scale_penalty=1.0, **kwargs)
    assert chosen.scale == 2 and chosen.loc == (140, 150)
    expected = np.array([150 - 135.5, 140 - 135.5]) * 8 / 16 * 200.0 * 1.0375 / 255
    np.testing.assert_allclose(chosen.disp, expected, rtol=1e-12)
    penalised = fc_decide(responses, window, factors, 200.0, scale_penalty=0.9745, **kwargs)
    assert penalised.scale == 1 and penalised.loc == (135, 136)
    assert penalised.peak == pytest.approx(0.99)
    assert responses[2, 140, 150] == 1.0          # input not modified


def test_fc_decide_window_prefers_centre() -> None:
    window = np.outer(np.hanning(272), np.hanning(272))
    window /= window.sum()
    rows, cols = np.mgrid[:272, :272]
    def blob(r: float, c: float) -> np.ndarray:
        return np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 15.0 ** 2))
    responses = (blob(136, 136) + 1.02 * blob(40, 50))[None]     # smooth, like real responses
    kwargs = dict(scale_penalty=1.0, total_stride=8, response_up=16, instance_size=255)
    assert fc_decide(responses, window, np.ones(1), 100.0, window_influence=0.0,
                     **kwargs).loc == (40, 50)
    assert fc_decide(responses, window, np.ones(1), 100.0, window_influence=0.176,
                     **kwargs).loc == (136, 136)


class StubFC(torch.nn.Module):
    def __init__(self, response: torch.Tensor) -> None:
        super().__init__()
        self.config = {"channel_order": "rgb"}
        self.response = response
        self.searches: list[torch.Tensor] = []

    def template_features(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def track(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        self.searches.append(x.clone())
        return self.response.clone()


def test_siamfc_tracker_moves_towards_the_peak() -> None:
    response = torch.zeros(3, 1, 17, 17)
    response[1, 0, 8, 10] = 5.0          # centre scale peaks two cells right of the centre
    response[0, 0, 8, 8] = 1.0
    response[2, 0, 8, 8] = 1.0
    tracker = SiamFCTracker(StubFC(response), fc_params(window_influence=0.0))
    tracker.init(FRAME, BOX)
    x_sz = 127 * 255 / 127
    out = tracker.update(FRAME)
    assert tracker.last_decision.scale == 1
    row, col = tracker.last_decision.loc
    assert row in (135, 136) and abs(col - 167.5) <= 1.0
    dx = (col - 135.5) * 8 / 16 * x_sz / 255
    np.testing.assert_allclose(out.box, [BOX[0] + dx, BOX[1] + (row - 135.5) / 2, 63.5, 63.5],
                               atol=1e-9)
    assert out.score == pytest.approx(sigmoid(tracker.last_decision.peak))
    assert tuple(tracker.model.searches[0].shape) == (3, 3, 255, 255)


def test_siamfc_scale_update() -> None:
    response = torch.zeros(3, 1, 17, 17)
    response[2, 0, 8, 8] = 5.0           # the larger scale wins at the centre
    tracker = SiamFCTracker(StubFC(response), fc_params())
    tracker.init(FRAME, BOX)
    out = tracker.update(FRAME)
    s = 1 - 0.59 + 0.59 * 1.0375
    assert tracker.last_decision.scale == 2
    np.testing.assert_allclose(out.box[2:], [63.5 * s, 63.5 * s], rtol=1e-12)
    assert tracker.x_sz == pytest.approx(255 * s)


def test_siamfc_five_scale_set() -> None:
    params = resolve_params("siamfc", "5s")
    tracker = SiamFCTracker(StubFC(torch.zeros(5, 1, 17, 17)), params)
    np.testing.assert_allclose(tracker.factors, 1.0255 ** np.arange(-2, 3))
    assert (params["scale_penalty"], params["scale_lr"], params["window_influence"]) == \
        (0.962, 0.34, 0.168)
    assert tracker.upscale_size == 272
    assert tracker.window.sum() == pytest.approx(1.0)


# -- parameters and registry ------------------------------------------------------------------

def test_named_sets_and_overrides() -> None:
    default = resolve_params("siamrpn")
    assert (default["instance_size"], default["penalty_k"], default["window_influence"],
            default["lr"]) == (255, 0.04, 0.44, 0.4)
    vot = resolve_params("siamrpn", "vot", {"penalty_k": 0.1})
    assert (vot["instance_size"], vot["penalty_k"], vot["lr"]) == (271, 0.1, 0.45)
    assert resolve_params("siamrpn", "pysot-alex")["instance_size"] == 287
    with pytest.raises(UnknownNameError, match="known sets: default, vot, otb"):
        resolve_params("siamrpn", "nope")
    with pytest.raises(UnknownNameError, match="valid keys: .*penalty_k"):
        resolve_params("siamrpn", None, {"penalty": 0.1})
    with pytest.raises(SiambenchError, match="expects a int"):
        resolve_params("siamrpn", None, {"instance_size": 271.5})


def test_parse_set_options() -> None:
    reference = resolve_params("siamrpn")
    parsed = parse_set_options(["penalty_k=0.1", "adaptive=true", "instance_size=271",
                                "lr=1", "anchor_scales=[8, 9]"], reference)
    assert parsed == {"penalty_k": 0.1, "adaptive": True, "instance_size": 271, "lr": 1.0,
                      "anchor_scales": [8.0, 9.0]}
    assert isinstance(parsed["lr"], float)
    with pytest.raises(UnknownNameError, match="unknown parameter.*foo.*valid keys"):
        parse_set_options(["foo=1"], reference)
    with pytest.raises(SiambenchError, match="key=value"):
        parse_set_options(["penalty_k"], reference)
    with pytest.raises(SiambenchError, match="expects a bool"):
        parse_set_options(["adaptive=3"], reference)


def test_create_tracker_overrides_and_errors(trackers_without_weights) -> None:
    tracker = create_tracker("siamrpn", weights="random", model_config={"width_mult": 0.25},
                             params="vot", penalty_k=0.1)
    assert isinstance(tracker, SiamRPNTracker)
    assert tracker.params["penalty_k"] == 0.1 and tracker.params["instance_size"] == 271
    with pytest.raises(UnknownNameError, match="unknown tracker 'nope'.*siamrpn.*identity"):
        create_tracker("nope")
    with pytest.raises(UnknownNameError, match="valid keys"):
        create_tracker("siamrpn", weights="random", model_config={"width_mult": 0.25}, k=1)
    with pytest.raises(SiambenchError, match="no weights.*weights=PATH"):
        create_tracker("siamfc")
    with pytest.raises(SiambenchError, match="template_features"):
        from siambench.models import build_model
        create_tracker("siamfc", model=build_model("siamrpn", seed=0, width_mult=0.25))


def test_list_trackers() -> None:
    infos = {info.name: info for info in list_trackers()}
    assert {"siamrpn", "siamfc", "identity", "oracle", "kcf", "csrt", "mil"} <= set(infos)
    assert infos["identity"].available and infos["siamrpn"].available
    for name, spec in CLASSIC_TRACKERS.items():
        assert infos[name].available == (opencv_factory(spec.cv_name) is not None)


def test_config_folder_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "siamfc").mkdir()
    (tmp_path / "siamfc" / "config.yaml").write_text(
        "description: x\ndefault: only\nsets:\n  only: {scale_num: 3, scale_step: 1.1}\n")
    monkeypatch.setenv("SIAMBENCH_TRACKERS", str(tmp_path))
    assert resolve_params("siamfc") == {"scale_num": 3, "scale_step": 1.1}
    monkeypatch.setenv("SIAMBENCH_TRACKERS", str(tmp_path / "missing"))
    with pytest.raises(SiambenchError, match="SIAMBENCH_TRACKERS"):
        resolve_params("siamfc")


def test_weights_from_checkpoint_and_release_layout(tmp_path: Path) -> None:
    from siambench.models import build_model
    from siambench.models.checkpoint import save_checkpoint

    model = build_model("siamrpn", seed=3, width_mult=0.25)
    path = save_checkpoint(tmp_path / "rpn.pt", model, metadata={"note": "test"})
    tracker = create_tracker("siamrpn", weights=path)
    for key, value in model.state_dict().items():
        assert torch.equal(tracker.model.state_dict()[key], value)
    # a bare state dict in siamfc-pytorch's layout goes through the importers
    fc = build_model("siamfc", seed=1)
    torch.save(fc.state_dict(), tmp_path / "siamfc_alexnet_e50.pth")
    tracker = create_tracker("siamfc", weights=tmp_path / "siamfc_alexnet_e50.pth")
    assert isinstance(tracker, SiamFCTracker)
    assert not tracker.bgr


def test_entry_point_tracker(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint("mine", "siambench.trackers.simple:IdentityTracker", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])
    infos = {info.name: info for info in list_trackers()}
    assert infos["mine"].source == "entry point"
    tracker = create_tracker("mine")
    tracker.init(FRAME, BOX)
    np.testing.assert_array_equal(tracker.update(FRAME).box, BOX)


def test_package_imports_without_torch() -> None:
    code = ("import sys; import siambench.trackers as t; t.create_tracker('identity'); "
            "t.list_trackers(); print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# -- simple, OpenCV, got10k ----------------------------------------------------------------

def test_identity_and_oracle() -> None:
    identity = create_tracker("identity")
    identity.init(FRAME, [1.5, 2.5, 10, 20])
    out = identity.update(FRAME)
    np.testing.assert_array_equal(out.box, [1.5, 2.5, 10, 20])
    assert out.score == 1.0 and identity.deterministic
    gt = np.arange(20, dtype=np.float64).reshape(5, 4) + 1
    oracle = create_tracker("oracle", groundtruth=gt)
    oracle.init(FRAME, gt[0])
    np.testing.assert_array_equal(oracle.update(FRAME).box, gt[1])
    oracle.init(FRAME, gt[3])                      # a VOT-style re-initialisation
    np.testing.assert_array_equal(oracle.update(FRAME).box, gt[4])
    with pytest.raises(SiambenchError, match="ran past"):
        oracle.update(FRAME)
    with pytest.raises(SiambenchError, match="groundtruth="):
        create_tracker("oracle")
    with pytest.raises(UnknownNameError, match="no parameters"):
        create_tracker("identity", penalty_k=1)


def synthetic(frames: int = 10):
    from siambench.datasets.synthetic import generate_sequence
    return generate_sequence(0, 0, frames=frames)


@pytest.mark.parametrize("name", sorted(CLASSIC_TRACKERS))
def test_opencv_tracker(name: str) -> None:
    if opencv_factory(CLASSIC_TRACKERS[name].cv_name) is None:
        with pytest.raises(SiambenchError, match="opencv-contrib-python-headless"):
            create_tracker(name)
        pytest.skip(f"cv2.Tracker{CLASSIC_TRACKERS[name].cv_name}_create is not in this OpenCV "
                    "(the missing-package error was checked)")
    seq = synthetic(6)
    runs = []
    for _ in range(2):
        tracker = create_tracker(name)
        tracker.init(seq.frames[0], seq.boxes[0])
        runs.append(np.array([tracker.update(f).box for f in seq.frames[1:]]))
    assert runs[0].shape == (5, 4) and np.all(np.isfinite(runs[0]))
    if tracker.deterministic:
        np.testing.assert_array_equal(runs[0], runs[1])


def test_got10k_adapter(tmp_path: Path) -> None:
    pytest.importorskip("got10k")
    import cv2

    seq = synthetic(5)
    files = []
    for i, frame in enumerate(seq.frames):
        files.append(str(tmp_path / f"{i:04d}.png"))
        cv2.imwrite(files[-1], frame[..., ::-1])
    adapter = as_got10k(create_tracker("identity"))
    boxes, times = adapter.track(files, seq.boxes[0])
    assert adapter.name == "identity" and adapter.is_deterministic
    np.testing.assert_allclose(boxes, np.tile(seq.boxes[0], (5, 1)))
    adapter = as_got10k(create_tracker("siamrpn", weights="random",
                                       model_config={"width_mult": 0.25}))
    boxes, _ = adapter.track(files, seq.boxes[0])
    assert boxes.shape == (5, 4) and np.all(np.isfinite(boxes))
    assert 0.0 <= adapter.last_score <= 1.0


# -- end to end with random weights ----------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name, model_config", [
    ("siamrpn", {"width_mult": 0.25}),
    ("siamrpn", {"width_mult": 0.25, "model": "siamrpn-dw"}),
    ("siamfc", {"width_mult": 0.25}),
])
def test_end_to_end_synthetic(name: str, model_config: dict) -> None:
    seq = synthetic(10)
    tracker = create_tracker(name, weights="random", model_config=model_config, seed=0)
    tracker.init(seq.frames[0], seq.boxes[0])
    boxes = np.array([tracker.update(f).box for f in seq.frames[1:]])
    assert boxes.shape == (9, 4) and np.all(np.isfinite(boxes)) and np.all(boxes[:, 2:] > 0)
    again = create_tracker(name, weights="random", model_config=model_config, seed=0)
    again.init(seq.frames[0], seq.boxes[0])
    np.testing.assert_allclose(np.array([again.update(f).box for f in seq.frames[1:]]), boxes)


@pytest.mark.shared
@pytest.mark.parametrize("name, params", [("siamrpn", "default"), ("siamrpn", "dasiamrpn-big"),
                                          ("siamfc", "default")])
def test_end_to_end_real_sequence(shared_data: Path, name: str, params: str) -> None:
    from siambench.datasets.otb import load_folder

    dataset = load_folder(shared_data / "jwlim_tracker_benchmark" / "data", "jwlim")
    seq = dataset["Couple"]
    tracker = create_tracker(name, weights="random", params=params,
                             model_config={"width_mult": 0.25})
    tracker.init(seq.frame(0), seq.groundtruth[0])
    height, width = seq.frame(0).shape[:2]
    for i in range(1, 20):
        out = tracker.update(seq.frame(i))
        assert np.all(np.isfinite(out.box))
        if name == "siamrpn":
            cx = out.box[0] + (out.box[2] - 1) / 2
            assert 0 <= cx <= width and 10 <= out.box[2] <= width


@pytest.mark.parametrize("name", ["siamrpn", "siamfc"])
def test_bundled_weights_load_and_track(name):
    """The shipped checkpoints (siambench/bundled/<name>/model.pt) build a tracker that follows a target."""
    from siambench.datasets.synthetic import generate_sequence

    sequence = generate_sequence(0, 1, frames=6)
    tracker = create_tracker(name)
    tracker.init(sequence.frames[0], sequence.boxes[0])
    outputs = [tracker.update(frame) for frame in sequence.frames[1:]]
    assert all(np.isfinite(out.box).all() and out.box[2] > 0 for out in outputs)


# -- reference conventions (parameter sets reproducing pysot, DaSiamRPN, siamrpn-pytorch) -----

def test_output_box_conventions() -> None:
    stub = StubRPN()
    stub.set_anchor(2, 8, 8, fg=10.0, deltas=(0, 0, math.log(63.5 / 64), math.log(63.5 / 64)))
    boxes = {}
    for convention in ("pixel", "continuous"):
        tracker = SiamRPNTracker(stub, rpn_params(output_box=convention))
        tracker.init(FRAME, BOX)
        boxes[convention] = tracker.update(FRAME).box
        cx, cy = tracker.state.centre
        w, h = tracker.state.size
    np.testing.assert_allclose(boxes["pixel"], [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])
    np.testing.assert_allclose(boxes["continuous"], [cx - w / 2, cy - h / 2, w, h])  # pysot
    with pytest.raises(SiambenchError, match="output_box"):
        SiamRPNTracker(stub, rpn_params(output_box="corner"))


def test_lr_source_windowed_uses_the_blended_score() -> None:
    stub = StubRPN()
    stub.set_anchor(2, 8, 8, fg=10.0, deltas=(0.0, 0.0, math.log(1.5), 0.0))
    rates = {}
    for source in ("penalised", "windowed"):
        tracker = SiamRPNTracker(stub, rpn_params(lr_source=source, penalty_k=0.1))
        tracker.init(FRAME, BOX)
        out = tracker.update(FRAME)
        d = tracker.last_decision
        expected = d.pscore[d.best] if source == "windowed" else d.penalty[d.best] * d.score
        assert d.rate == pytest.approx(expected * 0.4, rel=1e-12)
        assert out.box[2] == pytest.approx(63.5 * (1 - d.rate) + 96.0 * d.rate, rel=1e-6)  # float32
        rates[source] = d.rate
    assert rates["windowed"] != pytest.approx(rates["penalised"])


def test_channel_order_parameter_overrides_the_model() -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[...] = (200, 100, 0)
    for setting, first in (("model", 0.0), ("rgb", 200.0), ("bgr", 0.0)):
        stub = StubRPN(order="bgr")
        tracker = SiamRPNTracker(stub, rpn_params(channel_order=setting))
        tracker.init(frame, BOX)
        tracker.update(frame)
        assert stub.searches[0][0, 0, 127, 127].item() == first


@pytest.mark.parametrize("method", ["warp", "pysot", "dasiamrpn", "siamfc"])
def test_crop_methods_feed_the_network_the_same_static_target(method: str) -> None:
    stub = StubRPN()
    stub.set_anchor(2, 8, 8, fg=10.0, deltas=(0, 0, math.log(63.5 / 64), math.log(63.5 / 64)))
    tracker = SiamRPNTracker(stub, rpn_params(crop=method))
    tracker.init(FRAME, BOX)
    np.testing.assert_allclose(tracker.update(FRAME).box, BOX, atol=1e-4)
    assert tuple(stub.templates[0].shape) == (1, 3, 127, 127)
    assert float(stub.searches[0].min()) == float(stub.searches[0].max()) == 90.0
    with pytest.raises(SiambenchError, match="'crop' must be one of"):
        SiamRPNTracker(stub, rpn_params(crop="bicubic"))


def test_reference_parameter_sets() -> None:
    pysot = resolve_params("siamrpn", "pysot")
    assert (pysot["penalty_k"], pysot["window_influence"], pysot["lr"], pysot["instance_size"],
            pysot["crop"], pysot["output_box"]) == (0.16, 0.40, 0.30, 287, "pysot", "continuous")
    vot = resolve_params("siamrpn", "dasiamrpn-vot")
    assert (vot["penalty_k"], vot["lr"], vot["crop"], vot["adaptive"]) == (0.04, 0.45, "dasiamrpn", False)
    big = resolve_params("siamrpn", "dasiamrpn-big")
    assert (big["lr"], big["crop"], big["adaptive"]) == (0.295, "dasiamrpn", True)
    hrpn = resolve_params("siamrpn", "siamrpn-pytorch")
    assert (hrpn["crop"], hrpn["output_box"], hrpn["lr_source"], hrpn["channel_order"]) == \
        ("siamfc", "pixel", "windowed", "rgb")
    default = resolve_params("siamrpn")
    assert (default["crop"], default["output_box"], default["lr_source"], default["channel_order"]) \
        == ("warp", "pixel", "penalised", "model")
    assert resolve_params("siamfc", "siamfc-pytorch")["crop"] == "siamfc"
    assert resolve_params("siamfc")["crop"] == "warp"


# -- the state API ------------------------------------------------------------------------------

def test_siamrpn_state_round_trip_replays_a_step() -> None:
    stub = StubRPN()
    stub.set_anchor(2, 10, 5, fg=10.0, deltas=(0.25, -0.5, math.log(1.2), 0.0))
    tracker = SiamRPNTracker(stub, rpn_params())
    tracker.init(FRAME, BOX)
    before = tracker.state
    assert before.centre == (160.0, 120.0) and before.size == (63.5, 63.5)
    assert before.instance_size == 255
    first = tracker.update(FRAME)
    moved = tracker.state
    assert moved.centre != before.centre
    tracker.set_state(before)
    np.testing.assert_array_equal(tracker.update(FRAME).box, first.box)
    tracker.set_state(centre=(100.0, 80.0))           # re-detection: search elsewhere
    assert tracker.state.centre == (100.0, 80.0) and tracker.state.size == moved.size
    tracker.set_state(size=(30, 40))
    assert tracker.state.size == (30.0, 40.0)
    with pytest.raises(SiambenchError, match="size must be 2 finite positive"):
        tracker.set_state(size=(0, 4))
    with pytest.raises(SiambenchError, match="centre must be 2 finite"):
        tracker.set_state(centre=(math.nan, 4))
    with pytest.raises(SiambenchError, match="instance_size 287 is not available"):
        tracker.set_state(instance_size=287)
    with pytest.raises(SiambenchError, match="before init"):
        SiamRPNTracker(StubRPN(), rpn_params()).set_state(centre=(1, 2))


def test_siamrpn_state_switches_between_adaptive_search_sizes() -> None:
    tracker = SiamRPNTracker(StubRPN(side=19), resolve_params("siamrpn", "dasiamrpn-big"))
    tracker.init(FRAME, np.array([100.0, 80.0, 100.0, 80.0]))
    assert tracker.state.instance_size == 271
    tracker.set_state(instance_size=287)
    assert tracker.state.instance_size == 287


def test_siamfc_state_round_trip_and_derived_sizes() -> None:
    response = torch.zeros(3, 1, 17, 17)
    response[2, 0, 8, 10] = 5.0
    tracker = SiamFCTracker(StubFC(response), fc_params())
    tracker.init(FRAME, BOX)
    before = tracker.state
    assert before.z_sz == pytest.approx(127.0) and before.x_sz == pytest.approx(255.0)
    first = tracker.update(FRAME)
    tracker.set_state(before)
    np.testing.assert_array_equal(tracker.update(FRAME).box, first.box)
    tracker.set_state(size=(10.0, 20.0))               # z_sz, x_sz follow a new size
    assert tracker.state.z_sz == pytest.approx(math.sqrt(25 * 35))
    assert tracker.state.x_sz == pytest.approx(math.sqrt(25 * 35) * 255 / 127)
    tracker.set_state(z_sz=50.0, x_sz=120.0)
    assert (tracker.state.z_sz, tracker.state.x_sz) == (50.0, 120.0)
    with pytest.raises(SiambenchError, match="z_sz must be a finite positive"):
        tracker.set_state(z_sz=-1.0)
    with pytest.raises(SiambenchError, match="before init"):
        SiamFCTracker(StubFC(response), fc_params()).set_state(centre=(1, 2))
    with pytest.raises(SiambenchError, match="'crop' must be one of"):
        SiamFCTracker(StubFC(response), fc_params(crop="pysot"))
