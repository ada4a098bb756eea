"""``siambench tune``: a hyper-parameter search over a tracker's parameters, on Optuna.

Each trial is a normal ``siambench run`` (:func:`siambench.run.run_benchmark`) into
``<out>/trials/<NNNN>/`` (resumable, with its ``run.json``), scored by the metric family of the
dataset's protocol (:mod:`siambench.report.families`): ``auc`` (OPE success AUC),
``precision`` (OPE precision at 20 px), ``eao`` (VOT) or ``ao`` (GOT-10k). The study lives in an
Optuna storage: a SQLite file ``<out>/study.db`` by default, or any URL Optuna accepts
(``--storage postgresql://...``), so that processes on many machines started with the same
command share one study. Rerunning the command continues the study; ``--trials`` is the total of
finished (complete or pruned) trials. With several workers, up to ``workers - 1`` trials more
may finish, those already running when the total was reached.

Pruning (``auc``, ``precision``, ``ao``: scores that are means over sequences): the sequences are
tracked in ``blocks`` blocks; after each the trial reports its score on the sequences done so
far, and Optuna's median pruner stops a trial below the median of earlier trials at that step.

Failures: a trial whose run fails (or raises) is recorded as failed with its error and does not
count towards ``--trials``; a trial whose process was killed is marked failed by the next
process that works on the study once its heartbeat (``heartbeat`` seconds; grace twice that) is
stale. The study stops with an error after as many failed trials as ``--trials``.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siambench.datasets import get_spec, load_dataset
from siambench.errors import SiambenchError
from siambench.protocols import Protocol, load_protocol
from siambench.tune.space import Dimension, grid_of, parse_space, suggest

__all__ = ["OBJECTIVES", "SAMPLERS", "TunePlan", "TuneResult", "TuneSettings", "plan_tune",
           "run_tune"]

#: ``--objective`` -> the summary column it maximises.
OBJECTIVES: dict[str, str] = {"auc": "success_auc", "precision": "precision", "eao": "eao",
                              "ao": "ao"}
#: Objectives that are means over sequences, so a partial dataset gives a fair early estimate.
PRUNABLE = ("auc", "precision", "ao")
#: The default objective of each metric family.
DEFAULT_OBJECTIVE = {"ope": "auc", "vot": "eao", "got10k": "ao"}
SAMPLERS = ("tpe", "grid", "random")
FINISHED_STATES = ("COMPLETE", "PRUNED")


@dataclass(frozen=True)
class TuneSettings:
    """The options of ``siambench tune`` (see the CLI help); picklable, sent to workers."""

    tracker: str
    dataset: str
    space: tuple[str, ...]
    out: Path
    root: Path | None = None
    weights: str | None = None
    params: str | None = None
    settings: tuple[str, ...] = ()
    objective: str | None = None
    trials: int = 20
    sampler: str = "tpe"
    study: str | None = None
    storage: str | None = None
    workers: int = 1
    batch: int = 1
    sequences: tuple[str, ...] | None = None
    seed: int = 0
    prune: bool = True
    blocks: int = 4
    heartbeat: int = 60
    device: str = "cpu"


@dataclass
class TunePlan:
    """What a tune will do, checked before any trial (:func:`plan_tune`)."""

    settings: TuneSettings
    spec: Any
    protocol: Protocol
    family: Any
    objective: str
    column: str
    dimensions: list[Dimension]
    reference: dict[str, Any]
    fixed: dict[str, Any]
    model_config: dict[str, Any]
    names: list[str]
    split: str
    storage_url: str
    study_name: str
    trials: int
    warnings: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return Path(self.settings.out)

    @property
    def prunable(self) -> bool:
        return self.settings.prune and self.objective in PRUNABLE and len(self.names) > 1

    def blocks(self) -> list[list[str]]:
        """The sequence blocks a trial runs (one block without pruning)."""
        if not self.prunable:
            return [list(self.names)]
        count = max(1, min(int(self.settings.blocks), len(self.names)))
        size = math.ceil(len(self.names) / count)
        return [self.names[i:i + size] for i in range(0, len(self.names), size)]

    def study_attributes(self) -> dict[str, Any]:
        """What the study was made for (checked when a study is continued)."""
        return {"tracker": self.settings.tracker.lower(), "dataset": self.spec.name,
                "split": self.split, "objective": self.objective,
                "space": {d.name: d.describe() for d in self.dimensions},
                "params": self.settings.params, "fixed": self.fixed,
                "weights": self.settings.weights, "sequences": self.names}


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as error:  # a broken installation: optuna is a dependency
        raise SiambenchError(f"siambench tune needs optuna ({error}); pip install optuna") \
            from error
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are reported by siambench
    return optuna


def plan_tune(settings: TuneSettings, echo: Callable[[str], None]) -> TunePlan:
    """Check the options (tracker parameters, space, objective, sampler, dataset split) and
    decide the sequences, storage and study name."""
    from siambench.report.families import family_of
    from siambench.run import split_set_options
    from siambench.trackers import tracker_entry

    spec = get_spec(settings.dataset)
    protocol = load_protocol(spec.protocol)
    family = family_of(protocol)
    objective = (settings.objective or DEFAULT_OBJECTIVE.get(family.name, "auc")).lower()
    if objective not in OBJECTIVES:
        raise SiambenchError(f"--objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    column = OBJECTIVES[objective]
    if column not in family.columns:
        fitting = [name for name, col in OBJECTIVES.items() if col in family.columns]
        raise SiambenchError(f"--objective {objective}: {spec.name} is scored with the "
                             f"{family.name} metrics, which have no {column}; choose "
                             f"{' or '.join(fitting)}")
    if settings.sampler not in SAMPLERS:
        raise SiambenchError(f"--sampler {settings.sampler!r}: choose one of {', '.join(SAMPLERS)}")
    for option, value in (("--trials", settings.trials), ("--workers", settings.workers),
                          ("--batch", settings.batch), ("--blocks", settings.blocks),
                          ("--heartbeat", settings.heartbeat)):
        if int(value) < 1:
            raise SiambenchError(f"{option} must be at least 1, got {value}")
    entry = tracker_entry(settings.tracker)
    file = entry.param_file()
    if file is None:
        raise SiambenchError(f"tracker {entry.name!r} has no parameter file to tune; tune a "
                             f"tracker with named parameter sets (siambench trackers)")
    fixed, model_config = split_set_options(entry.name, settings.params, settings.settings)
    reference = file.resolve(settings.params, fixed, entry.name)
    dimensions = parse_space(settings.space, reference)
    fixed_names = sorted(set(fixed) & {d.name for d in dimensions})
    if fixed_names:
        raise SiambenchError(f"{', '.join(fixed_names)}: given both with --set and --space; "
                             f"a parameter is either fixed or tuned")
    trials = int(settings.trials)
    if settings.sampler == "grid":
        grid = grid_of(dimensions)
        size = math.prod(len(values) for values in grid.values()) if grid else 1
        if trials > size:
            echo(f"note: the grid has {size} points; --trials {trials} -> {size}")
            trials = size
    dataset = load_dataset(spec.name, settings.root, progress=False)
    if settings.sequences:
        names = [dataset[name].name for name in settings.sequences]
    else:
        names = list(dataset.names)
    warnings = []
    if spec.split == "test":
        warnings.append(
            f"{spec.name} is a test split: parameters tuned on the benchmark they are reported "
            f"on overstate the tracker (a common criticism of published trackers). Tune on a "
            f"validation split (synthetic-val, got10k-val) or a --sequences subset you then "
            f"leave out of the comparison; the trial table and best.yaml record the split")
    out = Path(settings.out).expanduser()
    storage = settings.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    study_name = settings.study or f"{entry.name}-{spec.name}-{objective}"
    return TunePlan(settings, spec, protocol, family, objective, column, dimensions, reference,
                    fixed, model_config, names, spec.split, storage, study_name, trials, warnings)


# -- the study ----------------------------------------------------------------------------------

def _storage(plan: TunePlan) -> Any:
    optuna = _import_optuna()
    heartbeat = max(1, int(plan.settings.heartbeat))
    kwargs: dict[str, Any] = {}
    if plan.storage_url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
    try:
        with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna 3-5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(plan.storage_url, heartbeat_interval=heartbeat,
                                              grace_period=2 * heartbeat, **kwargs)
    except Exception as error:  # noqa: BLE001 - any driver's error, named with the URL
        raise SiambenchError(f"--storage {plan.storage_url}: cannot open the study storage "
                             f"({type(error).__name__}: {error}); give a URL Optuna accepts, "
                             f"e.g. sqlite:///study.db or postgresql://user@host/db") from error


def _sampler(plan: TunePlan, worker: int) -> Any:
    optuna = _import_optuna()
    seed = int(plan.settings.seed) + worker
    if plan.settings.sampler == "grid":
        return optuna.samplers.GridSampler(grid_of(plan.dimensions), seed=seed)
    if plan.settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def open_study(plan: TunePlan, worker: int = 0) -> Any:
    """The plan's study, created or continued; an error when the storage holds a study of
    that name made for another tracker, dataset, objective or space."""
    optuna = _import_optuna()
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
              if plan.prunable else optuna.pruners.NopPruner())
    study = optuna.create_study(study_name=plan.study_name, storage=_storage(plan),
                                sampler=_sampler(plan, worker), pruner=pruner,
                                direction="maximize", load_if_exists=True)
    wanted = plan.study_attributes()
    found = study.user_attrs.get("siambench")
    if found is None:
        study.set_user_attr("siambench", wanted)
    elif found != _jsonable(wanted):
        differs = sorted(key for key in wanted if _jsonable(wanted[key]) != found.get(key))
        raise SiambenchError(
            f"study {plan.study_name!r} in {plan.storage_url} was made with other settings "
            f"({', '.join(differs)} differ); continue it with the same options, or start "
            f"another with --study NAME (or another --out)")
    return study


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def finished_trials(study: Any) -> int:
    """Complete and pruned trials (what ``--trials`` counts)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False,
                                states=(TrialState.COMPLETE, TrialState.PRUNED)))


def failed_trials(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))


def score_trial(plan: TunePlan, folder: Path, names: list[str], dataset: Any) -> dict[str, float]:
    """The family's summary scores of the trial's results on ``names``."""
    from siambench.report.coverage import restrict
    from siambench.results import align, read_tracker

    label = plan.settings.tracker.lower()
    results, _ = align(read_tracker(folder / plan.spec.name / label, label), dataset)
    aligned = restrict({label: results}, names)
    protocol = plan.family.configure(plan.protocol, plan.spec.name, {})
    scored = plan.family.score(aligned, dataset, protocol, False)
    row = scored.overall.iloc[0]
    return {column: float(row[column]) for column in plan.family.columns
            if column not in ("tracker", "sequences") and column in row and row[column] == row[column]}


def _objective(plan: TunePlan, dataset: Any, echo: Callable[[str], None]) -> Callable[[Any], float]:
    optuna = _import_optuna()
    from siambench.run import run_benchmark

    def objective(trial: Any) -> float:
        started = time.monotonic()
        values = {dimension.name: suggest(trial, dimension) for dimension in plan.dimensions}
        folder = plan.out / "trials" / f"{trial.number:04d}"
        trial.set_user_attr("params", values)
        trial.set_user_attr("folder", folder.relative_to(plan.out).as_posix())
        trial.set_user_attr("split", plan.split)
        trial.set_user_attr("host", platform.node())
        trial.set_user_attr("pid", os.getpid())
        done: list[str] = []
        scores: dict[str, float] = {}
        blocks = plan.blocks()
        for step, block in enumerate(blocks):
            summary = run_benchmark(
                plan.settings.tracker, dataset=plan.spec.name, root=plan.settings.root,
                weights=plan.settings.weights, params=plan.settings.params,
                overrides={**plan.fixed, **values}, model_config=plan.model_config,
                results_dir=folder, sequences=block, batch=plan.settings.batch,
                device=plan.settings.device, seed=plan.settings.seed, progress=False)
            if not summary.ok:
                problems = [f"{name}: {error}" for name, error in summary.failed.items()]
                problems += [f"{name}: not run" for name in summary.not_run]
                raise SiambenchError(f"trial {trial.number}: the run failed: "
                                     + "; ".join(problems))
            done += block
            scores = score_trial(plan, folder, done, dataset)
            value = scores[plan.column]
            if step < len(blocks) - 1:
                trial.report(value, step)
                if trial.should_prune():
                    trial.set_user_attr("scores", scores)
                    trial.set_user_attr("sequences", len(done))
                    echo(f"trial {trial.number}: pruned after {len(done)} of "
                         f"{len(plan.names)} sequences ({plan.objective} {value:.4f}; "
                         f"{_describe(values)})")
                    raise optuna.TrialPruned()
        trial.set_user_attr("scores", scores)
        trial.set_user_attr("sequences", len(done))
        value = scores[plan.column]
        echo(f"trial {trial.number}: {plan.objective} {value:.4f} ({_describe(values)}; "
             f"{time.monotonic() - started:.1f} s)")
        return value

    return objective


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items())


def optimize(plan: TunePlan, worker: int = 0, echo: Callable[[str], None] = print) -> None:
    """Work on the study until ``plan.trials`` trials have finished (this process's share)."""
    optuna = _import_optuna()
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    study = open_study(plan, worker)
    if finished_trials(study) >= plan.trials:
        return
    dataset = load_dataset(plan.spec.name, plan.settings.root, progress=False)

    objective = _objective(plan, dataset, echo)

    def recorded(trial: Any) -> float:
        try:
            return objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as error:
            trial.set_user_attr("error", f"{type(error).__name__}: {error}")
            raise

    def guard(study: Any, trial: Any) -> None:
        if trial.state == TrialState.FAIL:
            echo(f"trial {trial.number}: failed: {trial.user_attrs.get('error', 'unknown error')}")
        if failed_trials(study) >= max(plan.trials, 3):
            echo(f"stopping: {failed_trials(study)} trials failed")
            study.stop()

    study.optimize(recorded, n_trials=None, catch=(Exception,),
                   callbacks=[MaxTrialsCallback(plan.trials, states=(TrialState.COMPLETE,
                                                                     TrialState.PRUNED)),
                              guard], gc_after_trial=False)


# -- workers ------------------------------------------------------------------------------------

def _worker_main(settings: TuneSettings, worker: int, threads: int) -> None:
    """A worker process: its share of the study, ``threads`` CPU threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from siambench.run.workers import limit_threads

    def echo(text: str) -> None:
        print(f"[worker {worker + 1}] {text}", flush=True)

    import torch  # noqa: F401 - so that limit_threads sets torch's threads too

    limit_threads(threads)
    try:
        optimize(plan_tune(settings, lambda text: None), worker, echo)
    except SiambenchError as error:
        print(f"[worker {worker + 1}] error: {error}", flush=True)
        raise SystemExit(1) from None


@dataclass
class TuneResult:
    """What :func:`run_tune` did: the study's trial counts and the files written."""

    study_name: str
    storage: str
    finished: int
    failed: int
    best_value: float | None
    best_params: dict[str, Any] | None
    files: list[Path]
    warnings: list[str]


def run_tune(settings: TuneSettings, echo: Callable[[str], None] = print) -> TuneResult:
    """Run (or continue) the study to ``settings.trials`` finished trials with
    ``settings.workers`` processes, then write the trial table, ``best.yaml``, the plots and
    ``index.html`` into ``settings.out`` (:mod:`siambench.tune.output`)."""
    from siambench.run.workers import available_cpus
    from siambench.tune.output import write_outputs

    plan = plan_tune(settings, echo)
    for warning in plan.warnings:
        echo(f"warning: {warning}")
    plan.out.mkdir(parents=True, exist_ok=True)
    study = open_study(plan)  # creates the study once, before workers race to
    before = finished_trials(study)
    if before >= plan.trials:
        echo(f"study {plan.study_name}: {before} trials finished already (--trials "
             f"{plan.trials}); writing the outputs")
    elif int(settings.workers) == 1:
        optimize(plan, 0, echo)
    else:
        _run_workers(plan, available_cpus(), echo)
    study = open_study(plan)
    files = write_outputs(plan, study)
    best_value, best_params = _best(study)
    return TuneResult(plan.study_name, plan.storage_url, finished_trials(study),
                      failed_trials(study), best_value, best_params, files, plan.warnings)


def _best(study: Any) -> tuple[float | None, dict[str, Any] | None]:
    from siambench.tune.output import best_trial

    best = best_trial(study)
    if best is None:
        return None, None
    return float(best.value), dict(best.user_attrs.get("params", best.params))


def _run_workers(plan: TunePlan, cpus: int, echo: Callable[[str], None]) -> None:
    ctx = multiprocessing.get_context("spawn")
    count = int(plan.settings.workers)
    threads = max(1, cpus // count)
    processes = [ctx.Process(target=_worker_main, args=(plan.settings, index, threads),
                             name=f"siambench-tune-{index + 1}", daemon=False)
                 for index in range(count)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)
    codes = [process.exitcode for process in processes]
    if all(code != 0 for code in codes):
        raise SiambenchError(f"every tune worker failed (exit codes {codes}); see the messages "
                             f"above")
