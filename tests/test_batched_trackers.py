"""Batched Siamese trackers (``Tracker.batched``): every slot answers as its own per-sequence
tracker would (boxes within 1e-3 px, scores within 1e-4), whatever the schedule: sequences of
different lengths, finished slots re-used, VOT-style re-initialisations, slots in any order or
subset per step; one network forward per step (per search size); errors for misuse."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from siambench.errors import SiambenchError
from siambench.trackers import create_tracker
from siambench.trackers.base import BatchTracker
from siambench.trackers.siamfc import SiamFCTracker, fc_decide, fc_decide_batch, upsample_responses
from siambench.trackers.siamrpn import SiamRPNTracker, rpn_decide, rpn_decide_batch

BOX_TOL = 1e-3
SCORE_TOL = 1e-4


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Four synthetic OTB sequences (JPEG frames, as a benchmark has them) of 8, 6, 5 and 4 frames."""
    from siambench.datasets import load_dataset
    from siambench.datasets.synthetic import write_benchmark

    root = write_benchmark(tmp_path_factory.mktemp("batched") / "otb", "otb", sequences=4, frames=8,
                           seed=3, workers=1, progress=False)
    dataset = load_dataset("synthetic", root, progress=False)
    out = []
    for sequence, length in zip(dataset, (8, 6, 5, 4), strict=True):
        frames = [sequence.frame(i) for i in range(length)]
        out.append((frames, np.asarray(sequence.groundtruth[:length], dtype=np.float64)))
    return out


def make_tracker(name: str, params: str, **model: object) -> SiamRPNTracker | SiamFCTracker:
    return create_tracker(name, weights="random", params=params, seed=0,
                          model_config={"width_mult": 0.25, **model})


def single_like(tracker: SiamRPNTracker | SiamFCTracker) -> SiamRPNTracker | SiamFCTracker:
    """An independent per-sequence tracker on the same network and parameters."""
    return type(tracker)(tracker.model, tracker.params, name=tracker.name)


def count_forwards(batch: BatchTracker) -> list[int]:
    """Wrap the batch's network's ``track``: the returned list gets each call's number of
    search images."""
    calls: list[int] = []
    original = batch.model.track

    def track(x: torch.Tensor, kernels: object) -> object:
        calls.append(int(x.shape[0]))
        return original(x, kernels)

    batch.model.track = track
    return calls


def run_schedule(tracker: SiamRPNTracker | SiamFCTracker, batch: BatchTracker,
                 sequences: list[tuple[list[np.ndarray], np.ndarray]], *,
                 rng: np.random.Generator | None = None, skip: float = 0.0,
                 reinit: frozenset[tuple[int, int]] = frozenset(),
                 first_box: Callable[[int, np.ndarray], np.ndarray] | None = None
                 ) -> tuple[float, float, int]:
    """Drive ``batch`` like the run engine (a queue of sequences, a finished slot takes the next
    one) and one single tracker per slot with the same frames; returns the largest box and score
    differences and the number of updates compared. ``rng``: slots in a random order per call;
    ``skip``: chance that an active slot sits a step out; ``reinit``: ``(sequence, frame)`` pairs
    re-initialised on the ground truth instead of tracked (VOT resets)."""
    capacity = batch.capacity
    singles = [single_like(tracker) for _ in range(capacity)]
    queue = list(range(len(sequences)))
    owner: list[int | None] = [None] * capacity
    position = [0] * capacity
    box_diff = score_diff = 0.0
    compared = 0
    while queue or any(o is not None for o in owner):
        inits: list[tuple[int, np.ndarray, np.ndarray]] = []
        updates: list[tuple[int, np.ndarray]] = []
        for slot in range(capacity):
            seq = owner[slot]
            if seq is None or position[slot] >= len(sequences[seq][0]):
                owner[slot] = seq = queue.pop(0) if queue else None
                position[slot] = 0
                if seq is None:
                    continue
            elif rng is not None and rng.random() < skip:
                continue
            frames, truth = sequences[seq]
            index = position[slot]
            if index == 0:
                box = truth[0] if first_box is None else first_box(seq, truth[0])
                inits.append((slot, frames[0], box))
            elif (seq, index) in reinit:
                inits.append((slot, frames[index], truth[index]))
            else:
                updates.append((slot, frames[index]))
            position[slot] += 1
        if rng is not None:
            inits = [inits[i] for i in rng.permutation(len(inits))]
            updates = [updates[i] for i in rng.permutation(len(updates))]
        batch.init_slots([s for s, _, _ in inits], [f for _, f, _ in inits], [b for _, _, b in inits])
        for slot, frame, box in inits:
            singles[slot].init(frame, box)
        outputs = batch.update_slots([s for s, _ in updates], [f for _, f in updates])
        assert len(outputs) == len(updates)
        for (slot, frame), out in zip(updates, outputs, strict=True):
            expected = singles[slot].update(frame)
            box_diff = max(box_diff, float(np.abs(out.box - expected.box).max()))
            score_diff = max(score_diff, abs(out.score - expected.score))
            compared += 1
    return box_diff, score_diff, compared


PARAMETER_SETS = [
    ("siamrpn", "default", {}),
    ("siamrpn", "pysot", {}),                          # pysot crop, continuous box, 287 search
    ("siamrpn", "pysot", {"model": "siamrpn-dw"}),     # depth-wise kernels
    ("siamrpn", "dasiamrpn-big", {}),                  # adaptive 271 / 287
    ("siamfc", "default", {}),
    ("siamfc", "siamfc-pytorch", {}),
]


@pytest.mark.parametrize("name, params, model", PARAMETER_SETS)
def test_batch_of_all_sequences_equals_single_trackers(sequences, name, params, model) -> None:
    tracker = make_tracker(name, params, **model)
    batch = tracker.batched(len(sequences))
    batch.chunk = None  # one forward per step, also on the CPU
    box_diff, score_diff, compared = run_schedule(tracker, batch, sequences)
    assert compared == sum(len(frames) - 1 for frames, _ in sequences)
    assert box_diff <= BOX_TOL and score_diff <= SCORE_TOL
    # one forward for all slots (SiamFC: all scales of all slots)
    calls = count_forwards(batch)
    batch.init_slots(range(len(sequences)), [f[0] for f, _ in sequences], [t[0] for _, t in sequences])
    batch.update_slots([2, 0, 3, 1], [sequences[i][0][1] for i in (2, 0, 3, 1)])
    if name == "siamfc":
        assert calls == [len(sequences) * len(tracker.factors)]
    else:  # one forward per search size (dasiamrpn-big: 287 for the small target of sequence 2)
        sizes = [batch.state(i).instance_size for i in range(len(sequences))]
        assert sorted(calls) == sorted(sizes.count(size) for size in set(sizes))


@pytest.mark.parametrize("name, params, model", PARAMETER_SETS)
def test_reused_slots_resets_and_any_order(sequences, name, params, model) -> None:
    """Capacity 2 for 4 sequences: finished slots take the next sequence; two VOT-style
    re-initialisations; slots in a random order and subset per step."""
    tracker = make_tracker(name, params, **model)
    batch = tracker.batched(2)
    batch.chunk = None
    box_diff, score_diff, compared = run_schedule(
        tracker, batch, sequences, rng=np.random.default_rng(7), skip=0.3,
        reinit=frozenset({(0, 4), (1, 3)}))
    assert compared == sum(len(frames) - 1 for frames, _ in sequences) - 2
    assert box_diff <= BOX_TOL and score_diff <= SCORE_TOL


def test_adaptive_search_sizes_are_grouped(sequences) -> None:
    """dasiamrpn-big: a small target searches at 287, the others at 271: one forward per size."""
    tracker = make_tracker("siamrpn", "dasiamrpn-big")

    def small_first(seq: int, box: np.ndarray) -> np.ndarray:
        if seq != 0:
            return box
        cx, cy = box[0] + (box[2] - 1) / 2, box[1] + (box[3] - 1) / 2
        return np.array([cx - 5.5, cy - 6.5, 12.0, 14.0])  # 168 px² < 0.4 % of 320 x 240

    batch = tracker.batched(3)
    batch.chunk = None
    box_diff, score_diff, _ = run_schedule(tracker, batch, sequences[:3], first_box=small_first)
    assert box_diff <= BOX_TOL and score_diff <= SCORE_TOL
    calls = count_forwards(batch)
    batch.init_slots([0, 1, 2], [f[0] for f, _ in sequences[:3]],
                     [small_first(i, t[0]) for i, (_, t) in enumerate(sequences[:3])])
    assert [batch.state(i).instance_size for i in range(2)] == [287, 271]
    batch.update_slots([1, 0, 2], [sequences[i][0][1] for i in (1, 0, 2)])
    assert sorted(calls) == [1, 2]


@pytest.mark.parametrize("name", ["siamrpn", "siamfc"])
def test_chunked_forwards_give_the_same_results(sequences, name) -> None:
    """``chunk`` caps the slots per forward (a view of the kernels or a gather): same answers."""
    tracker = make_tracker(name, "default")
    batch = tracker.batched(4)
    batch.chunk = 3
    box_diff, score_diff, compared = run_schedule(tracker, batch, sequences,
                                                  rng=np.random.default_rng(3), skip=0.2)
    assert compared > 0 and box_diff <= BOX_TOL and score_diff <= SCORE_TOL
    calls = count_forwards(batch)
    batch.init_slots(range(4), [f[0] for f, _ in sequences], [t[0] for _, t in sequences])
    batch.update_slots([3, 1, 0, 2], [sequences[i][0][1] for i in (3, 1, 0, 2)])
    scales = len(tracker.factors) if name == "siamfc" else 1
    assert calls == [3 * scales, 1 * scales]
    batch.chunk = 0
    with pytest.raises(SiambenchError, match="chunk must be None or a whole number"):
        batch.update_slots([0], [sequences[0][0][1]])


def test_batch_shares_the_network() -> None:
    tracker = make_tracker("siamrpn", "default")
    batch = tracker.batched(3)
    assert isinstance(batch, BatchTracker)
    assert batch.name == tracker.name and batch.capacity == 3
    # on the CPU SiamRPN's batch runs a channels-last copy of the same weights (it pays there);
    # the tracker's own network is left as it was
    assert batch.model is not tracker.model
    for (name, mine), (_, theirs) in zip(batch.model.state_dict().items(),
                                         tracker.model.state_dict().items(), strict=True):
        assert torch.equal(mine, theirs), name
    assert next(tracker.model.parameters()).is_contiguous()
    fc = make_tracker("siamfc", "default")
    assert fc.batched(2).model is fc.model
    assert (batch.chunk, fc.batched(2).chunk) == (8, 1)  # CPU defaults (module docstring)


class OpaqueKernels(torch.nn.Module):
    """A plug-in network whose template output is not a known kernel type (run slot by slot)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.anchor_num = inner.anchor_num
        self.config = inner.config

    def template_kernels(self, z: torch.Tensor) -> dict[str, object]:
        return {"kernels": self.inner.template_kernels(z)}

    def track(self, x: torch.Tensor, kernels: dict[str, object]) -> object:
        return self.inner.track(x, kernels["kernels"])


def test_unknown_kernel_type_runs_slot_by_slot(sequences) -> None:
    base = make_tracker("siamrpn", "default")
    tracker = SiamRPNTracker(OpaqueKernels(base.model), base.params)
    box_diff, score_diff, compared = run_schedule(tracker, tracker.batched(2), sequences[:3],
                                                  rng=np.random.default_rng(1), skip=0.2)
    assert compared > 0 and box_diff == 0.0 and score_diff == 0.0


@pytest.mark.parametrize("name", ["siamrpn", "siamfc"])
def test_misuse_is_a_clear_error(sequences, name) -> None:
    tracker = make_tracker(name, "default")
    batch = tracker.batched(2)
    frames, truth = sequences[0]
    frame, box = frames[0], truth[0]
    with pytest.raises(SiambenchError, match="slot 1 was never started; call init_slots"):
        batch.update_slots([1], [frame])
    with pytest.raises(SiambenchError, match="slot 2 is out of range .* capacity 2"):
        batch.init_slots([2], [frame], [box])
    with pytest.raises(SiambenchError, match="slot -1 is out of range"):
        batch.update_slots([-1], [frame])
    with pytest.raises(SiambenchError, match="2 slots but 1 frames"):
        batch.init_slots([0, 1], [frame], [box, box])
    with pytest.raises(SiambenchError, match="1 slots but 2 boxes"):
        batch.init_slots([0], [frame], [box, box])
    with pytest.raises(SiambenchError, match="slot 0 appears more than once"):
        batch.init_slots([0, 0], [frame, frame], [box, box])
    with pytest.raises(SiambenchError, match="integers"):
        batch.init_slots([0.5], [frame], [box])
    with pytest.raises(SiambenchError, match="initial box"):
        batch.init_slots([0], [frame], [[0, 0, -1, 5]])
    with pytest.raises(SiambenchError, match="RGB uint8"):
        batch.init_slots([0], [frame[..., 0]], [box])
    with pytest.raises(SiambenchError, match="capacity must be a whole number"):
        tracker.batched(0)
    batch.init_slots([0], [frame], [box])
    with pytest.raises(SiambenchError, match="slot 1 was never started"):
        batch.update_slots([0, 1], [frames[1], frames[1]])
    with pytest.raises(SiambenchError, match="1 slots but 2 frames"):
        batch.update_slots([0], [frames[1], frames[1]])
    assert batch.update_slots([], []) == []
    assert len(batch.update_slots([0], [frames[1]])) == 1


def test_rpn_decide_batch_matches_rpn_decide() -> None:
    rng = np.random.default_rng(0)
    n, anchors_n = 5, 5 * 17 * 17
    anchors = np.column_stack([rng.normal(0, 40, anchors_n), rng.normal(0, 40, anchors_n),
                               rng.uniform(20, 90, anchors_n), rng.uniform(20, 90, anchors_n)])
    window = rng.uniform(0, 1, anchors_n)
    score = rng.uniform(0, 1, (n, anchors_n))
    deltas = rng.normal(0, 0.3, (n, 4, anchors_n))
    sizes = rng.uniform(30, 80, (n, 2))
    for source in ("penalised", "windowed"):
        kwargs = {"penalty_k": 0.05, "window_influence": 0.42, "lr": 0.3, "lr_source": source}
        best, best_score, rate, box = rpn_decide_batch(score, deltas, anchors, window, sizes, **kwargs)
        for i in range(n):
            one = rpn_decide(score[i], deltas[i], anchors, window, (sizes[i, 0], sizes[i, 1]), **kwargs)
            assert best[i] == one.best
            np.testing.assert_allclose([best_score[i], rate[i]], [one.score, one.rate], rtol=1e-12)
            np.testing.assert_allclose(box[i], one.boxes[:, one.best], rtol=1e-12)


def test_fc_decide_batch_matches_fc_decide() -> None:
    rng = np.random.default_rng(0)
    factors = np.array([1 / 1.0375, 1.0, 1.0375])
    window = np.outer(np.hanning(272), np.hanning(272))
    window /= window.sum()
    maps = rng.normal(0, 1, (4, 3, 17, 17)).astype(np.float32)
    up = np.stack([upsample_responses(m, 272) for m in maps])
    x_sz = rng.uniform(100, 300, 4)
    kwargs = {"scale_penalty": 0.9745, "window_influence": 0.176, "total_stride": 8,
              "response_up": 16, "instance_size": 255}
    scale, loc, disp, peak = fc_decide_batch(up, window, factors, x_sz, **kwargs)
    for i in range(4):
        one = fc_decide(up[i], window, factors, float(x_sz[i]), **kwargs)
        assert (scale[i], tuple(loc[i])) == (one.scale, one.loc)
        np.testing.assert_array_equal(disp[i], one.disp)
        assert peak[i] == one.peak
