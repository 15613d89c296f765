"""Reading cells (numbers, dates, booleans, files) and comparing recomputed with reported values: the
helpers every check shares, with ``Found``, the problems of one check grouped by rule."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

TOL_ABS = 1e-5  # result CSVs carry 6 decimals
TOL_REL = 1e-9


def read(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts of stripped text (an absent file gives no rows)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def num(text: Any) -> float | None:
    """A float, or None for an empty cell."""
    if text is None or text == "":
        return None
    return float(text)


def fnum(text: Any, default: float = 0.0) -> float:
    """A float, ``default`` for an empty or unreadable cell (the rule that needs it reports the cell)."""
    try:
        v = num(text)
    except (TypeError, ValueError):
        return default
    return default if v is None else v


def day(text: str) -> dt.date:
    """An ISO date."""
    return dt.date.fromisoformat(str(text)[:10])


def oday(text: Any) -> dt.date | None:
    """An ISO date, or None for an empty or unreadable cell."""
    try:
        return day(text) if text not in (None, "") else None
    except ValueError:
        return None


def yes(text: Any) -> bool:
    """A gxopt boolean cell (or a JSON boolean)."""
    if isinstance(text, bool):
        return text
    return str(text).strip().lower() == "true"


def close(a: float, b: float, rel: float = TOL_REL) -> bool:
    """Equal within the precision of the result files."""
    return abs(a - b) <= TOL_ABS + rel * max(abs(a), abs(b))


def plain(x: float) -> str:
    """A number as plain decimal text (no exponent)."""
    return f"{x:.9f}".rstrip("0").rstrip(".")


def message_value(x: Any) -> str:
    """A value for a message: booleans as true/false, numbers (also numeric text) to 6 decimals, text quoted."""
    if x is None or x == "":
        return "empty"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return f"{x:.6f}"
    try:
        return f"{float(x):.6f}"
    except (TypeError, ValueError):
        return repr(x)


def r6(x: float | None) -> float | None:
    """Rounded for the written tables."""
    return None if x is None else round(x, 6)


def add_years(d: dt.date, years: int) -> dt.date:
    """``d`` plus whole years (29 February -> 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def days(start: dt.date, end: dt.date) -> int:
    """Days from ``start`` to ``end``, both inclusive (0 when end < start)."""
    return max((end - start).days + 1, 0)


class Found:
    """The problems of one check, grouped by rule (each rule names its clause), each with the id it is about."""

    def __init__(self) -> None:
        self.rules: dict[str, list[str]] = {}
        self.notes: list[str] = []

    def add(self, rule: str, item: str, detail: str = "") -> None:
        """Record that ``rule`` fails for ``item`` (``detail``: the numbers)."""
        self.rules.setdefault(rule, []).append(f"{item} ({detail})" if detail else str(item))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def count(self) -> int:
        """Number of problems."""
        return sum(len(v) for v in self.rules.values())

    def problems(self) -> list[str]:
        """Every problem as one line ``rule: item (detail)``."""
        return [f"{rule}: {item}" for rule, items in self.rules.items() for item in items]


def agree(f: Found, rule: str, item: str, col: str, mine: Any, theirs: Any, rel: float = TOL_REL) -> bool:
    """Compare a recomputed value with a reported one (numbers within the file precision); record a mismatch."""
    if isinstance(mine, bool) or isinstance(theirs, bool):
        ok = theirs is not None and theirs != "" and yes(theirs) == bool(mine)
    elif isinstance(mine, (int, float)) and mine is not None:
        try:
            t = num(theirs)
        except (TypeError, ValueError):
            t = None
        ok = t is not None and close(float(mine), t, rel)
    elif mine is None:
        ok = theirs in (None, "")
    else:
        ok = str(theirs if theirs is not None else "") == str(mine)
    if not ok:
        if isinstance(mine, bool):
            theirs = yes(theirs) if theirs not in (None, "") else theirs
        text = isinstance(mine, str)
        f.add(rule, item, f"{col}: reported {repr(theirs) if text else message_value(theirs)}, "
                          f"recomputed {repr(mine) if text else message_value(mine)}")
    return ok



def json_file(path: Path) -> Any:
    """A JSON file's content, or None when it is absent or unreadable."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file (none when it is absent)."""
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
