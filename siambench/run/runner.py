"""``run_benchmark``: run a tracker over a dataset under its protocol, resumably and in parallel.

Results go to ``<results_dir>/<dataset>/<label>/`` in the protocol's official result format (OPE
``<seq>.txt`` + ``<seq>_time.txt``; VOT ``baseline/<seq>/<seq>_NNN.txt``; GOT-10k
``<seq>/<seq>_NNN.txt`` + ``<seq>_time.txt``), with ``run.json`` and per-sequence status files
(:mod:`siambench.run.manifest`). Boxes in the files are in the ground truth's pixel frame (the
protocol runners shift by the dataset's ``origin``).

Resume: a rerun skips the sequences whose results are complete for the same config hash and
weights checksum, and redoes the others (never started, interrupted, failed). A folder holding
results of another configuration is refused unless ``force=True``, which deletes those results
(the files their status lists) and reruns every selected sequence.

Sharding: ``shard=(i, n)`` with **1-based** ``i`` (``1 <= i <= n``, as SLURM array indices
``1-n``) takes sequences ``i-1, i-1+n, i-1+2n, ...`` of the selection in dataset order; shards
write into the same folder and merge there.

Concurrent runs: each sequence is claimed (:mod:`siambench.run.claims`) just before it is
tracked, so several runs (or shards) started on one folder share the work: a sequence claimed by
a live run is skipped and reported as "in progress elsewhere", one finished meanwhile by another
run counts as already complete, and the claim of a killed run is taken over.

Speeds (tracker time only, frame decoding excluded): ``fps_total`` = frames with a valid time /
the sum of those times; ``fps_mean`` = per sequence the mean of ``1 / t`` (got10k's speed), then
the mean over sequences (pooled over all frames for GOT-10k, as got10k): the report's two
columns of the same names.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from siambench.datasets import Dataset, get_spec, load_dataset
from siambench.errors import SiambenchError
from siambench.protocols import Protocol, load_protocol
from siambench.run.claims import ClaimBook, live_claims
from siambench.run.manifest import (
    config_hash,
    describe_differences,
    file_sha256,
    folder_lock,
    mean_rate,
    now_iso,
    read_manifest,
    read_status,
    read_statuses,
    remove_status,
    session_record,
    update_manifest,
    verify_complete,
    write_status,
)
from siambench.run.progress import RunProgress
from siambench.run.workers import (
    JobContext,
    TrackerSpec,
    available_cpus,
    build_tracker,
    per_sequence,
    run_batch_jobs,
    run_job,
    tracker_spec_entry,
    worker_main,
)
from siambench.trackers import tracker_entry
from siambench.trackers.base import Tracker

__all__ = ["RANDOM_WEIGHTS_WARNING", "RunPlan", "RunSession", "RunSummary", "check_device",
           "execute_run", "headline_scores", "parse_shard", "plan_run", "prepare_run",
           "run_benchmark", "split_set_options", "summarise_run"]

RANDOM_WEIGHTS_WARNING = "random weights: scores are meaningless"


@dataclass
class RunSummary:
    """What a run did. ``failed``: sequence -> error; ``not_run``: selected sequences left
    pending (interrupted, or every worker died); ``elsewhere``: sequences skipped because
    another live run holds their claim (not failures); ``frames``: frames with a valid tracker
    time in this session; ``fps_total`` and ``fps_mean``: the tracker's speed on them (decode
    excluded; see the module docstring)."""

    folder: Path
    dataset: str
    root: Path | None
    label: str
    config_hash: str
    weights_checksum: str
    selected: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    frames: int = 0
    tracker_seconds: float = 0.0
    sequence_speeds: list[tuple[float, int]] = field(default_factory=list)  # (fps_mean, frames)
    pooled_fps_mean: bool = False  # GOT-10k: fps_mean pooled over frames, as got10k
    wall_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    random_weights: bool = False

    @property
    def ok(self) -> bool:
        """True when no selected sequence failed or was left undone."""
        return not self.failed and not self.not_run

    @property
    def fps_total(self) -> float | None:
        """Frames tracked / tracker seconds, over this session's done sequences."""
        return self.frames / self.tracker_seconds if self.tracker_seconds > 0 else None

    @property
    def fps_mean(self) -> float | None:
        """The mean per-frame rate ``1 / t`` of each of this session's done sequences, averaged
        over the sequences (pooled over all their frames on GOT-10k, as the report does)."""
        return mean_rate(self.sequence_speeds, pooled=self.pooled_fps_mean)

    def lines(self) -> list[str]:
        """The final summary, one line each."""
        total, mean = self.fps_total, self.fps_mean
        speed = ""
        if total:
            speed = (f"; {self.frames} frames, tracker only (decode excluded): fps_total "
                     f"{total:.1f}" + (f", fps_mean {mean:.1f}" if mean else "")
                     + f"; {self.wall_seconds:.1f} s wall")
        lines = [f"{self.label} on {self.dataset}: {len(self.done)} sequences run, "
                 f"{len(self.skipped)} already complete (skipped), {len(self.failed)} failed"
                 + (f", {len(self.elsewhere)} in progress elsewhere" if self.elsewhere else "")
                 + (f", {len(self.not_run)} not run" if self.not_run else "") + speed]
        for name, error in self.failed.items():
            lines.append(f"failed: {name}: {error}")
        if self.elsewhere:
            lines.append("in progress elsewhere (claimed by another live run; rerun later to "
                         "check): " + ", ".join(self.elsewhere))
        if self.not_run:
            lines.append("not run: " + ", ".join(self.not_run))
        return lines


# -- argument checking ------------------------------------------------------------------------

def parse_shard(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"i/n"`` (1-based ``i``, ``1 <= i <= n``) -> ``(i, n)``; ``None`` stays ``None``."""
    if text is None:
        return None
    if isinstance(text, tuple):
        index, count = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if match is None:
            raise SiambenchError(f"--shard expects i/n with 1 <= i <= n (e.g. 1/4), got {text!r}")
        index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise SiambenchError(f"--shard {index}/{count}: i is 1-based and must satisfy "
                             f"1 <= i <= n (shards 1/{max(count, 1)} ... "
                             f"{max(count, 1)}/{max(count, 1)})")
    return int(index), int(count)


def check_device(device: str) -> str:
    """Validate ``cpu``, ``cuda`` or ``cuda:i``; CUDA requested where it is absent is an error."""
    device = str(device).strip().lower()
    match = re.fullmatch(r"cpu|cuda(?::(\d+))?", device)
    if match is None:
        raise SiambenchError(f"--device expects cpu, cuda or cuda:i, got {device!r}")
    if device == "cpu":
        return device
    try:
        import torch
    except ImportError as error:
        raise SiambenchError(f"--device {device}: torch is not installed; use --device cpu") \
            from error
    if not torch.cuda.is_available():
        raise SiambenchError(f"--device {device}: CUDA is not available here (torch "
                             f"{torch.__version__}, built for CUDA {torch.version.cuda}); "
                             "use --device cpu")
    index = int(match[1] or 0)
    if index >= torch.cuda.device_count():
        raise SiambenchError(f"--device {device}: only {torch.cuda.device_count()} CUDA "
                             f"device(s) here (cuda:0 ... cuda:{torch.cuda.device_count() - 1})")
    return device


def split_set_options(tracker: str, params: str | None, items: Iterable[str]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """CLI ``--set key=value`` strings -> ``(overrides, model_config)``.

    ``model.KEY=VALUE`` goes to the model config of a randomly initialised network
    (``--weights random``; e.g. ``model.width_mult=0.25``); other keys are tracker parameters,
    checked against the tracker's parameter set (``bundled/<name>/config.yaml``). A third-party
    tracker without a parameter file gets the values unchecked (read as YAML scalars).
    """
    from siambench.trackers.params import parse_set_options

    model_items, param_items = [], []
    for item in items:
        (model_items if item.strip().startswith("model.") else param_items).append(item)
    model_config: dict[str, Any] = {}
    for item in model_items:
        key, sep, text = item.strip()[len("model."):].partition("=")
        if not sep or not key.strip():
            raise SiambenchError(f"--set expects model.key=value, got {item!r}")
        try:
            model_config[key.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as error:
            raise SiambenchError(f"--set {item!r}: the value is not readable ({error})") \
                from error
    if not param_items:
        return {}, model_config
    entry = tracker_entry(tracker)
    file = entry.param_file()
    if file is not None:
        reference = file.resolve(params, None, entry.name)
        return parse_set_options(param_items, reference, entry.name), model_config
    if entry.passthrough:
        overrides = {}
        for item in param_items:
            key, sep, text = item.partition("=")
            if not sep or not key.strip():
                raise SiambenchError(f"--set expects key=value, got {item!r}")
            overrides[key.strip()] = yaml.safe_load(text) if text.strip() else ""
        return overrides, model_config
    raise SiambenchError(f"tracker {tracker!r} has no parameters to --set")


# -- configuration --------------------------------------------------------------------------

def _resolved_params(tracker: Tracker | None, spec: TrackerSpec) -> dict[str, Any]:
    params = getattr(tracker, "params", None)
    if isinstance(params, Mapping):
        return dict(params)
    return dict(spec.overrides)


def _param_set_name(spec: TrackerSpec, resolved: Mapping[str, Any]) -> str | None:
    if spec.params is not None:
        return spec.params
    file = tracker_spec_entry(spec).param_file()
    if file is None:
        return None
    for name in [file.default, *file.sets]:
        if {**file.sets[name], **spec.overrides} == dict(resolved):
            return name
    return None


def _weights_identity(spec: TrackerSpec) -> tuple[str | None, str]:
    """(source, checksum) of the tracker's weights."""
    if spec.weights == "random":
        return "random", f"random:{spec.seed}"
    if spec.weights is not None:
        path = Path(spec.weights).expanduser()
        if not path.is_file():
            from siambench.fileio import path_kind

            kind = path_kind(path)
            raise SiambenchError(f"weights file {path} does not exist" if kind == "missing" else
                                 f"weights file {path} is {kind}, expected a weights file")
        return str(path.resolve()), file_sha256(path)
    entry = tracker_spec_entry(spec)
    if entry.needs_weights:
        bundled = entry.file("model.pt")
        if bundled is not None:
            return str(bundled), file_sha256(bundled)
    return None, "none"


def _select(dataset: Dataset, sequences: Iterable[str] | None,
            shard: tuple[int, int] | None) -> tuple[list[str], list[str]]:
    """(selection before sharding, this shard's names), in dataset order."""
    if sequences:
        wanted = {dataset[name].name for name in sequences}
        selection = [name for name in dataset.names if name in wanted]
    else:
        selection = list(dataset.names)
    if shard is None:
        return selection, selection
    index, count = shard
    return selection, selection[index - 1::count]


# -- the run --------------------------------------------------------------------------------

def run_benchmark(tracker: str, *, dataset: str = "synthetic", root: Path | str | None = None,
                  weights: str | Path | None = None, params: str | None = None,
                  overrides: Mapping[str, Any] | None = None,
                  model_config: Mapping[str, Any] | None = None,
                  results_dir: Path | str = Path("results"),
                  sequences: Iterable[str] | None = None, workers: int = 1,
                  device: str = "cpu", repetitions: int | None = None,
                  shard: str | tuple[int, int] | None = None, force: bool = False,
                  save_video: Path | str | None = None, label: str | None = None,
                  seed: int = 0, progress: bool = True, batch: int = 1,
                  echo: Callable[[str], None] | None = None) -> RunSummary:
    """Run ``tracker`` on ``dataset`` and write results, ``run.json`` and status files under
    ``<results_dir>/<dataset>/<label or tracker>/`` (see the module docstring).

    ``weights="random"`` builds a seeded (``seed``) untrained network (``model_config`` sets
    its architecture); ``overrides`` replace tracker parameters. ``repetitions`` overrides the
    protocol's (VOT 15, GOT-10k 3); the one-pass result format holds one run. ``workers`` > 1
    runs sequences in that many spawned processes. ``batch`` > 1 tracks that many sequences at
    once in each process, in lockstep (one batched network forward per step; a tracker that
    cannot batch tracks one at a time, with a note). ``echo`` receives warnings as they arise.
    Returns a :class:`RunSummary`; sequence failures do not raise.

    The run is :func:`plan_run` (check the arguments, build the tracker, load the dataset,
    describe the configuration), :func:`prepare_run` (check the folder under its lock and list
    the sequences to track), :func:`execute_run` (track them, recording each as it ends) and
    :func:`summarise_run` (release the claims, write the final manifest), which also runs
    after an error or Ctrl-C so that nothing already tracked is lost.
    """
    started_wall = time.monotonic()
    echo = echo or (lambda text: None)
    plan = plan_run(tracker, dataset=dataset, root=root, weights=weights, params=params,
                    overrides=overrides, model_config=model_config, results_dir=results_dir,
                    sequences=sequences, workers=workers, device=device,
                    repetitions=repetitions, shard=shard, save_video=save_video, label=label,
                    seed=seed, progress=progress, batch=batch, echo=echo)
    session = prepare_run(plan, force=force, echo=echo)
    interrupted = False
    try:
        execute_run(plan, session, progress=progress, echo=echo)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        summarise_run(session, started_wall, interrupted=interrupted)
    return session.summary


@dataclass
class RunPlan:
    """What a run will do, decided before its results folder is touched (:func:`plan_run`)."""

    spec: TrackerSpec
    tracker: Tracker | None  # None: built per sequence (a per-sequence input)
    protocol: Protocol
    data: Dataset
    selection: list[str]     # the selected sequences before sharding
    mine: list[str]          # this shard's
    folder: Path
    label: str
    header: dict[str, Any]   # run.json's configuration
    context: JobContext
    workers: int
    shard: tuple[int, int] | None
    started: str
    warnings: list[str]

    @property
    def expected_repetitions(self) -> int:
        """Runs per sequence to expect (the progress bars' share)."""
        if self.context.result_format == "ope" or self.header["deterministic"]:
            return 1
        return int(self.header["repetitions"])


def plan_run(tracker: str, *, dataset: str, root: Path | str | None,
             weights: str | Path | None, params: str | None,
             overrides: Mapping[str, Any] | None, model_config: Mapping[str, Any] | None,
             results_dir: Path | str, sequences: Iterable[str] | None, workers: int,
             device: str, repetitions: int | None, shard: str | tuple[int, int] | None,
             save_video: Path | str | None, label: str | None, seed: int, progress: bool,
             echo: Callable[[str], None], batch: int = 1) -> RunPlan:
    """Check the arguments, build the tracker, load the dataset and describe the run's
    configuration (errors here leave no file behind but the results folder)."""
    started = now_iso()
    spec_ds = get_spec(dataset)
    protocol = load_protocol(spec_ds.protocol)
    result_format = protocol.result_format
    if repetitions is not None:
        repetitions = int(repetitions)
        if repetitions < 1:
            raise SiambenchError(f"--repetitions must be at least 1, got {repetitions}")
        if result_format == "ope" and repetitions != 1:
            raise SiambenchError(f"{spec_ds.name} uses the one-pass result format (one result "
                                 f"file per sequence), which holds one run: --repetitions "
                                 f"must be 1")
    workers = int(workers)
    if workers < 1:
        raise SiambenchError(f"--workers must be at least 1, got {workers}")
    batch = int(batch)
    if batch < 1:
        raise SiambenchError(f"--batch must be at least 1, got {batch}")
    shard_ = parse_shard(shard)
    device = check_device(device)
    video_dir = Path(save_video).expanduser() if save_video is not None else None
    if video_dir is not None:
        try:
            from siambench.report.video import write_video  # noqa: F401
        except ImportError as error:
            raise SiambenchError(f"--save-video needs siambench.report.video ({error})") \
                from error

    entry = tracker_entry(str(tracker))
    spec = TrackerSpec(name=str(tracker), weights=None if weights is None else str(weights),
                       params=params, overrides=dict(overrides or {}),
                       model_config=dict(model_config or {}), seed=int(seed), device=device,
                       module=None if entry.source == "built-in" else entry.module)
    weights_source, weights_checksum = _weights_identity(spec)
    parent_tracker = None if per_sequence(spec) else build_tracker(spec)
    if batch > 1 and (parent_tracker is None or parent_tracker.batched(batch) is None):
        echo(f"note: tracker {spec.name} cannot track sequences in a batch; tracking one "
             f"sequence at a time (--batch 1)")
        batch = 1
    resolved = _resolved_params(parent_tracker, spec)
    chash = config_hash(spec.name.lower(), resolved, spec.model_config)
    random_weights = spec.weights == "random"
    warnings: list[str] = []
    if random_weights:
        warnings.append(RANDOM_WEIGHTS_WARNING)
        echo(f"warning: {RANDOM_WEIGHTS_WARNING}")

    data = load_dataset(spec_ds.name, root, progress=progress)
    selection, mine = _select(data, sequences, shard_)
    label = label or spec.name
    if not re.fullmatch(r"[^/\\:*?\"<>|\x00-\x1f]+", label) or label in (".", ".."):
        raise SiambenchError(f"--name {label!r} cannot be a folder name")
    folder = Path(results_dir).expanduser() / spec_ds.name / label
    folder.mkdir(parents=True, exist_ok=True)
    header = {
        "tracker": spec.name.lower(), "label": label,
        "params_set": _param_set_name(spec, resolved), "params": resolved,
        "model_config": spec.model_config, "config_hash": chash,
        "weights": {"source": weights_source, "checksum": weights_checksum,
                    "random": random_weights},
        "weights_checksum": weights_checksum,
        "deterministic": bool(getattr(parent_tracker, "deterministic", True)),
        "dataset": {"name": spec_ds.name, "root": None if data.root is None
                    else str(Path(data.root).resolve()), "protocol": spec_ds.protocol,
                    "origin": spec_ds.origin, "result_format": result_format,
                    "metric_family": protocol.metric_family},
        "repetitions": repetitions if repetitions is not None else protocol.repetitions,
        "seed": int(seed),
    }
    context = JobContext(dataset=spec_ds.name, root=data.root, protocol=spec_ds.protocol,
                         origin=spec_ds.origin, repetitions=repetitions, folder=folder,
                         result_format=result_format, seed=int(seed), label=label,
                         video_dir=video_dir, batch=batch)
    return RunPlan(spec, parent_tracker, protocol, data, selection, mine, folder, label, header,
                   context, workers, shard_, started, warnings)


class RunSession:
    """This run's hold on its results folder: the claims of the sequences it tracks, the
    status files and ``run.json`` it writes (each under the folder lock), and its summary."""

    def __init__(self, plan: RunPlan, echo: Callable[[str], None]) -> None:
        self.plan = plan
        self.echo = echo
        self.id = uuid.uuid4().hex
        self.folder = plan.folder
        self.claims = ClaimBook(plan.folder, self.id)
        self.tracked: list[str] = []
        self.in_flight: set[str] = set()
        self.todo: list[str] = []
        header = plan.header
        self.summary = RunSummary(
            folder=plan.folder, dataset=plan.context.dataset, root=plan.data.root,
            label=plan.label, config_hash=header["config_hash"],
            weights_checksum=header["weights_checksum"], selected=plan.mine,
            warnings=plan.warnings, random_weights=bool(header["weights"]["random"]),
            pooled_fps_mean=plan.protocol.metric_family == "got10k")

    def record_of_session(self, ended: str | None, interrupted: bool = False) -> dict[str, Any]:
        """This session's entry of ``run.json``'s ``sessions``."""
        return session_record(self.id, device=self.plan.spec.device, workers=self.plan.workers,
                              shard=self.plan.shard, started=self.plan.started, ended=ended,
                              selection=self.plan.mine, tracked=self.tracked,
                              interrupted=interrupted, batch=self.plan.context.batch)

    def manifest(self, ended: str | None = None, interrupted: bool = False) -> None:
        """Rebuild run.json (call under the folder lock): sequences this run or another live
        run tracks are ``running``."""
        update_manifest(self.folder, self.plan.header, self.record_of_session(ended, interrupted),
                        self.plan.selection,
                        in_flight=frozenset(self.in_flight | set(live_claims(self.folder))))

    def claim(self, name: str) -> bool:
        """Claim ``name`` for this run; False (and the summary says why) when another run
        holds it or has recorded it since :func:`prepare_run` removed its status."""
        chash = self.plan.header["config_hash"]
        with folder_lock(self.folder):
            status = read_status(self.folder, name)
            if status is not None:
                if verify_complete(self.folder, status, chash,
                                   self.plan.header["weights_checksum"]):
                    self.summary.skipped.append(name)  # finished by another run meanwhile
                    return False
                if status.get("status") == "failed" and status.get("config_hash") == chash:
                    self.summary.failed[name] = (f"{status.get('error', 'unknown error')} "
                                                 "(recorded by another run)")
                    return False
            acquired, other = self.claims.acquire(name)
            if not acquired:
                self.summary.elsewhere.append(name)
                return False
            if other is not None:
                self.echo(f"note: {name}: took over the stale claim of {other.describe()}")
            if status is not None:
                remove_status(self.folder, name)
            self.in_flight.add(name)
            return True

    def record(self, name: str, status: dict[str, Any]) -> None:
        """Write sequence ``name``'s status (its files are in place), release its claim."""
        header = self.plan.header
        status = {**status, "sequence": name, "config_hash": header["config_hash"],
                  "weights_checksum": header["weights_checksum"],
                  "device": self.plan.spec.device, "session": self.id}
        with folder_lock(self.folder):
            write_status(self.folder, name, status)
            self.claims.release(name)
            self.in_flight.discard(name)
            self.tracked.append(name)
            self.manifest()
        summary = self.summary
        if status["status"] == "done":
            summary.done.append(name)
            summary.frames += int(status.get("tracked_frames", 0))
            summary.tracker_seconds += float(status.get("seconds", 0.0))
            if status.get("fps_mean") is not None:
                summary.sequence_speeds.append((float(status["fps_mean"]),
                                                int(status.get("tracked_frames", 0))))
        else:
            summary.failed[name] = str(status.get("error", "unknown error"))
            self.echo(f"failed: {name}: {summary.failed[name]}")


def prepare_run(plan: RunPlan, *, force: bool, echo: Callable[[str], None]) -> RunSession:
    """Check the folder's configuration (under its lock), list the sequences to track
    (``session.todo``) and write the first manifest."""
    session = RunSession(plan, echo)
    with folder_lock(plan.folder):
        session.todo = _prepare(plan.folder, plan.header, plan.mine, force, echo,
                                session.summary, plan.context.result_format)
        session.manifest()
    return session


def execute_run(plan: RunPlan, session: RunSession, *, progress: bool,
                echo: Callable[[str], None]) -> None:
    """Track ``session.todo``: in this process, or in ``plan.workers`` worker processes; one
    sequence at a time per process, or ``plan.context.batch`` at once."""
    todo = session.todo
    batch = plan.context.batch
    shares = {name: len(plan.data[name]) * plan.expected_repetitions for name in todo}
    bars = RunProgress(sum(shares.values()), min(plan.workers, max(1, len(todo))),
                       label=plan.label, disable=not progress)
    bars.expect(len(todo))
    try:
        if plan.workers > 1 and len(todo) > 1:
            _run_pool(todo, plan.spec, plan.context, plan.workers, bars, shares,
                      session.record, session.claim, session.claims.heartbeat,
                      session.summary, echo)
        elif batch > 1 and plan.tracker is not None:
            _run_batched_inline(todo, plan, bars, shares, session)
        else:
            _run_inline(todo, plan.data, plan.spec, plan.tracker, plan.context, bars, shares,
                        session.record, session.claim, session.claims.heartbeat)
    finally:
        bars.close()


def _run_batched_inline(todo: list[str], plan: RunPlan, bars: RunProgress,
                        shares: dict[str, int], session: RunSession) -> None:
    """Track ``todo`` in this process, ``plan.context.batch`` sequences at once; each is
    claimed just before it takes a slot."""
    tracker = plan.tracker
    batch = tracker.batched(plan.context.batch) if tracker is not None else None
    if batch is None:
        raise SiambenchError(f"tracker {plan.spec.name} cannot track sequences in a batch")

    def jobs() -> Iterator[tuple[str, Any]]:
        for name in todo:
            if session.claim(name):
                yield name, plan.data[name]
            else:
                bars.skip(shares[name])

    def start(name: str, frames: int) -> None:
        bars.start(0, name, shares[name], frames)

    def tick(name: str, count: int) -> None:
        bars.advance(0, name, count)
        session.claims.heartbeat(name)

    def done(name: str, status: dict[str, Any]) -> None:
        bars.finish(0, name, status)
        session.record(name, status)

    run_batch_jobs(batch, jobs(), plan.context, on_start=start, on_tick=tick, on_status=done)


def summarise_run(session: RunSession, started_wall: float, *, interrupted: bool) -> RunSummary:
    """Close the session: sequences neither done, failed, skipped nor held elsewhere are
    ``not_run``; claims are released and the final manifest is written."""
    summary = session.summary
    handled = {*summary.done, *summary.failed, *summary.skipped, *summary.elsewhere}
    summary.not_run = [name for name in session.todo if name not in handled]
    summary.wall_seconds = time.monotonic() - started_wall
    with folder_lock(session.folder):
        session.claims.release_all()
        session.in_flight.clear()
        session.manifest(now_iso(), interrupted)
    return summary


def _prepare(folder: Path, header: Mapping[str, Any], mine: list[str], force: bool,
             echo: Callable[[str], None], summary: RunSummary, result_format: str) -> list[str]:
    """Check the folder's configuration and return the sequences to run (under the lock)."""
    from siambench.results.write import remove_sequence_results

    chash, weights = header["config_hash"], header["weights_checksum"]
    previous = read_manifest(folder)
    statuses = read_statuses(folder)
    other = {name: s for name, s in statuses.items()
             if s.get("config_hash") != chash or s.get("weights_checksum") != weights}
    header_differs = previous is not None and (previous.get("config_hash") != chash
                                               or previous.get("weights_checksum") != weights)
    if (other or header_differs) and not force:
        differences = describe_differences(previous, header) if previous else \
            [f"config hash {next(iter(other.values())).get('config_hash')} -> {chash}"]
        raise SiambenchError(
            f"{folder} holds results of another configuration "
            f"({len(other)} sequence(s)):\n  " + "\n  ".join(differences) +
            "\nResults of different configurations are never mixed in one folder. Use "
            "--name LABEL to write this configuration to another folder, or --force to "
            "delete those results and rerun")
    if force:
        for name, status in other.items():
            for rel in status.get("files", {}) or {}:
                (folder / rel).unlink(missing_ok=True)
            remove_sequence_results(folder, result_format, name)
            remove_status(folder, name)
        if other:
            echo(f"--force: deleted the results of {len(other)} sequence(s) made with another "
                 "configuration")
    todo = []
    for name in mine:
        status = statuses.get(name)
        if not force and status is not None and verify_complete(folder, status, chash, weights):
            summary.skipped.append(name)
            continue
        remove_status(folder, name)
        todo.append(name)
    return todo


def _run_inline(todo: list[str], data: Dataset, spec: TrackerSpec, tracker: Tracker | None,
                context: JobContext, bars: RunProgress, shares: dict[str, int],
                record: Callable[[str, dict[str, Any]], None], claim: Callable[[str], bool],
                heartbeat: Callable[[str], None]) -> None:
    for name in todo:
        if not claim(name):
            bars.skip(shares[name])
            continue
        sequence = data[name]
        bars.start(0, name, shares[name], len(sequence))

        def make(sequence=sequence) -> Tracker:
            return tracker if tracker is not None else build_tracker(spec, sequence,
                                                                     context.origin)

        def tick(count: int, name: str = name) -> None:
            bars.advance(0, name, count)
            heartbeat(name)

        status = run_job(make, sequence, context, tick)
        bars.finish(0, name, status)
        record(name, status)


def _run_pool(todo: list[str], spec: TrackerSpec, context: JobContext, workers: int,
              bars: RunProgress, shares: dict[str, int],
              record: Callable[[str, dict[str, Any]], None], claim: Callable[[str], bool],
              heartbeat: Callable[[str], None], summary: RunSummary,
              echo: Callable[[str], None]) -> None:
    """Track ``todo`` in ``workers`` spawned processes. Sequences are claimed one at a time as
    workers become free (one queued per worker, or per slot of a worker's batch), so
    concurrent runs share the work."""
    ctx = multiprocessing.get_context("spawn")
    count = min(workers, len(todo))
    capacity = count * max(1, int(context.batch))
    threads = max(1, available_cpus() // count)
    tasks = ctx.Queue()
    events = ctx.Queue()
    pending = iter(todo)
    outstanding: set[str] = set()   # claimed and queued or being tracked
    exhausted = False

    def feed() -> None:
        nonlocal exhausted
        while not exhausted and len(outstanding) < capacity:
            name = next(pending, None)
            if name is None:
                exhausted = True
                for _ in range(count):
                    tasks.put(None)
            elif claim(name):
                outstanding.add(name)
                tasks.put(name)
            else:
                bars.skip(shares[name])

    processes = [ctx.Process(target=worker_main, args=(i, spec, context, threads, tasks, events),
                             name=f"siambench-worker-{i + 1}", daemon=True)
                 for i in range(count)]
    for process in processes:
        process.start()
    holding: dict[int, str] = {}
    fatal: list[str] = []
    try:
        feed()
        while outstanding:
            try:
                kind, worker, name, payload = events.get(timeout=0.5)
            except queue_module.Empty:
                for index, process in enumerate(processes):
                    if not process.is_alive() and index in holding:
                        lost = holding.pop(index)
                        status = {"status": "failed", "frames": 0, "finished": now_iso(),
                                  "error": f"worker process {index + 1} died (exit code "
                                           f"{process.exitcode}) while tracking it"}
                        bars.finish(index, lost, status)
                        outstanding.discard(lost)
                        record(lost, status)
                        feed()
                if not any(process.is_alive() for process in processes):
                    if fatal:
                        raise SiambenchError("the worker processes could not start: "
                                             + "; ".join(dict.fromkeys(fatal))) from None
                    break
                continue
            if kind == "start":
                holding[worker] = name
                bars.start(worker, name, shares[name], int(payload))
            elif kind == "progress":
                bars.advance(worker, name, int(payload))
                heartbeat(name)
            elif kind == "done":
                holding.pop(worker, None)
                outstanding.discard(name)
                bars.finish(worker, name, payload)
                record(name, payload)
                feed()
            elif kind == "fatal":
                fatal.append(str(payload))
                echo(f"warning: worker {worker + 1} could not start: {payload}")
        if not exhausted:  # every worker died: tell any that still starts to stop
            for _ in range(count):
                tasks.put(None)
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        tasks.close()
        events.close()
        tasks.cancel_join_thread()
        events.cancel_join_thread()


def headline_scores(summary: RunSummary) -> tuple[str | None, str | None]:
    """(terminal table of the tracker's scores, note) from
    :func:`siambench.report.build.build_report` on this tracker's folder only; the note says
    why there are no scores (e.g. GOT-10k test's withheld ground truth)."""
    from siambench.report.build import build_report

    with tempfile.TemporaryDirectory(prefix="siambench-run-report-") as out:
        try:
            report = build_report(summary.dataset, root=summary.root,
                                  results_dir=summary.folder.parent, compare=[summary.label],
                                  out=Path(out))
        except SiambenchError as error:
            return None, f"no scores: {error}"
        return report.terminal_table(), None
