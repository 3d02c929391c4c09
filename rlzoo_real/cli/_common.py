"""What every command shares: printing errors the same way, without a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from rlzoo_real.errors import UserError

__all__ = ["print_error", "user_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def print_error(message: str) -> None:
    """Print a user error as one paragraph on standard error."""
    typer.echo(f"Error: {message}", err=True)


def user_errors(func: F) -> F:
    """Turn a :class:`UserError` raised by a command into its message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
