"""RL Zoo flags that realzoo takes without an option of its own: refused, or already true.

Most of the Zoo's flags are ordinary options of the realzoo commands (aliases included).
The ones here are either *refused*, with a one-paragraph reason, or *already so*: a switch
whose meaning realzoo always has (``--no-display``: realzoo never opens a plot window), which
is accepted and has nothing left to do. They take part in prefix completion like any option
of the command (see :mod:`rlzoo_real.cli._argv`).
"""

from __future__ import annotations

__all__ = ["ZOO_FLAGS", "zoo_flags_for"]

_PICKLE = (
    "realzoo never writes or reads pickle files for results (loading a pickle runs code); "
    "every view saves its numbers as .npz in the output folder (-o), and --data/-i redraws "
    "from them"
)

#: command path prefix -> flag -> ("refuse" | "already", reason)
ZOO_FLAGS: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {
    ("plot",): {
        "--no-display": ("already", "realzoo plot writes files and never opens a window"),
        "-print": ("already", "the results table always has an n_runs column"),
        "--print-n-trials": ("already", "the results table always has an n_runs column"),
        "-median": (
            "refuse",
            "the results table gives the mean with a bootstrap confidence interval per env; the "
            "median (and IQM) across envs and seeds is in realzoo plot aggregate",
        ),
        "--median": (
            "refuse",
            "the results table gives the mean with a bootstrap confidence interval per env; the "
            "median (and IQM) across envs and seeds is in realzoo plot aggregate",
        ),
        "-latex": (
            "refuse",
            "figures use matplotlib's own math text, so no LaTeX installation is needed; "
            "realzoo plot table writes the table as LaTeX (results.tex) for papers",
        ),
        "--latex": (
            "refuse",
            "figures use matplotlib's own math text, so no LaTeX installation is needed; "
            "realzoo plot table writes the table as LaTeX (results.tex) for papers",
        ),
        "--no-million": (
            "refuse",
            "step axes are never converted to millions: matplotlib's scientific notation "
            "scales them, so there is nothing to switch off",
        ),
        "--figsize": ("refuse", "figure sizes are fixed for papers; redraw from the .npz data"),
        "--fontsize": ("refuse", "font sizes are fixed for papers; redraw from the .npz data"),
        "-loc": ("refuse", "legends are placed by realzoo; redraw from the .npz data"),
        "--legend-loc": ("refuse", "legends are placed by realzoo; redraw from the .npz data"),
        "-b": ("refuse", "realzoo draws interval estimates (rliable), not box plots"),
        "--boxplot": ("refuse", "realzoo draws interval estimates (rliable), not box plots"),
        "--merge": ("refuse", _PICKLE + "; to combine results, repeat -f with each log folder"),
        "-skip": ("refuse", "choose the envs to keep with -e instead"),
        "--skip-envs": ("refuse", "choose the envs to keep with -e instead"),
        "--skip-keys": ("refuse", "choose the runs with -a, -e and -f instead"),
        "--keep-keys": ("refuse", "choose the runs with -a, -e and -f instead"),
        "--skip-timesteps": (
            "refuse",
            "the sample-efficiency curves are one figure of realzoo plot aggregate among "
            "others; delete the file you do not want",
        ),
    },
    ("plot", "aggregate"): {
        "-r": ("already", "realzoo plot aggregate always draws the rliable figures"),
        "--rliable": ("already", "realzoo plot aggregate always draws the rliable figures"),
        "-vs": ("already", "the probability-of-improvement figure is always drawn"),
        "--versus": ("already", "the probability-of-improvement figure is always drawn"),
        "-iqm": ("already", "the IQM sample-efficiency figure is always drawn"),
        "--iqm": ("already", "the IQM sample-efficiency figure is always drawn"),
    },
}
for _twin in ("plot_from_file", "all", "all_plots"):
    ZOO_FLAGS[("plot", _twin)] = ZOO_FLAGS[("plot", "aggregate")]


def zoo_flags_for(path: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """The refused and already-so flags of the command called as ``realzoo <path>``."""
    flags: dict[str, tuple[str, str]] = {}
    for prefix, table in ZOO_FLAGS.items():
        if path[: len(prefix)] == prefix:
            flags.update(table)
    return flags
