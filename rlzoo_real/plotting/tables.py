"""The results table: final and best evaluation return per label and env.

*Final* is each run's mean evaluation return at the last evaluation all runs of the
group share; *best* is each run's highest mean evaluation return. The table gives
their mean over runs, a percentile bootstrap confidence interval of that mean (fixed
by a seed) and the standard deviation, as CSV (every number), Markdown and LaTeX
(``booktabs``; the best mean of each env in bold).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rlzoo_real.plotting.data import EvalGroup

__all__ = [
    "ResultRow",
    "results_table",
    "to_csv",
    "to_latex",
    "to_markdown",
    "write_tables",
]


@dataclass(frozen=True)
class ResultRow:
    """One label on one env. ``nan`` where a number needs two runs or more."""

    label: str
    env: str
    n_runs: int
    timesteps: float
    final_mean: float
    final_ci_low: float
    final_ci_high: float
    final_std: float
    best_mean: float
    best_ci_low: float
    best_ci_high: float
    best_std: float


def results_table(
    groups: Sequence[EvalGroup], *, reps: int = 2000, ci: float = 0.95, seed: int = 0
) -> list[ResultRow]:
    """Mean, bootstrap CI and standard deviation over runs of the final and best return.

    Args:
        groups: from :func:`~rlzoo_real.plotting.data.collect_evaluations`.
        reps: bootstrap replications.
        ci: interval coverage.
        seed: fixes the intervals (each cell has its own stream derived from it).
    """
    import numpy as np

    from rlzoo_real.plotting.bootstrap import bootstrap_runs, random_state

    rows = []
    for group in sorted(groups, key=lambda g: (g.env_id, g.label)):
        numbers: list[float] = []
        for kind, values in (("final", group.final), ("best", group.best)):
            mean = float(values.mean())
            if len(values) > 1:
                low, high = bootstrap_runs(
                    values,
                    lambda r: r.mean(axis=1),
                    reps=reps,
                    ci=ci,
                    rs=random_state(seed, "table", kind, group.label, group.env_id),
                )
                std = float(values.std(ddof=1))
                numbers += [mean, float(low), float(high), std]
            else:
                numbers += [mean, math.nan, math.nan, math.nan]
        rows.append(
            ResultRow(
                group.label,
                group.env_id,
                len(group.runs),
                float(np.asarray(group.timesteps)[-1]),
                *numbers,
            )
        )
    return rows


def _num(value: float) -> str:
    if math.isnan(value):
        return ""
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"


def _csv_value(name: str, value: object) -> object:
    if name == "timesteps" and isinstance(value, float):
        return f"{value:.0f}"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def to_csv(rows: Sequence[ResultRow]) -> str:
    """One line per label and env, every number (empty where undefined)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.name for f in fields(ResultRow)])
    for row in rows:
        writer.writerow(
            [_csv_value(f.name, v) for f, v in zip(fields(ResultRow), astuple(row), strict=True)]
        )
    return out.getvalue()


def _matrix(
    rows: Sequence[ResultRow],
) -> tuple[list[str], list[str], dict[tuple[str, str], ResultRow]]:
    labels = sorted({r.label for r in rows})
    envs = sorted({r.env for r in rows})
    return labels, envs, {(r.env, r.label): r for r in rows}


def _cell(row: ResultRow | None, kind: str, bold: bool, *, tex: bool) -> str:
    if row is None:
        return "--" if tex else "–"
    mean = getattr(row, f"{kind}_mean")
    low, high = getattr(row, f"{kind}_ci_low"), getattr(row, f"{kind}_ci_high")

    def num(value: float) -> str:  # LaTeX: a minus sign, not a hyphen
        text = _num(value)
        return "$-$" + text[1:] if tex and text.startswith("-") else text

    text = num(mean)
    if bold:
        text = f"\\textbf{{{text}}}" if tex else f"**{text}**"
    if not math.isnan(low):
        interval = f"[{num(low)}, {num(high)}]"
        text += f" {{\\scriptsize {interval}}}" if tex else f" {interval}"
    return text


def _best_labels(envs_rows: dict[str, ResultRow], kind: str) -> set[str]:
    """The labels with the highest mean (all of them when tied); none for a single label."""
    if len(envs_rows) < 2:
        return set()
    means = {label: getattr(row, f"{kind}_mean") for label, row in envs_rows.items()}
    top = max(means.values())
    return {label for label, mean in means.items() if mean == top}


_TITLES = {
    "final": "Final return (last common evaluation)",
    "best": "Best return (highest mean evaluation of each run)",
}


def to_markdown(rows: Sequence[ResultRow], *, ci: float = 0.95) -> str:
    """Two tables (final, best): envs as rows, labels as columns, ``mean [CI]``."""
    labels, envs, by_key = _matrix(rows)
    parts = []
    for kind in ("final", "best"):
        parts.append(f"### {_TITLES[kind]}: mean [{ci:.0%} bootstrap CI] over runs\n")
        parts.append("| Env | " + " | ".join(labels) + " |")
        parts.append("|---|" + "---:|" * len(labels))
        for env in envs:
            present = {label: by_key[(env, label)] for label in labels if (env, label) in by_key}
            best = _best_labels(present, kind)
            cells = [_cell(present.get(label), kind, label in best, tex=False) for label in labels]
            parts.append(f"| {env} | " + " | ".join(cells) + " |")
        parts.append("")
    runs = ", ".join(
        f"{label}: {'/'.join(str(by_key[(e, label)].n_runs) for e in envs if (e, label) in by_key)}"
        for label in labels
    )
    parts.append(
        f"Runs per env ({', '.join(envs)}): {runs}. "
        "Bold: the highest mean of the row (all, when tied)."
    )
    return "\n".join(parts) + "\n"


def _tex(text: str) -> str:
    special = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(special.get(ch, ch) for ch in text)


def to_latex(rows: Sequence[ResultRow], *, ci: float = 0.95) -> str:
    """Two ``booktabs`` tables (final, best) in ``table`` environments, ready to ``\\input``."""
    labels, envs, by_key = _matrix(rows)
    parts = ["% realzoo plot table: needs \\usepackage{booktabs}"]
    for kind in ("final", "best"):
        parts += [
            "\\begin{table}[t]",
            "\\centering",
            f"\\caption{{{_tex(_TITLES[kind])}: mean and {ci * 100:.0f}\\% bootstrap CI "
            "over runs.}",
            f"\\label{{tab:{kind}-return}}",
            "\\begin{tabular}{l" + "r" * len(labels) + "}",
            "\\toprule",
            "Env & " + " & ".join(_tex(label) for label in labels) + " \\\\",
            "\\midrule",
        ]
        for env in envs:
            present = {label: by_key[(env, label)] for label in labels if (env, label) in by_key}
            best = _best_labels(present, kind)
            cells = [_cell(present.get(label), kind, label in best, tex=True) for label in labels]
            parts.append(f"{_tex(env)} & " + " & ".join(cells) + " \\\\")
        parts += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(parts)


def write_tables(rows: Sequence[ResultRow], folder: Path, *, ci: float = 0.95) -> list[Path]:
    """Write ``results.csv``, ``results.md`` and ``results.tex`` into ``folder``."""
    from rlzoo_real.plotting.store import write_output

    return [
        write_output(folder / "results.csv", to_csv(rows)),
        write_output(folder / "results.md", to_markdown(rows, ci=ci)),
        write_output(folder / "results.tex", to_latex(rows, ci=ci)),
    ]
