"""What ``siambench tune`` writes into ``--out``: the trial table, the best parameter set, the
plots and ``index.html``.

- ``trials.csv``: one row per trial (number, state, objective value, the tuned parameters, the
  family's other scores, the sequences scored, the split, seconds, host, run folder, error);
- ``best.yaml``: the best complete trial's whole parameter set (``params:``, loadable with
  ``siambench run --params <out>/best.yaml``), with the study, objective, value, dataset and
  split that chose it, and how to add it to the tracker's ``config.yaml`` as a named set;
- ``history``, ``importance`` and ``slice_<parameter>`` plots (PNG and PDF): the objective per
  trial with the running best, the parameters' importances (Optuna's fANOVA; left out with a
  note when fewer than two trials are complete) and the objective against each parameter;
- ``index.html`` linking them, like the report's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from siambench.fileio import atomic_write_text

__all__ = ["best_trial", "trial_table", "write_outputs"]


def trial_table(plan: Any, study: Any) -> pd.DataFrame:
    """The study's trials as a table (see the module docstring)."""
    rows = []
    names = [dimension.name for dimension in plan.dimensions]
    for trial in study.get_trials(deepcopy=False):
        params = trial.user_attrs.get("params", {})
        scores = trial.user_attrs.get("scores", {})
        seconds = None
        if trial.datetime_start is not None and trial.datetime_complete is not None:
            seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
        row = {"trial": trial.number, "state": trial.state.name.lower(),
               plan.objective: trial.value if trial.value is not None
               else scores.get(plan.column)}
        row.update({name: _cell(params.get(name)) for name in names})
        row.update({column: value for column, value in scores.items() if column != plan.column})
        row.update({"sequences": trial.user_attrs.get("sequences"),
                    "split": trial.user_attrs.get("split", plan.split), "seconds": seconds,
                    "host": trial.user_attrs.get("host"), "folder": trial.user_attrs.get("folder"),
                    "error": trial.user_attrs.get("error", "")})
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, (list, tuple)) else value


def best_trial(study: Any) -> Any | None:
    """The study's best complete trial, or None when none is complete."""
    try:
        return study.best_trial
    except ValueError:
        return None


def write_best(plan: Any, study: Any) -> Path | None:
    """``best.yaml`` (see the module docstring); None when no trial is complete."""
    best = best_trial(study)
    if best is None:
        return None
    tuned = best.user_attrs.get("params", {})
    params = {**plan.reference, **tuned}
    finished = sum(1 for t in study.get_trials(deepcopy=False)
                   if t.state.name in ("COMPLETE", "PRUNED"))
    header = (
        f"# siambench tune: the best of {finished} trials of study {plan.study_name!r}\n"
        f"# ({plan.objective} {best.value:.6g} on {plan.spec.name}, a {plan.split} split).\n"
        f"# Use it as it is: siambench run --tracker {plan.settings.tracker} --params "
        f"{plan.out / 'best.yaml'}\n"
        f"# or add it to the tracker's config.yaml (siambench/bundled/"
        f"{plan.settings.tracker}/config.yaml, or your $SIAMBENCH_TRACKERS folder) as a named "
        f"set:\n#   sets:\n#     tuned-{plan.spec.name}:\n#       <the mapping under params>\n"
        f"# and run with --params tuned-{plan.spec.name}.\n")
    data = {
        "tracker": plan.settings.tracker.lower(),
        "study": plan.study_name, "storage": plan.storage_url, "trial": best.number,
        "objective": plan.objective, "value": float(best.value),
        "dataset": plan.spec.name, "split": plan.split, "sequences": list(plan.names),
        "base_params": plan.settings.params, "tuned": {k: _plain(v) for k, v in tuned.items()},
        "params": {k: _plain(v) for k, v in params.items()},
    }
    path = plan.out / "best.yaml"
    atomic_write_text(path, header + yaml.safe_dump(data, sort_keys=False))
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _save(fig: Any, out: Path, stem: str) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = []
    for suffix in (".png", ".pdf"):
        path = out / f"{stem}{suffix}"
        tmp = path.with_name(f".{path.name}.tmp{suffix}")
        fig.savefig(tmp, dpi=110 if suffix == ".png" else None, bbox_inches="tight")
        tmp.replace(path)
        paths.append(path)
    plt.close(fig)
    return paths


def write_plots(plan: Any, study: Any, table: pd.DataFrame) -> tuple[dict[Path, str], list[str]]:
    """The plots (PNG and PDF) and notes on those left out; returns ``{png: caption}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: dict[Path, str] = {}
    notes: list[str] = []
    out = plan.out
    done = table[table["state"] == "complete"] if len(table) else table
    if len(table) and table[plan.objective].notna().any():
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for state, marker in (("complete", "o"), ("pruned", "x")):
            part = table[(table["state"] == state) & table[plan.objective].notna()]
            if len(part):
                ax.scatter(part["trial"], part[plan.objective], marker=marker, label=state)
        if len(done):
            ordered = done.sort_values("trial")
            ax.step(ordered["trial"], ordered[plan.objective].cummax(), where="post",
                    label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(plan.objective)
        title = f"{plan.study_name}: {plan.objective} per trial"
        ax.set_title(title)
        ax.legend()
        plots[_save(fig, out, "history")[0]] = title
    importances = _importances(study, notes)
    if importances:
        fig, ax = plt.subplots(figsize=(6.4, 0.5 + 0.45 * len(importances)))
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names])
        ax.set_xlabel("importance (fANOVA)")
        title = f"{plan.study_name}: parameter importances"
        ax.set_title(title)
        plots[_save(fig, out, "importance")[0]] = title
    for dimension in plan.dimensions:
        if dimension.name not in done or not len(done):
            continue
        fig, ax = plt.subplots(figsize=(5.0, 3.6))
        x = done[dimension.name]
        if dimension.kind == "choice":
            x = x.astype(str)
        ax.scatter(x, done[plan.objective], c=done["trial"], cmap="viridis")
        ax.set_xlabel(dimension.name)
        ax.set_ylabel(plan.objective)
        title = f"{plan.objective} against {dimension.name}"
        ax.set_title(title)
        plots[_save(fig, out, f"slice_{dimension.name}")[0]] = title
    return plots, notes


def _importances(study: Any, notes: list[str]) -> dict[str, float]:
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2:
        notes.append("parameter importances need at least two complete trials")
        return {}
    try:
        return {str(k): float(v) for k, v in optuna.importance.get_param_importances(study).items()
                if not math.isnan(float(v))}
    except (ValueError, RuntimeError, ImportError) as error:
        notes.append(f"parameter importances not computed: {error}")
        return {}


def write_outputs(plan: Any, study: Any) -> list[Path]:
    """Write every output (see the module docstring); returns the files."""
    from siambench.report.html import write_html

    out = plan.out
    out.mkdir(parents=True, exist_ok=True)
    table = trial_table(plan, study)
    files = []
    path = out / "trials.csv"
    atomic_write_text(path, table.to_csv(index=False, float_format="%.10g"))
    files.append(path)
    best = write_best(plan, study)
    notes = [f"Study {plan.study_name} ({plan.storage_url}): tracker {plan.settings.tracker}, "
             f"{plan.spec.name} ({plan.split} split, {len(plan.names)} sequences), objective "
             f"{plan.objective}, sampler {plan.settings.sampler}."]
    if best is not None:
        files.append(best)
        notes.append(f"Best parameters: {best.name} (use with --params {best}).")
    else:
        notes.append("No trial is complete yet: no best parameters.")
    plots, plot_notes = write_plots(plan, study, table)
    notes += plot_notes
    files += [p for png in plots for p in (png, png.with_suffix(".pdf"))]
    best_rows = table[table["state"] == "complete"].sort_values(plan.objective, ascending=False) \
        if len(table) else table
    files.append(write_html(out, title=f"siambench tune: {plan.study_name}",
                            summary=best_rows.head(10), per_sequence=table, plots=plots,
                            warnings=list(plan.warnings), notes=notes,
                            headings=("Best complete trials", "All trials")))
    return files
