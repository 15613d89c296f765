"""What every benchmark script prints and appends: the machine line and a markdown table."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def machine() -> str:
    """The machine a run is measured on, as the tables in README.md name it."""
    return f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, {dt.date.today()}"


def emit(title: str, header: str, rows: list[str], append: bool) -> None:
    """Print ``header`` and ``rows`` under the machine line; with ``append``, add them to README.md under ``title``."""
    where = machine()
    print(f"machine: {where}\n{header}\n" + "\n".join(rows))
    if append:
        with README.open("a", encoding="utf-8") as fh:
            fh.write(f"\n{title}, run of {where}:\n\n{header}\n" + "\n".join(rows) + "\n")
