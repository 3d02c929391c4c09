"""The computed numbers of each view, saved as ``.npz`` so figures can be redrawn later.

A file holds plain arrays and one JSON string (``meta``): no object arrays, no pickle;
``numpy.load(path, allow_pickle=False)`` reads it. ``realzoo plot <view> --data FILE``
redraws a figure from it without reading any log or bootstrapping again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.plotting.aggregate import AggregateResult
    from rlzoo_real.plotting.curves import CurveSet

__all__ = [
    "FORMAT",
    "aggregate_summary",
    "load_data",
    "save_aggregate",
    "save_curves",
    "write_output",
]

FORMAT = "realzoo-plot-data/1"


def _readable(path: Path) -> None:
    """Give ``path`` the mode a plain ``open()`` would (temporary files are 0600)."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_output(path: Path, text: str) -> Path:
    """Write a text output (table, JSON) atomically, readable as any file the user makes."""
    from rlzoo_real.runs.folder import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    _readable(path)
    return path


def _write_npz(path: Path, meta: dict[str, Any], arrays: dict[str, Any]) -> None:
    import os
    import tempfile

    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
    payload.update({k: np.asarray(v, dtype=float) for k, v in arrays.items()})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **payload)
        _readable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_curves(curves: CurveSet, path: Path) -> None:
    """Save a train or eval :class:`~rlzoo_real.plotting.curves.CurveSet`."""
    arrays: dict[str, Any] = {}
    series_meta = []
    for i, s in enumerate(curves.series):
        arrays[f"s{i}_x"], arrays[f"s{i}_y"] = s.x, s.y
        if s.low is not None and s.high is not None:
            arrays[f"s{i}_low"], arrays[f"s{i}_high"] = s.low, s.high
        series_meta.append({"label": s.label, "env": s.env_id, "n_runs": s.n_runs, "run": s.run})
    meta = {
        "format": FORMAT,
        "view": curves.view,
        "x_label": curves.x_label,
        "y_label": curves.y_label,
        "band": curves.band,
        "notes": curves.notes,
        "settings": curves.settings,
        "series": series_meta,
    }
    _write_npz(path, meta, arrays)


def save_aggregate(result: AggregateResult, path: Path) -> None:
    """Save an :class:`~rlzoo_real.plotting.aggregate.AggregateResult` (scores included)."""
    scores = result.scores
    arrays: dict[str, Any] = {
        "x": scores.x,
        "taus": result.taus,
    }
    for name in ("metrics", "profile", "poi", "iqm"):
        for suffix in ("", "_low", "_high"):
            arrays[name + suffix] = getattr(result, name + suffix)
    for i, label in enumerate(scores.labels):
        arrays[f"final_{i}"] = scores.final[label]
        arrays[f"curves_{i}"] = scores.curves[label]
    meta = {
        "format": FORMAT,
        "view": "aggregate",
        "labels": scores.labels,
        "envs": scores.envs,
        "x_label": scores.x_label,
        "normalized": scores.normalized,
        "references": scores.references,
        "notes": scores.notes,
        "metric_names": result.metric_names,
        "pairs": [list(p) for p in result.pairs],
        "settings": result.settings,
    }
    _write_npz(path, meta, arrays)


def aggregate_summary(result: AggregateResult) -> dict[str, Any]:
    """The headline numbers as plain JSON: metrics and probabilities with intervals."""
    labels = result.scores.labels
    ci = result.settings.get("ci", 0.95)
    return {
        "settings": result.settings,
        "envs": result.scores.envs,
        "normalized": result.scores.normalized,
        "references": result.scores.references,
        "runs_per_env": {label: int(result.scores.final[label].shape[0]) for label in labels},
        "metrics": {
            label: {
                name: {
                    "point": float(result.metrics[i, j]),
                    f"ci{int(round(ci * 100))}": [
                        float(result.metrics_low[i, j]),
                        float(result.metrics_high[i, j]),
                    ],
                }
                for j, name in enumerate(result.metric_names)
            }
            for i, label in enumerate(labels)
        },
        "probability_of_improvement": {
            f"P({a} > {b})": {
                "point": float(result.poi[k]),
                f"ci{int(round(ci * 100))}": [float(result.poi_low[k]), float(result.poi_high[k])],
            }
            for k, (a, b) in enumerate(result.pairs)
        },
        "notes": result.scores.notes,
    }


def load_data(path: Path) -> CurveSet | AggregateResult:
    """Read a file written by :func:`save_curves` or :func:`save_aggregate`.

    Raises:
        UserError: when the file is missing or was not written by ``realzoo plot``.
    """
    import zipfile

    import numpy as np

    if not path.is_file():
        raise UserError(f"--data {str(path)!r} does not exist.")
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise UserError(
            f"--data {str(path)!r} is not a data file written by realzoo plot "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"--data {str(path)!r} is not a data file written by realzoo plot.")
    if meta["view"] == "aggregate":
        return _load_aggregate(meta, arrays)
    return _load_curves(meta, arrays)


def _load_curves(meta: dict[str, Any], arrays: dict[str, Any]) -> CurveSet:
    from rlzoo_real.plotting.curves import CurveSet, Series

    series = []
    for i, s in enumerate(meta["series"]):
        series.append(
            Series(
                label=s["label"],
                env_id=s["env"],
                x=arrays[f"s{i}_x"],
                y=arrays[f"s{i}_y"],
                low=arrays.get(f"s{i}_low"),
                high=arrays.get(f"s{i}_high"),
                n_runs=int(s["n_runs"]),
                run=s["run"],
            )
        )
    return CurveSet(
        view=meta["view"],
        x_label=meta["x_label"],
        y_label=meta["y_label"],
        band=meta["band"],
        series=series,
        notes=list(meta["notes"]),
        settings=dict(meta["settings"]),
    )


def _load_aggregate(meta: dict[str, Any], arrays: dict[str, Any]) -> AggregateResult:
    from rlzoo_real.plotting.aggregate import AggregateResult, ScoreTable

    labels = list(meta["labels"])
    scores = ScoreTable(
        labels=labels,
        envs=list(meta["envs"]),
        final={label: arrays[f"final_{i}"] for i, label in enumerate(labels)},
        curves={label: arrays[f"curves_{i}"] for i, label in enumerate(labels)},
        x=arrays["x"],
        x_label=meta["x_label"],
        normalized=bool(meta["normalized"]),
        references={k: (float(v[0]), float(v[1])) for k, v in meta["references"].items()},
        notes=list(meta["notes"]),
    )
    fields = {
        name + suffix: arrays[name + suffix]
        for name in ("metrics", "profile", "poi", "iqm")
        for suffix in ("", "_low", "_high")
    }
    return AggregateResult(
        scores=scores,
        metric_names=list(meta["metric_names"]),
        taus=arrays["taus"],
        pairs=[(str(a), str(b)) for a, b in meta["pairs"]],
        settings=dict(meta["settings"]),
        **fields,
    )
