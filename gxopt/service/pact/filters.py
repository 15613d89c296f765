"""Which footprints a ListFootprints call (or a RequestCreatedEvent) asks for.

v3.0 ("Filtering", parameters productId, companyId, geography, classification, validOn, validAfter, validBefore,
status): parameter names case-insensitive, values matched case-insensitively; several values of one criterion
are OR-ed, criteria are AND-ed. The validity period is validityPeriodStart/End, or when absent
pcf.referencePeriodEnd to 3 years later (v3.0 "Validity Period"). An unknown status matches nothing.

v2.3 (§6.6.4 "Filtering", the ODataV4 ``$filter`` subset): ``and`` of comparisons ``eq lt le gt ge`` on
created, updated, productCategoryCpc, pcf/geographyCountry, pcf/referencePeriodStart, pcf/referencePeriodEnd,
and ``productIds/any(x:(x eq '...'))`` / ``companyIds/any(...)``; anything else is NotImplemented.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from gxopt.service.pact.errors import PactError

Match = Callable[[dict[str, Any]], bool]
V3_LISTS = {"productid": "productIds", "companyid": "companyIds", "classification": "productClassifications"}
V3_DATES = ("validon", "validafter", "validbefore")
V3_NAMES = {"productid": "productId", "companyid": "companyId", "geography": "geography",
            "classification": "classification", "validon": "validOn", "validafter": "validAfter",
            "validbefore": "validBefore", "status": "status"}
PAGING = ("limit", "cursor")


def timestamp(text: str, name: str) -> dt.datetime:
    """An RFC 3339 date-time (a date alone is its midnight UTC); BadRequest naming ``name`` otherwise."""
    try:
        t = dt.datetime.fromisoformat(text.strip().upper())
    except (ValueError, AttributeError):
        raise PactError("BadRequest", f"{name}: {text!r} is not an RFC 3339 date-time such as "
                                      "2026-04-01T00:00:00Z") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _validity(doc: dict[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
    start, end = doc.get("validityPeriodStart"), doc.get("validityPeriodEnd")
    if start and end:
        return timestamp(start, "validityPeriodStart"), timestamp(end, "validityPeriodEnd")
    ref = doc.get("pcf", {}).get("referencePeriodEnd")
    if not ref:
        return None
    t = timestamp(ref, "referencePeriodEnd")
    try:
        return t, t.replace(year=t.year + 3)
    except ValueError:  # 29 February
        return t, t.replace(year=t.year + 3, day=28)


def v3_criteria(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The filter criteria of query ``pairs`` by lower-case name (paging and ``x-`` parameters left out)."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.lower()
        if key in PAGING or key.startswith("x-"):
            continue
        if key not in V3_NAMES:
            raise PactError("BadRequest", f"unknown query parameter {name!r}; the filters are "
                                          + ", ".join(V3_NAMES.values()))
        out.setdefault(key, []).append(value)
    for key in V3_DATES:
        if len(out.get(key, [])) > 1:
            raise PactError("BadRequest", f"{V3_NAMES[key]} may be given once")
    return out


def v3_match(criteria: dict[str, list[str]]) -> Match:
    """The predicate on a v3 document for ``criteria`` (from :func:`v3_criteria` or a RequestCreatedEvent)."""
    tests: list[Match] = []
    for key, values in criteria.items():
        wanted = {v.strip().lower() for v in values}
        if key in V3_LISTS:
            field = V3_LISTS[key]
            tests.append(lambda d, f=field, w=wanted: any(str(x).lower() in w for x in d.get(f) or []))
        elif key == "geography":
            tests.append(lambda d, w=wanted: any(str(d.get("pcf", {}).get(f) or "").lower() in w for f in (
                "geographyCountry", "geographyRegionOrSubregion", "geographyCountrySubdivision")))
        elif key == "status":
            tests.append(lambda d, w=wanted: str(d.get("status", "")).lower() in w)
        elif key in V3_DATES:
            t = timestamp(values[0], V3_NAMES[key])
            tests.append(_date_test(key, t))
    return lambda d: all(t(d) for t in tests)


def _date_test(key: str, t: dt.datetime) -> Match:
    def test(d: dict[str, Any]) -> bool:
        v = _validity(d)
        if v is None:
            return False
        start, end = v
        if key == "validon":
            return start <= t <= end
        return start > t if key == "validafter" else end < t
    return test


# ---- v2.3 $filter -------------------------------------------------------------------------------------------
V2_FIELDS = {"created": True, "updated": True, "productCategoryCpc": False, "pcf/geographyCountry": False,
             "pcf/referencePeriodStart": True, "pcf/referencePeriodEnd": True}  # name -> compared as date-time
_OPS = {"eq": lambda a, b: a == b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}
_CMP = re.compile(r"^\s*([A-Za-z/]+)\s+(eq|lt|le|gt|ge)\s+'((?:[^']|'')*)'\s*$")
_ANY = re.compile(r"^\s*(productIds|companyIds)/any\(\s*(\w+)\s*:\s*\(?\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)?\s*\)\s*$")


def _split_and(text: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text[i:i + 5].lower() == " and ":
            parts.append(text[start:i])
            start = i = i + 5
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _get(doc: dict[str, Any], path: str) -> Any:
    for part in path.split("/"):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def v2_match(expr: str | None) -> Match:
    """The predicate on a v2 document for ``$filter`` ``expr`` (None or blank: every footprint)."""
    if expr is None or not expr.strip():
        return lambda d: True
    tests: list[Match] = []
    for clause in _split_and(expr):
        m = _ANY.match(clause)
        if m:
            field, var, var2, value = m.groups()
            if var != var2:
                raise PactError("BadRequest", f"$filter: lambda variable {var2!r} is not {var!r}")
            wanted = value.replace("''", "'")
            tests.append(lambda d, f=field, v=wanted: v in (d.get(f) or []))
            continue
        m = _CMP.match(clause)
        if not m or m.group(1) not in V2_FIELDS:
            raise PactError("NotImplemented", f"$filter: {clause.strip()!r} is outside the supported subset (and of "
                                              "eq/lt/le/gt/ge on " + ", ".join(V2_FIELDS)
                                              + ", or productIds/any(...), companyIds/any(...))")
        field, op, value = m.group(1), m.group(2), m.group(3).replace("''", "'")
        if V2_FIELDS[field]:
            t = timestamp(value, f"$filter {field}")
            tests.append(lambda d, f=field, o=op, t=t: _get(d, f) is not None
                         and _OPS[o](timestamp(str(_get(d, f)), f), t))
        else:
            tests.append(lambda d, f=field, o=op, v=value: _get(d, f) is not None and _OPS[o](str(_get(d, f)), v))
    return lambda d: all(t(d) for t in tests)
