"""The CSV and JSON files of the report (the twins of its pages), each written one way: dates as ISO days,
booleans as true/false, NaN as empty (CSV) or null (JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gxopt.report.fmt import clean


def write_csv(frame: pd.DataFrame, file: Path) -> None:
    """Write ``frame`` to ``file`` (folders made as needed)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.copy()
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):
            frame[c] = frame[c].dt.strftime("%Y-%m-%d")
        elif frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: "true" if v is True else "false" if v is False else v)
        elif pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].map({True: "true", False: "false"})
    frame.to_csv(file, index=False, lineterminator="\n", float_format="%.6f")


def plain(obj: Any) -> Any:
    """JSON-safe copy: NaN/NaT -> null, numpy and pandas scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, (str, bool, int)) or obj is None:
        return obj
    return clean(obj)


def write_json(obj: Any, file: Path) -> None:
    """Write ``obj`` (made JSON-safe by :func:`plain`) to ``file`` as indented UTF-8 JSON (folders made as needed)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(plain(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
