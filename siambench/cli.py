"""The ``siambench`` command line (click).

Every command prints a user error (:class:`SiambenchError`) as one message without a traceback
and exits non-zero; Ctrl-C exits with status 130.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from siambench import __version__
from siambench.errors import SiambenchError

#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED_EXIT = 130


class _Group(click.Group):
    """A click group that turns project errors into clean CLI errors and Ctrl-C into
    ``interrupted`` on stderr with exit status 130 (click alone prints ``Aborted!``, exit 1)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SiambenchError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED_EXIT) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="siambench")
def cli() -> None:
    """Train, run and score Siamese single-object trackers.

    Datasets are looked for at --root, else $SIAMBENCH_DATA/<folder>, else ./datasets/<folder>;
    the default dataset, `synthetic`, is generated on first use.
    """


class _TrainableTracker(click.ParamType):
    """A tracker name the registry knows and ``siambench train`` can train (the choices come
    from :func:`siambench.trackers.trainable_trackers`, read when the option is used)."""

    name = "tracker"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "NAME"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        from siambench.trackers import trainable_trackers

        names = trainable_trackers()
        key = str(value).lower()
        if key not in names:
            self.fail(f"{value!r} cannot be trained; trainable trackers: {', '.join(names)}",
                      param, ctx)
        return key

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[click.shell_completion.CompletionItem]:
        from siambench.trackers import trainable_trackers

        return [click.shell_completion.CompletionItem(name) for name in trainable_trackers()
                if name.startswith(incomplete.lower())]


@cli.command("trackers")
def trackers_command() -> None:
    """Known trackers: name, whether it can run here, where it comes from, what it is.

    Built-ins and plug-ins (entry-point group siambench.trackers) alike; `train` marks those
    `siambench train` can train.
    """
    from siambench.trackers import list_trackers, trainable_trackers

    trainable = set(trainable_trackers())
    infos = list_trackers()
    width = max(len(info.name) for info in infos)
    for info in infos:
        flags = ", ".join(flag for flag in (info.source, "train" if info.name in trainable
                                            else "") if flag)
        line = f"{info.name:<{width}}  {'yes' if info.available else 'no':<3}  [{flags}] " \
               f"{info.description}"
        click.echo(line + (f" ({info.note})" if info.note else ""))


@cli.group(cls=_Group)
def data() -> None:
    """List, check and generate datasets."""


@data.command("list")
def data_list() -> None:
    """Known datasets and where each is looked for."""
    from siambench.datasets.registry import candidate_roots, list_datasets

    for spec in list_datasets():
        places = candidate_roots(spec)
        found = next((p for p in places if p.is_dir()), None)
        status = f"found at {found}" if found else "not found"
        if spec.generated:
            status = "generated on first use" if found is None else f"generated at {found}"
        aliases = f" (also: {', '.join(spec.aliases)})" if spec.aliases else ""
        click.echo(f"{spec.name}{aliases}: {spec.description} [{spec.protocol}] — {status}")
        if not spec.generated:
            click.echo("    looked for at: " + ", ".join(str(p) for p in places))
    click.echo("\n--root PATH overrides all of these; $SIAMBENCH_DATA sets the data root.")


@data.command("check")
@click.argument("name")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset folder (default: $SIAMBENCH_DATA/<folder>, then ./datasets/<folder>).")
@click.option("--decode", type=click.Choice(["none", "first", "all"]), default="first",
              show_default=True, help="Which frames to decode to check they are intact.")
@click.option("--quiet", is_flag=True, help="Print only the summary line.")
def data_check(name: str, root: Path | None, decode: str, quiet: bool) -> None:
    """Validate a dataset folder: which sequences are usable, which are not and why.

    Exits 0 when at least one sequence is usable, 1 otherwise.
    """
    from tqdm import tqdm

    from siambench.datasets import load_dataset

    dataset = load_dataset(name, root, progress=not quiet)
    usable, broken, notes = [], [], []
    for sequence in tqdm(dataset, desc=f"checking {dataset.name}", unit="seq",
                         disable=quiet or len(dataset) < 50, file=sys.stderr):
        problems = sequence.problems(decode=decode)
        if problems:
            broken.append((sequence.name, problems))
        else:
            usable.append(sequence)
            notes += [f"{sequence.name}: {note}" for note in sequence.notes]
    missing = list(dataset.meta.get("missing", []))
    annotation_only = sum(1 for s in usable if not s.has_frames)
    frames = sum(len(s) for s in usable)
    total = len(dataset) + len(missing)
    click.echo(f"{dataset.name} at {dataset.root}: {len(usable)} of {total} sequences usable "
               f"({frames} frames)"
               + (f", {annotation_only} with annotations only (can be scored, not tracked)"
                  if annotation_only else ""))
    if not quiet:
        if missing:
            click.echo(f"missing ({len(missing)}): " + ", ".join(missing))
        for sequence_name, problems in broken:
            click.echo(f"malformed: {sequence_name}")
            for problem in problems:
                click.echo(f"    {problem}")
        for note in notes:
            click.echo(f"note: {note}")
    sys.exit(0 if usable else 1)


@data.command("synth")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write the benchmark into.")
@click.option("--format", "fmt", type=click.Choice(["otb", "vot", "got10k"]), default="otb",
              show_default=True, help="Layout to write.")
@click.option("--sequences", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--frames", type=click.IntRange(min=2), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar; print only the final line.")
def data_synth(out: Path, fmt: str, sequences: int, frames: int, seed: int, quiet: bool) -> None:
    """Write a synthetic benchmark in the OTB, VOT or GOT-10k layout.

    Resumable: an interrupted run keeps its finished sequences in <out>.partial and the same
    command continues from there.
    """
    from siambench.datasets.synthetic import write_benchmark

    path = write_benchmark(out, fmt=fmt, sequences=sequences, frames=frames, seed=seed,
                           progress=not quiet)
    click.echo(f"wrote {sequences} sequences x {frames} frames ({fmt} layout) to {path}")


@data.command("crop")
@click.argument("name")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset folder (default: $SIAMBENCH_DATA/<folder>, then ./datasets/<folder>).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write the crops into (train with --root on it).")
@click.option("--size", type=click.IntRange(min=127), default=511, show_default=True,
              help="Crop side in pixels (the target's context square becomes 127 of them).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes cropping in parallel [default: the CPU count].")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="JPEG quality of the crops.")
@click.option("--quiet", is_flag=True, help="No progress bar; print only the summary line.")
def data_crop(name: str, root: Path | None, out: Path, size: int, workers: int | None,
              quality: int, quiet: bool) -> None:
    """Pre-crop a dataset for training: every usable target into a SIZE x SIZE JPEG (pysot's
    par_crop geometry) with its box, so training decodes small crops, not whole frames.

    Resumable: rerun the same command after Ctrl-C or a kill. Exits 1 when no sequence gave a
    crop. Example: siambench data crop got10k-train --root data/GOT-10k --out data/GOT-10k-crop511
    (then siambench train --dataset got10k-train --root data/GOT-10k-crop511)
    """
    from siambench.train.precrop import CropSettings, precrop

    summary = precrop(name, out, root=root, settings=CropSettings(size=size, quality=quality),
                      workers=workers, progress=not quiet)
    if not quiet:
        for what, items in (("skipped", summary.skipped), ("unreadable", summary.unreadable)):
            for item in items[:20]:
                click.echo(f"{what}: {item}", err=True)
            if len(items) > 20:
                click.echo(f"{what}: ... and {len(items) - 20} more", err=True)
    click.echo(summary.line())
    if summary.sequences and len(summary.skipped) == summary.sequences:
        sys.exit(1)


@cli.command("run")
@click.option("--tracker", required=True,
              help="Tracker name (`siambench trackers` lists them, plug-ins included).")
@click.option("--dataset", default="synthetic", show_default=True, help="Dataset to run on.")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset folder (default: $SIAMBENCH_DATA/<folder>, then ./datasets/<folder>).")
@click.option("--weights", default=None, metavar="PATH|random",
              help="Checkpoint or released weights file; 'random' builds a seeded untrained "
                   "network (scores are meaningless) [default: the bundled weights].")
@click.option("--params", default=None, help="Named parameter set of the tracker's config.yaml.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a tracker parameter (repeatable), e.g. --set penalty_k=0.1; "
                   "model.KEY=VALUE sets the architecture of --weights random.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True, help="Results go to <results-dir>/<dataset>/<name>/.")
@click.option("--sequences", default=None, metavar="A,B,...",
              help="Comma-separated sequence names [default: all].")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes tracking sequences in parallel.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Sequences each process tracks at once, in lockstep: one batched network "
                   "forward per step (SiamRPN, SiamFC; same results as --batch 1).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:i.")
@click.option("--repetitions", type=click.IntRange(min=1), default=None,
              help="Runs per sequence [default: the protocol's: VOT 15, GOT-10k 3, OPE 1; "
                   "deterministic trackers run once].")
@click.option("--shard", default=None, metavar="I/N",
              help="Run every N-th sequence starting at the I-th (1-based: 1/N ... N/N); shards "
                   "merge in the same folder.")
@click.option("--force", is_flag=True,
              help="Rerun every selected sequence and delete results of another configuration.")
@click.option("--save-video", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write one MP4 per sequence (ground truth and tracker box) into this folder.")
@click.option("--name", "label", default=None,
              help="Results folder name [default: the tracker name].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of random weights and of each sequence's RNGs.")
@click.option("--quiet", is_flag=True, help="No progress bars; print only the final summary.")
def run_command(tracker: str, dataset: str, root: Path | None, weights: str | None,
                params: str | None, settings: tuple[str, ...], results_dir: Path,
                sequences: str | None, workers: int, batch: int, device: str,
                repetitions: int | None,
                shard: str | None, force: bool, save_video: Path | None, label: str | None,
                seed: int, quiet: bool) -> None:
    """Run a tracker on a benchmark under its protocol and write the official result format.

    Resumable: a rerun skips sequences already complete with the same configuration (run.json
    in the results folder). Exits 1 when a sequence failed. Example:
    siambench run --tracker siamfc --dataset otb100 --root data/OTB100 --workers 4
    """
    from siambench.run import headline_scores, run_benchmark, split_set_options

    overrides, model_config = split_set_options(tracker, params, settings)
    names = [s.strip() for s in sequences.split(",") if s.strip()] if sequences else None
    summary = run_benchmark(
        tracker, dataset=dataset, root=root, weights=weights, params=params,
        overrides=overrides, model_config=model_config, results_dir=results_dir,
        sequences=names, workers=workers, batch=batch, device=device, repetitions=repetitions,
        shard=shard,
        force=force, save_video=save_video, label=label, seed=seed, progress=not quiet,
        echo=lambda text: click.echo(text, err=True))
    for line in summary.lines():
        click.echo(line)
    if summary.done or summary.skipped:
        table, note = headline_scores(summary)
        if table is not None:
            click.echo(table)
        if note is not None:
            click.echo(f"note: {note}")
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"results: {summary.folder} (manifest {summary.folder / 'run.json'})")
    if not summary.ok:
        sys.exit(1)


@cli.command("report")
@click.option("--compare", "compare", multiple=True, metavar="TRACKER ...",
              help="Trackers to compare (sub-folders of --results-dir); repeat the option or "
                   "list names after it. Default: every tracker found.")
@click.option("--dataset", default="synthetic", show_default=True, help="Dataset to score on.")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset folder (only its annotations are read).")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with one sub-folder (or zip) per tracker [default: results/<dataset>].")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"),
              show_default=True, help="Reports are written under <out>/<dataset>/.")
@click.option("--attributes", is_flag=True,
              help="Also break scores down by attribute (OPE) or tag (VOT), with plots.")
@click.option("--strict", is_flag=True,
              help="Make results shorter than the ground truth, or unreadable trackers, an error.")
@click.option("--convention", default=None,
              type=click.Choice(["otb", "pysot", "got10k", "lasot", "siambench", "vot"]),
              help="OPE metric convention [default: the dataset protocol's]; 'siambench' counts a "
                   "perfect overlap at threshold 1, so ground truth scores 1.0. VOT long-term: "
                   "'vot' (the VOT toolkit's thresholds, default) or 'pysot'.")
@click.option("--eao", default=None, type=click.Choice(["vot", "pysot"]),
              help="VOT EAO definition: the VOT toolkit's (default) or pysot's, which the "
                   "pysot-era papers print.")
@click.option("--own-sequences", is_flag=True,
              help="Score each tracker on all of its own sequences [default: compare trackers "
                   "on the sequences that all of them have; the report lists those left out].")
@click.option("--ci", "ci", default="bootstrap", show_default=True,
              type=click.Choice(["none", "bootstrap"]),
              help="Confidence intervals and paired tests: 95% bootstrap over sequences "
                   "(adds <score>_ci_low/_ci_high and group columns and pairwise.csv), or none.")
@click.option("--resamples", default=None, type=click.IntRange(min=1), metavar="N",
              help="Bootstrap resamples [default: 10000].")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the bootstrap resampling (same seed, same intervals).")
@click.option("--ci-format", "ci_format", default="pm", show_default=True,
              type=click.Choice(["pm", "interval"]),
              help="Tables show a score as '0.582 ± 0.020' (half the interval's width) or "
                   "'0.582 [0.562, 0.601]'.")
@click.argument("more", nargs=-1, metavar="")
def report_command(compare: tuple[str, ...], dataset: str, root: Path | None,
                   results_dir: Path | None, out: Path, attributes: bool, strict: bool,
                   convention: str | None, eao: str | None, own_sequences: bool, ci: str,
                   resamples: int | None, seed: int, ci_format: str,
                   more: tuple[str, ...]) -> None:
    """Score raw results and write tables and plots (success/precision, EAO, AR, ...).

    Example: siambench report --compare siamfc siamrpn --dataset otb100 --root data/OTB100
    """
    from siambench.report.build import build_report
    from siambench.report.uncertainty import REPORT_RESAMPLES, CiOptions

    if more and not compare:
        raise click.UsageError(f"unexpected arguments {' '.join(more)}; tracker names follow "
                               "--compare")
    report = build_report(dataset, root=root, results_dir=results_dir,
                          compare=[*compare, *more], out=out, attributes=attributes,
                          strict=strict, convention=convention, eao=eao,
                          own_sequences=own_sequences,
                          ci=CiOptions(ci, resamples if resamples is not None else REPORT_RESAMPLES,
                                       seed, format=ci_format))
    click.echo(report.terminal_table())
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"\nwrote {len(report.files)} files to {report.out} (open index.html)")


@cli.command("pack")
@click.argument("tracker_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Zip to write [default: <tracker_dir>.zip].")
@click.option("--benchmark", type=click.Choice(["got10k", "trackingnet"]), default=None,
              help="Server to pack for [default: the dataset in the folder's run.json, else got10k].")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Test folder (GOT-10k test, TrackingNet), to check every sequence's frame count "
                   "[TrackingNet: default the run.json's dataset folder, when it exists].")
def pack_command(tracker_dir: Path, out: Path | None, benchmark: str | None,
                 root: Path | None) -> None:
    """Pack a tracker's GOT-10k or TrackingNet test results into the server's submission zip."""
    from siambench.results import pack_got10k
    from siambench.results.pack_trackingnet import pack_trackingnet, recorded_dataset

    recorded = recorded_dataset(tracker_dir)
    if (benchmark or str(recorded.get("name", "")).lower()).startswith("trackingnet"):
        from siambench.datasets import load_dataset
        from siambench.datasets.trackingnet import frame_counts, test_sequence_names

        root = root or (Path(recorded["root"]) if recorded.get("root")
                        and Path(recorded["root"]).is_dir() else None)
        frames = frame_counts(load_dataset("trackingnet", root)) if root is not None else None
        path = pack_trackingnet(tracker_dir, out or tracker_dir.with_suffix(".zip"),
                                test_sequence_names(), frames)
        click.echo(f"wrote {path}" + (f" (lines checked against the frames in {root})" if root
                                      else " (frame counts not checked: pass --root)"))
        return
    dataset = None
    if root is not None:
        from siambench.datasets import load_dataset

        dataset = load_dataset("got10k-test", root)
    target = out if out is not None else tracker_dir.with_suffix(".zip")
    path = pack_got10k(tracker_dir, target, dataset=dataset)
    click.echo(f"wrote {path}")


@cli.command("render")
@click.option("--compare", "compare", multiple=True, metavar="TRACKER ...",
              help="Trackers to draw (sub-folders of --results-dir); repeat the option or list "
                   "names after it. Default: every tracker found.")
@click.option("--dataset", default="synthetic", show_default=True, help="Dataset of the sequence.")
@click.option("--sequence", required=True, help="Sequence to render.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Video to write (.mp4, or .avi for Motion-JPEG).")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset folder (its frames are read).")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with one sub-folder (or zip) per tracker [default: results/<dataset>].")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Frames per second of the video.")
@click.argument("more", nargs=-1, metavar="")
def render_command(compare: tuple[str, ...], dataset: str, sequence: str, out: Path,
                   root: Path | None, results_dir: Path | None, fps: float,
                   more: tuple[str, ...]) -> None:
    """Draw the ground truth and several trackers' saved results on a sequence's frames.

    Example: siambench render --dataset otb100 --compare siamfc siamrpn --sequence Basketball
    --out basketball.mp4
    """
    from siambench.report.video import render_sequence

    if more and not compare:
        raise click.UsageError(f"unexpected arguments {' '.join(more)}; tracker names follow "
                               "--compare")
    rendered = render_sequence(dataset, sequence, [*compare, *more], out, root=root,
                               results_dir=results_dir, fps=fps)
    for warning in rendered.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {rendered.path} ({rendered.frames} frames: ground truth, "
               f"{', '.join(rendered.trackers)})")


@cli.command("tune")
@click.option("--tracker", required=True, help="Tracker whose parameters to tune.")
@click.option("--dataset", required=True,
              help="Dataset to tune on: a validation split (synthetic-val, got10k-val) or a "
                   "--sequences subset; a test split is warned about.")
@click.option("--root", type=click.Path(path_type=Path), default=None, help="Dataset folder.")
@click.option("--weights", default=None, metavar="PATH|random",
              help="Weights of the tracker [default: the bundled weights].")
@click.option("--params", default=None, help="Parameter set the search starts from.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Fix a parameter for every trial (repeatable).")
@click.option("--space", multiple=True, required=True, metavar="NAME=SPEC",
              help="A tuned parameter: NAME=LOW:HIGH, NAME=LOW:HIGH:STEP or NAME=A,B,C "
                   "(repeatable), e.g. --space penalty_k=0.0:0.5.")
@click.option("--objective", type=click.Choice(["auc", "precision", "eao", "ao"]), default=None,
              help="Score to maximise [default: auc (OPE), eao (VOT), ao (GOT-10k)].")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished trials in the study, in total (a rerun continues to it).")
@click.option("--sampler", type=click.Choice(["tpe", "grid", "random"]), default="tpe",
              show_default=True)
@click.option("--study", default=None, help="Study name [default: <tracker>-<dataset>-<objective>].")
@click.option("--storage", default=None, metavar="URL",
              help="Optuna storage shared by every process of the study, e.g. "
                   "postgresql://user@host/db [default: sqlite:///<out>/study.db].")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes working on the study on this machine.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Sequences each trial tracks at once (siambench run --batch).")
@click.option("--sequences", default=None, metavar="A,B,...",
              help="Comma-separated sequence names [default: all of the dataset].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder [default: runs/tune-<tracker>-<dataset>].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samplers.")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Stop hopeless trials early (auc, precision, ao).")
@click.option("--blocks", type=click.IntRange(min=1), default=4, show_default=True,
              help="Sequence blocks a prunable trial reports after.")
@click.option("--heartbeat", type=click.IntRange(min=1), default=60, show_default=True,
              help="Seconds between a running trial's heartbeats; a trial silent for twice "
                   "that (its process killed) is marked failed.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:i.")
def tune_command(tracker: str, dataset: str, root: Path | None, weights: str | None,
                 params: str | None, settings: tuple[str, ...], space: tuple[str, ...],
                 objective: str | None, trials: int, sampler: str, study: str | None,
                 storage: str | None, workers: int, batch: int, sequences: str | None,
                 out: Path | None, seed: int, prune: bool, blocks: int, heartbeat: int,
                 device: str) -> None:
    """Tune a tracker's hyper-parameters on a dataset (Optuna: TPE, grid or random search).

    Every trial is a normal run into <out>/trials/<n>/; the study is kept in <out>/study.db (or
    --storage), so rerunning the command continues it, and the same command started on several
    machines with one --storage shares the trials. Writes trials.csv, best.yaml (use with
    --params), plots and index.html into <out>. Example:
    siambench tune --tracker siamrpn --dataset synthetic-val --space penalty_k=0.0:0.5
    --space window_influence=0.1:0.8 --space lr=0.1:0.7 --trials 40
    """
    from siambench.tune import TuneSettings, run_tune

    names = tuple(s.strip() for s in sequences.split(",") if s.strip()) if sequences else None
    folder = out or Path("runs") / f"tune-{tracker.lower()}-{dataset.lower()}"
    result = run_tune(TuneSettings(
        tracker=tracker, dataset=dataset, space=space, out=folder, root=root, weights=weights,
        params=params, settings=settings, objective=objective, trials=trials, sampler=sampler,
        study=study, storage=storage, workers=workers, batch=batch, sequences=names, seed=seed,
        prune=prune, blocks=blocks, heartbeat=heartbeat, device=device),
        echo=lambda text: click.echo(text, err=True))
    click.echo(f"study {result.study_name}: {result.finished} trials finished, {result.failed} "
               f"failed ({result.storage})")
    if result.best_value is not None:
        click.echo(f"best: {result.best_value:.4f} with "
                   + ", ".join(f"{k}={v}" for k, v in (result.best_params or {}).items()))
        click.echo(f"best parameter set: {folder / 'best.yaml'} (siambench run --params "
                   f"{folder / 'best.yaml'}); trials: {folder / 'trials.csv'}; plots: "
                   f"{folder / 'index.html'}")


@cli.command("train")
@click.option("--tracker", type=_TrainableTracker(), required=True,
              help="Tracker whose network to train (`siambench trackers` marks them).")
@click.option("--dataset", "datasets", multiple=True, metavar="NAME[:WEIGHT]",
              help="Training dataset, repeatable; NAME:WEIGHT mixes several by weight (NAME:all: "
                   "by its number of sequences) [default: the config's datasets; cpu: "
                   "synthetic-train].")
@click.option("--root", "roots", multiple=True, metavar="PATH|NAME=PATH",
              help="Dataset folder: PATH for the only dataset, NAME=PATH per dataset of a mix "
                   "(repeatable) [default: $SIAMBENCH_DATA/<folder>, then ./datasets/<folder>].")
@click.option("--config", "config_name", default="cpu", show_default=True,
              help="Named schedule (cpu: small CPU run; paper: the published schedule and data; "
                   "pysot: pysot's siamrpn_alex_dwxcorr recipe and data) or a YAML file.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Pairs per step and process.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Peak learning rate.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder [default: runs/train-<tracker>].")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out.")
@click.option("--device", default="auto", show_default=True,
              help="cpu, cuda, cuda:N, or auto (cuda when available).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="DataLoader worker processes (0: load in the main process).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override any training setting, e.g. --set pairs_per_epoch=800 "
                   "--set model.width_mult=0.25 (repeatable).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(tracker: str, datasets: tuple[str, ...], roots: tuple[str, ...], config_name: str,
                  epochs: int | None, batch_size: int | None, lr: float | None, out: Path | None,
                  resume: bool, device: str, workers: int | None, settings: tuple[str, ...],
                  quiet: bool) -> None:
    """Train a SiamRPN or SiamFC and write <out>/model.pt (a siambench checkpoint).

    Multi-GPU / multi-node: torchrun --nproc_per_node=G -m siambench train ... . Example:
    siambench train --tracker siamrpn --out runs/siamrpn   (then --resume after a stop)
    """
    import logging
    import shlex

    import torch

    from siambench.train import parse_set, train
    from siambench.train.sources import parse_roots, parse_source

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    overrides = parse_set(settings)
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                       ("workers", workers)):
        if value is not None:
            overrides[key] = value
    try:
        mixed = [parse_source(item).as_tuple() for item in datasets] or None
    except SiambenchError as exc:
        raise click.BadParameter(str(exc), param_hint="--dataset") from None
    root = parse_roots(roots)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    result = train(tracker, out or Path("runs") / f"train-{tracker}", datasets=mixed, root=root,
                   config=config_name, overrides=overrides, resume=resume, device=device,
                   command=shlex.join(["siambench", *sys.argv[1:]]), progress=not quiet)
    if result.model_path is not None:
        click.echo(f"wrote {result.model_path} ({result.step} steps, {result.wall_s:.0f} s, "
                   f"{result.pairs_per_s:.1f} pairs/s, final losses "
                   + ", ".join(f"{k} {v:.4f}" for k, v in result.losses.items()) + ")")
    elif result.step:
        click.echo(f"stopped at step {result.step} (epoch {result.epoch + 1}); continue with the "
                   f"same command and --resume")


def main() -> None:
    """Entry point of the ``siambench`` console script (Ctrl-C: ``interrupted``, exit 130, also
    outside a command, e.g. while its modules are imported)."""
    try:
        cli(prog_name="siambench")
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
        sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    main()
