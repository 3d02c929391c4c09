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
    """Turn a :class:`UserError` (or an ``OSError`` on a path) raised by a command into one
    paragraph and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a path the user gave that cannot be written or read
            where = f" {exc.filename}" if exc.filename else ""
            print_error(
                f"Cannot use{where}: {exc.strerror or exc}. Check that the path exists, is a "
                "folder where a folder is expected, and that you may write there."
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
