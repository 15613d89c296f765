"""The Jinja2 environment of the report's HTML pages (templates in ``gxopt/report/templates``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from gxopt.report import fmt

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    """The environment: autoescaping, strict undefined, the number filters of :mod:`gxopt.report.fmt`."""
    e = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    e.filters.update({"num": fmt.num, "cfp": fmt.cfp, "reps": fmt.reps, "tonnes": fmt.tonnes, "pct": fmt.pct,
                      "day": fmt.day, "yesno": _yesno})
    return e


def _yesno(v: Any) -> str:
    if v is None or fmt.missing(v):
        return "–"
    return "yes" if bool(v) else "no"


def render(template: str, **context: Any) -> str:
    """Render ``template`` with ``context``."""
    return env().get_template(template).render(**context)
