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


class _Group(click.Group):
    """A click group that turns project errors into clean CLI errors."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SiambenchError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="siambench")
def cli() -> None:
    """Train, run and score Siamese single-object trackers.

    Datasets are looked for at --root, else $SIAMBENCH_DATA/<folder>, else ./datasets/<folder>;
    the default dataset, `synthetic`, is generated on first use.
    """


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

    dataset = load_dataset(name, root)
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
def data_synth(out: Path, fmt: str, sequences: int, frames: int, seed: int) -> None:
    """Write a synthetic benchmark in the OTB, VOT or GOT-10k layout."""
    from siambench.datasets.synthetic import write_benchmark

    path = write_benchmark(out, fmt=fmt, sequences=sequences, frames=frames, seed=seed)
    click.echo(f"wrote {sequences} sequences x {frames} frames ({fmt} layout) to {path}")


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
              type=click.Choice(["otb", "pysot", "got10k", "lasot", "siambench"]),
              help="OPE metric convention [default: the dataset protocol's]; 'siambench' counts a "
                   "perfect overlap at threshold 1, so ground truth scores 1.0.")
@click.option("--eao", default=None, type=click.Choice(["vot", "pysot"]),
              help="VOT EAO definition: the VOT toolkit's (default) or pysot's, which the "
                   "pysot-era papers print.")
@click.argument("more", nargs=-1, metavar="")
def report_command(compare: tuple[str, ...], dataset: str, root: Path | None,
                   results_dir: Path | None, out: Path, attributes: bool, strict: bool,
                   convention: str | None, eao: str | None, more: tuple[str, ...]) -> None:
    """Score raw results and write tables and plots (success/precision, EAO, AR, ...).

    Example: siambench report --compare siamfc siamrpn --dataset otb100 --root data/OTB100
    """
    from siambench.report.build import build_report

    if more and not compare:
        raise click.UsageError(f"unexpected arguments {' '.join(more)}; tracker names follow "
                               "--compare")
    report = build_report(dataset, root=root, results_dir=results_dir,
                          compare=[*compare, *more], out=out, attributes=attributes,
                          strict=strict, convention=convention, eao=eao)
    click.echo(report.terminal_table())
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"\nwrote {len(report.files)} files to {report.out} (open index.html)")


@cli.command("pack")
@click.argument("tracker_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Zip to write [default: <tracker_dir>.zip].")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="GOT-10k test folder, to check that every sequence is present.")
def pack_command(tracker_dir: Path, out: Path | None, root: Path | None) -> None:
    """Pack a tracker's GOT-10k test results into the evaluation server's submission zip."""
    from siambench.results import pack_got10k

    dataset = None
    if root is not None:
        from siambench.datasets import load_dataset

        dataset = load_dataset("got10k-test", root)
    target = out if out is not None else tracker_dir.with_suffix(".zip")
    path = pack_got10k(tracker_dir, target, dataset=dataset)
    click.echo(f"wrote {path}")


def main() -> None:
    """Entry point of the ``siambench`` console script."""
    try:
        cli(prog_name="siambench")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
