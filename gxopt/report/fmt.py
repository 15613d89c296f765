"""Number, date and text formatting shared by the HTML, PDF and CSV outputs of the report."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

UNIT_CFP = "t-CO2e/t"
UNIT_REPS = "t-CO2e"


def missing(v: Any) -> bool:
    """True for None, NaN, NaT and the empty string."""
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def text(v: Any) -> str:
    """A cell as text: the empty string when missing."""
    return "" if missing(v) else str(v)


def opt_float(v: Any) -> float | None:
    """A cell as a number: None when missing."""
    return None if missing(v) else float(v)


def num(v: Any, nd: int = 3, dash: str = "–") -> str:
    """``12,345.678``: thousands separators, ``nd`` decimals; a dash when missing."""
    if missing(v):
        return dash
    x = float(v)
    if abs(x) < 0.5 * 10 ** (-nd):
        x = 0.0  # never print -0.000
    return f"{x:,.{nd}f}"


def cfp(v: Any) -> str:
    """A CFP in t-CO2e/t with four decimals (the three CFPs of 8.3.3 differ in the fourth place)."""
    return num(v, 4)


def reps(v: Any) -> str:
    """REPs in t-CO2e to the kilogram."""
    return num(v, 3)


def tonnes(v: Any) -> str:
    """Tonnage in t to the kilogram."""
    return num(v, 3)


def pct(v: Any, nd: int = 1) -> str:
    """A fraction 0..1 shown as a percentage."""
    return "–" if missing(v) else f"{100 * float(v):.{nd}f} %"


def day(v: Any) -> str:
    """ISO date ``YYYY-MM-DD`` of a date, timestamp or ISO string."""
    if missing(v):
        return "–"
    if isinstance(v, str):
        return v[:10]
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)[:10]


def decimal_str(v: float, nd: int = 6) -> str:
    """A PACT decimal string (``^[+-]?\\d+(\\.\\d+)?$``): fixed point, trailing zeros trimmed, never ``-0``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        msg = f"not a finite number: {v!r}"
        raise ValueError(msg)
    d = Decimal(repr(float(v))).quantize(Decimal(1).scaleb(-nd), rounding=ROUND_HALF_EVEN)
    if d == 0:
        return "0"
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def clean(v: Any) -> Any:
    """A JSON-safe scalar: NaN/NaT -> None, numpy scalars -> Python, timestamps -> ISO dates."""
    if missing(v) and not isinstance(v, str):
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
