"""What every gxopt command shares: the consoles, exit codes, the --db option and turning errors into exit codes."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from gxopt.errors import GxoptError, InputError

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

EXIT_TAMPER, EXIT_INTERNAL = 6, 1  # the others are carried by the error classes (InputError: 2, ...)
DbOption = Annotated[str, typer.Option("--db", help="Ledger database URL: sqlite:///gx.db or postgresql+psycopg://...")]


def _fail(exc: BaseException) -> typer.Exit:
    """Print ``exc`` in plain words and return its exit code (carried by the error class; 1 = internal)."""
    if isinstance(exc, InputError):
        err.print(f"[bold red]error:[/] {len(exc.issues)} problem(s) in the inputs:")
        for issue in exc.issues:
            err.print(f"  - {issue}", markup=False, soft_wrap=True)  # never fold a file name
        return typer.Exit(exc.exit_code)
    if isinstance(exc, GxoptError):
        err.print(f"[bold red]{exc.headline}:[/] ", end="")
        err.print(str(exc), markup=False, soft_wrap=True)
        return typer.Exit(exc.exit_code)
    err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
              "Set GXOPT_DEBUG=1 to see the traceback.")
    return typer.Exit(EXIT_INTERNAL)


def _guarded(fn):  # type: ignore[no-untyped-def]
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (GxoptError, Exception) as exc:
            if os.environ.get("GXOPT_DEBUG"):
                raise
            raise _fail(exc) from None
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper
