"""``realzoo export``: write a trained policy as a self-contained ONNX file, checked for parity."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._replay_options import (
    Algo,
    AllowImport,
    Backend,
    Env,
    EnvKwargs,
    ExpId,
    Folder,
    GymPackages,
    LoadBest,
    LoadCheckpoint,
    LoadLastCheckpoint,
    Target,
    Unsafe,
    request_from,
)

__all__ = ["register"]


def export(
    target: Target = None,
    fmt: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default: the model's path with .onnx).",
            show_default=False,
        ),
    ] = None,
    algo: Algo = None,
    env: Env = None,
    folder: Folder = "logs",
    exp_id: ExpId = 0,
    load_best: LoadBest = False,
    load_checkpoint: LoadCheckpoint = None,
    load_last_checkpoint: LoadLastCheckpoint = False,
    n_check: Annotated[
        int,
        typer.Option("--n-check", help="Real observations from the env for the parity check."),
    ] = 256,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the env that gives the check's observations.")
    ] = 0,
    env_kwargs: EnvKwargs = None,
    gym_packages: GymPackages = None,
    unsafe_pickle_load: Unsafe = False,
    allow_import: AllowImport = None,
    backend: Backend = "sb3",
) -> None:
    """Export a policy to ONNX (normalization, action rescaling inside), parity-checked.

    The file takes observations as the env returns them and gives actions ready for
    env.step; it is written only when it matches the torch policy within 1e-4 on real
    observations from the env.
    """
    from rlzoo_real.replay.export import MAX_DIFF
    from rlzoo_real.replay.export import export as run_export

    request = request_from(
        target,
        algo=algo,
        env=env,
        folder=folder,
        exp_id=exp_id,
        load_best=load_best,
        load_checkpoint=load_checkpoint,
        load_last_checkpoint=load_last_checkpoint,
        env_kwargs=env_kwargs,
        gym_packages=gym_packages,
        device="cpu",
        unsafe_pickle_load=unsafe_pickle_load,
        allow_import=allow_import,
        backend=backend,
    )
    result = run_export(request, fmt=fmt, output=output, n_check=n_check, seed=seed)
    size = result.path.stat().st_size / 1024

    def dims(shape: tuple[int | None, ...]) -> str:
        return "[" + ", ".join("batch" if d is None else str(d) for d in shape) + "]"

    typer.echo(
        f"Exported {result.algo} on {result.env_id} ({result.model_label}) to {result.path} "
        f"({size:.1f} KiB)"
    )
    stacked = f", the last {result.frame_stack} frames stacked" if result.frame_stack else ""
    inside = "; normalization is inside the graph" if result.normalized else ""
    typer.echo(
        f"Input 'obs': {result.input_dtype} {dims(result.input_shape)}, observations as the env "
        f"returns them{stacked}{inside}"
    )
    if result.action_bounds is not None:
        low, high = result.action_bounds
        within = f", within [{_fmt(low)}, {_fmt(high)}]"
    else:
        within = ", action index"
    typer.echo(f"Output 'action': {result.output_dtype} {dims(result.output_shape)}{within}")
    typer.echo(
        f"Parity with the torch policy on {result.n_checked} observations from the env: "
        f"max |difference| {result.max_diff:.2e} (limit {MAX_DIFF:.0e})"
    )
    _wrappers(result.env_wrappers)


def _wrappers(entries: tuple[dict[str, Any], ...]) -> None:
    """Say which of the run's env wrappers the graph holds and which the caller must apply."""
    where = {
        "graph": "inside the graph (its action bounds)",
        "actions": "NOT in the graph: apply it to the graph's actions in the control loop "
        "(rlzoo_real.envs.filters), last wrapper first",
        "observations": "NOT in the graph: build the graph's input with it",
        "unknown": "NOT in the graph: apply it as training did",
    }
    for entry in entries:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in entry["kwargs"].items())
        typer.echo(f"Env wrapper {entry['wrapper']}({kwargs}): {where[entry['where']]}")
    if any(entry["where"] != "graph" for entry in entries):
        typer.echo("The file's metadata lists them under 'env_wrappers' (innermost first).")


def _fmt(values: list[float]) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:4]) + (", ..." if len(values) > 4 else "")
    return shown if len(values) == 1 else f"({shown})"


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``realzoo`` app."""
    app.command("export")(user_errors(export))
