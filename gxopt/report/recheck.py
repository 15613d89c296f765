#!/usr/bin/env python3
"""Re-perform the numbers of a gxopt verifier pack with the Python standard library only (no gxopt needed).

Usage::

    python3 recheck.py [PACK_DIR]        # default: the folder this script is in

Everything is recomputed from ``inputs/`` (the run's plant model and scenario) and compared with what gxopt
wrote: ``results/`` (the result tables and ``summary.json``), ``documents/`` (certificates, PACT footprints,
disclosures) and ``ledger/`` (the ledger export, when the report was made with a ledger). Caps, CFP terms,
eligibility and pool balances are never read from ``results/``: a result table that departs from what the
inputs imply fails, naming the rule and the ids. The checks, in order:

0. ``manifest``: every file listed in ``MANIFEST.sha256`` has its SHA-256, and every file of the pack
   (except the manifest itself) is listed.
   ``inputs``: ``inputs/scenario/scenario.yaml`` is read (the small YAML subset gxopt writes); the SHA-256 of
   the input files, computed the way gxopt computes ``input_sha256`` (see :func:`input_digests`), equals
   ``results/summary.json`` (and the ledger's batch when there is a ledger); the run settings in
   ``summary.json`` equal scenario.yaml. Inputs changed *together with* results that agree with them cannot
   be caught by a recomputation: the input SHA-256 is the anchor, compare it with the one recorded elsewhere
   (the ledger's batch, the published scheme information).
1. ``reps``: REPs of every pool from ``inputs/scenario/project_periods.csv`` (JISF ch. 6, 6.5, 6.6), signed
   per calculation period::

       baseline emissions = baseline_intensity x output_t
       gross              = baseline emissions - project_emissions_t
       period REPs        = gross x (1 - uncertainty) x share   if gross >= 0 (a reduction, lowered)
                          = gross x (1 + uncertainty) x share   if gross <  0 (an increase, raised)
       with baseline_uncertainty u_b and project_uncertainty u_e both given instead:
       period REPs        = (baseline emissions x (1 - u_b) - project_emissions_t x (1 + u_e)) x share

   Projects at one node with overlapping periods form a 6.6 group: the group's largest uncertainty (of each
   kind) applies and its REPs are split by attribution_share (equal shares when none is given). Increases are
   included (ch. 6) and netted per project, periods in time order: a negative period amount is taken from the
   project's latest earlier periods first (most recent first), what is left from its later periods in time
   order. So a project's pools hold max(0, the sum of its period amounts), none above its own period's
   reduction. period_reps_t, netted_t and reps_t are compared with ``results/pools.csv``.
2. ``eligibility``: each project from ``inputs/``: an external certificate never counts (6.3); only process,
   fuel or raw-material conversions (6.2.1.1) with an additionality test (6.2.1.2) at a steel unit (6.2.1.1),
   third-party verified unless the run is a what-if (6.8); each pool: ended when its calculation period ended
   by as_of, mass-balance expiry = period end + ``mass_balance.expiry_years`` (7.2.2), site and gas of its
   project. Compared with ``results/pools.csv`` and ``results/projects.csv``.
3. ``physical_connection`` (6.7, 7.2.3): the connected (project, product) pairs recomputed from
   ``inputs/model/edges.csv`` (the project's unit on the product's route, or reaching a route unit through a
   directed path of input/utility edges; by-product edges never connect) must be exactly those of
   ``connections.csv``; every evidence path of ``allocations.csv`` and ``connections.csv`` starts at the
   project's unit, every step is an edge of the kind it states (``A > B`` material, ``A -input-> B``,
   ``A -utility-> B``), feeder steps only before the route part, which is the product's route down to its
   last unit.
4. ``products`` (7.3.3, 8.3.2, 7.3.2, 8.1.2, 5.2.2): the REPs already reflected in each General CFP per
   tonne (the 7.3.3 correction), from the pools of check 1, the eligibility of check 2 and the connections of
   check 3, and every CFP term, all from ``inputs/model/products.csv``::

       rep_term_k   = sum over pools p of eligible projects j connected to k:
                      reps_p x overlap(p, k) / production_j
       overlap(p, k) = days of p inside the CFP data period of k / days of p   (both ends inclusive)
       production_j = production of every product connected to project j
       basis_k      = general_cfp + rep_term = Residual CFP = non-GX CFP (what steel without REPs carries)
       mb cap per t = scope1 + scope2 + rep_term;  subject part = scope1 + scope2 + scope3_allocable + rep_term
       in_cfps_p    = sum over k of reps_p x overlap(p, k) x production_k / production_j

   and the CFP data is usable when its period ended within five years of as_of or a data_age_justification
   is stated (5.2.2). Compared with ``results/products.csv`` (general_cfp and the scopes too).
5. ``allocation_lines``: every line of ``allocations.csv`` may feed its order (``inputs/scenario/orders.csv``):
   the pool's project is eligible (check 2: 6.2.1, 6.3, 6.8), the pool's period ended by as_of, the project is
   physically connected to the product (6.7), the gas matches when the order names one (7.3.1), the product's
   CFP data is usable (5.2.2); GX Mass Balance: the pool expires no earlier than the delivery and the run date
   (7.2.2); GX Allocation: the CFP does not end before the project's first period and the pool has at least
   one day inside the CFP data period (ch. 4, 8.2.2), the delivery lies inside the operational period and
   as_of is not after its end (8.2.3). Its copies of order and pool facts, same_site (the pool's site against
   the site where the product's crude steel is made: the route's BOF/EAF) and certifiable are recomputed.
6. ``pool_use`` (7.2.1, 7.3.1, 8.2.1, 8.1, 8.3.1): used before (``account.csv``) + drawn by the lines = used
   <= REPs, remaining = REPs - used; what GX Allocation moves from a pool <= in_cfps - used before.
7. ``orders`` (7.3.2, 8.3.2, 8.1.1, 7.3.3): every order of the inputs: the sum of its lines = its REPs, never
   above its cap (cap per t = the mass-balance cap, or alpha_max x the subject part; and requested_reps_t);
   alpha = REPs / (tonnage x full cap per t), GX tonnage, rep_term, basis, Residual and Allocated CFP;
   claimed_cfp = basis - REPs per tonne (GX Mass Balance; Figure 1: 3.0 - 2.3 = 0.7), the Allocated CFP (GX
   Allocation); the order's copies of the inputs; status (ineligible when no pool may feed it).
8. ``claims`` (7.3.3, 8.1, 8.3.1): what buyers may claim = the GX orders (REPs > 0) at their claimed CFP x
   tonnage + the rest of each product's production at its non-GX CFP - the REPs claimed under earlier
   certificates on ended eligible pools (``account.csv``); actual emissions = sum of General CFP x production
   - the verified REPs of ended eligible pools that no CFP contains (reps - in_cfps). Claims >= actual
   (docs/formulation.md, "claims identity"); compared with ``results/products.csv`` and the ``claims`` and
   ``totals`` blocks of ``summary.json``.
9. ``certificates``: ``documents/certificates/certificates.json`` (and its CSV twins): without a ledger, one
   draft per served order whose order, customer, product, method, tonnage, REPs (= the sum of its lines = the
   order's allocation lines), REPs per t, General, rep_term, basis, Residual, Allocated, claimed CFP, alpha and
   GX tonnage equal the recomputed values; with a ledger, the numbers and lines as issued
   (``ledger/certificates.jsonl``).
10. ``pact``: every PACT footprint (v2.3 ``pCfExcludingBiogenic``, v3.0 ``pcfExcludingBiogenicUptake``,
    declared unit 1 kilogram, so kg CO2e/kg = t-CO2e/t) states the Allocated CFP (GX Allocation) or the basis
    CFP (GX Mass Balance) of its certificate, and its GX extension the certificate's numbers; the collections
    ``footprints-v2.3.json`` / ``footprints-v3.0.json`` hold exactly these files.
11. ``disclosures``: the 6.2.3 project table (REPs per calculation period: only periods that ended by as_of,
    each with the recomputed REPs, netting, use; the projects not counted with the reason), the 8.3.3 three
    CFPs, the chapter 9 scheme information (methods, claims, settings, input SHA-256, reduction periods).
12. ``ledger`` (when present): the hash chain of the journal and its head, each pool's stored balance against
    the journal, credited = issued - reversed + expired + remaining, each certificate's digest (with its
    basis and claimed CFP when it states them) and lines against its issue entries.

Output: one line per check, and under a failed check one line per failed rule (with its clause) naming at
most ten ids and the count of the rest. Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import sys
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

TOL_ABS = 1e-5  # result CSVs carry 6 decimals
TOL_REL = 1e-9
GENESIS = "0" * 64
FEED_KINDS = ("input", "utility")  # the kinds through which a feeder unit reaches a product's line (6.7)
STEP_KINDS = ("material",) + FEED_KINDS
ELIGIBLE_KINDS = ("process_conversion", "fuel_conversion", "raw_material_conversion")  # 6.2.1.1
STEELMAKING = ("bof", "eaf", "steelmaking", "open_hearth")  # where crude steel is made (the crude-steel site)
DATA_AGE_YEARS = 5  # 5.2.2
FILL_TOL = 1e-6
MANIFEST = "MANIFEST.sha256"
SHOWN = 10  # ids shown per failed rule
_STEP = re.compile(r" (?:(>)|-([A-Za-z_]+)->) ")
# the input tables, in the order of gxopt's schema (older result folders hash them in this order)
TABLES = (("model", "nodes"), ("model", "edges"), ("model", "products"), ("scenario", "projects"),
          ("scenario", "project_periods"), ("scenario", "orders"), ("scenario", "account"))
TABLE_EXTS = (".csv", ".xlsx", ".parquet")
WORKBOOK = {"model": "model.xlsx", "scenario": "scenario.xlsx"}


# ------------------------------------------------------------------------------------------ helpers


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


def _n(x: float) -> str:
    """A number as plain decimal text (no exponent)."""
    return f"{x:.9f}".rstrip("0").rstrip(".")


def _f(x: Any) -> str:
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


def _same(f: Found, rule: str, item: str, col: str, mine: Any, theirs: Any, rel: float = TOL_REL) -> bool:
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
        f.add(rule, item, f"{col}: reported {repr(theirs) if text else _f(theirs)}, "
                          f"recomputed {repr(mine) if text else _f(mine)}")
    return ok


# ------------------------------------------------------------------------------- scenario.yaml (subset)


def _strip_comment(line: str) -> str:
    """The line without a ``#`` comment (outside quotes; a ``#`` only starts one after a blank)."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if (ch == "\\" and quote == '"') or (ch == "'" == quote and line[i + 1:i + 2] == "'"):
                i += 2  # an escaped character, or '' inside single quotes
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or line[i - 1] in " \t:{[,"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
        i += 1
    return line


def _split_outside(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside quotes and braces."""
    parts, depth, quote, cur = [], 0, None, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ((ch == "\\" and quote == '"') or (ch == "'" == quote and text[i + 1:i + 2] == "'")) \
                    and i + 1 < len(text):
                cur += text[i:i + 2]
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'" and (not cur.strip() or cur[-1:] in " {[,:"):
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(cur)
            cur = ""
            i += len(sep)
            continue
        cur += ch
        i += 1
    parts.append(cur)
    return parts


def _key_value(body: str) -> tuple[str, str] | None:
    """``key: value`` of a mapping line, None when the line is no mapping entry."""
    if body.startswith(("- ", "-\t")) or body == "-":
        return None
    parts = _split_outside(body + " ", ": ")
    if len(parts) < 2:
        return None
    key = parts[0].strip()
    if not key or key[0] in "{[":
        return None
    return _scalar(key) if key[0] in "\"'" else key, ": ".join(parts[1:]).strip()


def _scalar(text: str) -> Any:
    """A YAML scalar (PyYAML's YAML 1.1 reading of plain scalars; dates stay text)."""
    t = text.strip()
    if t in ("", "~", "null", "Null", "NULL"):
        return None
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        try:
            return json.loads(t)
        except ValueError:
            return t[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(t) >= 2 and t[0] == "'" and t[-1] == "'":
        return t[1:-1].replace("''", "'")
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", t):
        return float(t)
    return t


def _value(text: str) -> Any:
    t = text.strip()
    if t.startswith("{") and t.endswith("}"):
        out = {}
        for item in _split_outside(t[1:-1], ","):
            if not item.strip():
                continue
            kv = _key_value(item.strip())
            if kv is None:
                raise ValueError(f"flow mapping entry without 'key: value': {item.strip()!r}")
            out[kv[0]] = _value(kv[1])
        return out
    if t.startswith("[") and t.endswith("]"):
        return [_value(x) for x in _split_outside(t[1:-1], ",") if x.strip()]
    return _scalar(t)


def _open(text: str) -> bool:
    """True while a value still waits for its closing quote or brace."""
    t = text.strip()
    if t[:1] in "\"'":
        q = t[0]
        rest = t[1:]
        if q == '"':
            rest = re.sub(r"\\.", "", rest)
        else:
            rest = rest.replace("''", "")
        return q not in rest
    return t.count("{") > t.count("}") or t.count("[") > t.count("]")


def parse_yaml(text: str) -> dict[str, Any]:
    """The small YAML subset of gxopt's ``scenario.yaml``: block mappings by indentation, one-level flow mappings
    ``{start: 2026-04-01, end: 2027-03-31}``, plain and quoted scalars, comments, plain scalars folded over
    more-indented lines. Raises ValueError (with the line) on anything else."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    last: tuple[dict[str, Any], str, int] | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if raw.strip() in ("---", "..."):
            continue
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if "\t" in line[:len(line) - len(line.lstrip())]:
            raise ValueError(f"line {i}: tab in the indentation")
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if last is not None and indent > last[2] and isinstance(last[0][last[1]], str):
            last[0][last[1]] = last[0][last[1]] + " " + body  # a folded plain scalar
            continue
        kv = _key_value(body)
        if kv is None:
            raise ValueError(f"line {i}: not a 'key: value' line (lists and blocks are not part of scenario.yaml)")
        key, value = kv
        while indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        if value == "":
            child: dict[str, Any] = {}
            parent[key] = child
            stack.append((indent, child))
            last = None
            continue
        while _open(value) and i < len(lines):
            value += " " + lines[i].strip()
            i += 1
        if value[:1] in "|>":
            raise ValueError(f"line {i}: block scalars are not part of scenario.yaml")
        parent[key] = _value(value)
        last = (parent, key, indent)

    def empty_to_none(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if v == {} else empty_to_none(v) if isinstance(v, dict) else v) for k, v in d.items()}

    return empty_to_none(root)


# ------------------------------------------------------------------------------------------ the run


class Run:
    """Everything read from the pack once: inputs, results, documents; recomputed values are added by the checks."""

    def __init__(self, pack: Path) -> None:
        self.pack = pack
        self.load_problems: list[tuple[str, str, str]] = []  # (rule, item, detail) for the inputs check
        self.summary = _json_file(pack / "results" / "summary.json") or {}
        self.settings: dict[str, Any] = {}
        yml = pack / "inputs" / "scenario" / "scenario.yaml"
        try:
            self.settings = parse_yaml(yml.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.load_problems.append(("inputs/scenario/scenario.yaml is missing", "scenario.yaml", ""))
        except (ValueError, UnicodeDecodeError) as exc:
            self.load_problems.append(("inputs/scenario/scenario.yaml cannot be read", "scenario.yaml", str(exc)))
        st = self.settings
        ss = self.summary.get("settings") or {}

        def setting(*keys: str) -> Any:
            v: Any = st
            for k in keys:
                v = v.get(k) if isinstance(v, dict) else None
            if v is None:  # not in scenario.yaml (or unreadable): the default, else summary.json as a last resort
                w: Any = ss
                for k in keys:
                    w = w.get(k) if isinstance(w, dict) else None
                return w
            return v

        self.as_of = oday(setting("as_of")) or oday(self.summary.get("as_of")) or dt.date.today()
        op = st.get("operational_period") if isinstance(st.get("operational_period"), dict) else {}
        self.op_start = oday(op.get("start")) or oday(setting("operational_period", "start")) or dt.date.min
        self.op_end = oday(op.get("end")) or oday(setting("operational_period", "end")) or dt.date.max
        mb = st.get("mass_balance") if isinstance(st.get("mass_balance"), dict) else {}
        self.expiry_years = int(mb.get("expiry_years", 3)) if mb.get("expiry_years") is not None else 3
        flag = st.get("allow_unverified")
        self.allow_unverified = (str(flag).strip().lower() in ("true", "yes", "on", "1", "y", "t")
                                 if isinstance(flag, str) else bool(flag))
        if st and oday(st.get("as_of")) is None:
            self.load_problems.append(("scenario.yaml has no valid as_of", "scenario.yaml", str(st.get("as_of"))))
        self.nodes = {n["node_id"]: n for n in self.table("model", "nodes")}
        self.edges = self.table("model", "edges")
        self.products = {p["product_id"]: p for p in self.table("model", "products")}
        self.projects = {p["project_id"]: p for p in self.table("scenario", "projects")}
        self.periods = self.table("scenario", "project_periods")
        self.orders = {o["order_id"]: o for o in self.table("scenario", "orders")}
        self.account = self.table("scenario", "account")
        res = pack / "results"
        self.r_pools = {p["pool_id"]: p for p in read(res / "pools.csv")}
        self.r_orders = {o["order_id"]: o for o in read(res / "orders.csv")}
        self.r_products = {p["product_id"]: p for p in read(res / "products.csv")}
        self.r_projects = {p["project_id"]: p for p in read(res / "projects.csv")}
        self.lines = read(res / "allocations.csv")
        self.r_connections = read(res / "connections.csv")
        for t in ("allocations", "orders", "pools", "products", "projects", "connections"):
            if not (res / f"{t}.csv").is_file():
                self.load_problems.append(("a result table is missing from results/", f"results/{t}.csv", ""))
        if not (res / "summary.json").is_file():
            self.load_problems.append(("a result table is missing from results/", "results/summary.json", ""))
        # filled by the checks
        self.exact: dict[str, dict[str, float]] = {}
        self.pools: dict[str, dict[str, Any]] = {}
        self.status: dict[str, dict[str, Any]] = {}
        self.connected: set[tuple[str, str]] = set()
        self.prod: dict[str, dict[str, Any]] = {}
        self.added: dict[str, float] = {}
        self.order_calc: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, float] = {}
        self.cert_expect: dict[str, dict[str, Any]] = {}

    def table(self, folder: str, name: str) -> list[dict[str, str]]:
        """An input table: ``inputs/<folder>/<name>.csv``, else gxopt's CSV rendering of an Excel or Parquet
        input in ``inputs-as-csv/`` (the standard library reads no Excel or Parquet)."""
        f = self.pack / "inputs" / folder / f"{name}.csv"
        if f.is_file():
            return read(f)
        g = self.pack / "inputs-as-csv" / folder / f"{name}.csv"
        if g.is_file():
            return read(g)
        if name != "account" or any((self.pack / "inputs" / folder / (name + e)).is_file() for e in TABLE_EXTS[1:]):
            self.load_problems.append(("an input table cannot be read with the standard library",
                                       f"inputs/{folder}/{name}", "no CSV file or CSV rendering in the pack"))
        return []



def _json_file(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def pool_key(project_id: str, period_end: str) -> str:
    """Pool id ``PROJECT@YYYY-MM-DD``."""
    return f"{project_id}@{day(period_end).isoformat()}"


# ------------------------------------------------------------------------------------- 0. manifest


def manifest_check(pack: Path) -> tuple[list[dict[str, Any]], Found]:
    """Every listed file has its SHA-256; every file of the pack is listed."""
    f = Found()
    rows: list[dict[str, Any]] = []
    man = pack / MANIFEST
    if not man.is_file():
        f.add(f"{MANIFEST} is missing: the pack's files cannot be checked", MANIFEST)
        return rows, f
    listed: dict[str, str] = {}
    for n, line in enumerate(man.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
        if not m:
            f.add(f"a line of {MANIFEST} is not 'SHA-256  path'", f"line {n}")
            continue
        rel = m.group(2)
        if rel.startswith("/") or ".." in Path(rel).parts:
            f.add(f"{MANIFEST} lists a path outside the pack", rel)
            continue
        if rel in listed:
            f.add(f"{MANIFEST} lists a file twice", rel)
        listed[rel] = m.group(1).lower()
    for rel, want in sorted(listed.items()):
        file = pack / rel
        if not file.is_file():
            f.add("a file listed in MANIFEST.sha256 is missing from the pack", rel)
            rows.append({"file": rel, "sha256_listed": want, "sha256_file": None, "ok": False})
            continue
        got = hashlib.sha256(file.read_bytes()).hexdigest()
        if got != want:
            f.add("a file differs from its SHA-256 in MANIFEST.sha256 (changed after the pack was written)", rel)
        rows.append({"file": rel, "sha256_listed": want, "sha256_file": got, "ok": got == want})
    for file in sorted(p for p in pack.rglob("*") if p.is_file()):
        rel = file.relative_to(pack).as_posix()
        if rel == MANIFEST or "__pycache__" in file.relative_to(pack).parts:
            continue
        if rel not in listed:
            f.add("a file of the pack is not listed in MANIFEST.sha256 (added after the pack was written)", rel)
            rows.append({"file": rel, "sha256_listed": None,
                         "sha256_file": hashlib.sha256(file.read_bytes()).hexdigest(), "ok": False})
    return rows, f


# --------------------------------------------------------------------------------------- 0. inputs


def _sheets(book: Path) -> set[str]:
    """Sheet names of an Excel workbook (``xl/workbook.xml`` of the zip; no Excel reader needed)."""
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        with zipfile.ZipFile(book) as z:
            root = ET.fromstring(z.read("xl/workbook.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError):
        return set()
    return {e.get("name", "") for e in root.iter() if e.tag.endswith("}sheet") or e.tag == "sheet"}


def _table_file(pack: Path, folder: str, name: str) -> Path | None:
    """The file that holds an input table in ``inputs/`` (a file of its own, else a sheet of the folder's
    workbook)."""
    for ext in TABLE_EXTS:
        f = pack / "inputs" / folder / (name + ext)
        if f.is_file():
            return f
    book = pack / "inputs" / folder / WORKBOOK[folder]
    return book if book.is_file() and name in _sheets(book) else None


def input_digests(pack: Path, model_line: str | None) -> dict[str, str]:
    """The SHA-256 gxopt records as ``input_sha256`` (``gxopt/io.py::input_digest``), from ``inputs/``.

    gxopt hashes, in order, the name and bytes of scenario.yaml, model.yaml and each table file. The pack's
    scenario.yaml differs from the file the run read in one line: ``model:`` points at ``../model`` (so
    ``gxopt run inputs/scenario`` reruns it); the original line is put back from ``summary.json``'s
    ``settings.model`` (plain, double- or single-quoted; LF or CRLF). Table files are hashed in gxopt's schema
    order (older gxopt) or by table name (newer). Returns {way: digest} for every such reconstruction.
    """
    yml = pack / "inputs" / "scenario" / "scenario.yaml"
    mod = pack / "inputs" / "model" / "model.yaml"
    if not yml.is_file() or not mod.is_file():
        return {}
    text = yml.read_bytes()
    variants = {"as in the pack": text}
    if model_line is not None:
        for label, line in (("plain", f"model: {model_line}"), ("double-quoted", f'model: "{model_line}"'),
                            ("single-quoted", f"model: '{model_line}'")):
            body = re.sub(rb"(?m)^model:.*$", line.encode("utf-8").replace(b"\\", b"\\\\"), text, count=1)
            variants[f"model line {label}"] = body
            variants[f"model line {label}, CRLF"] = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    orders = {"schema order": list(TABLES), "by table name": sorted(TABLES, key=lambda t: t[1])}
    out = {}
    for order_label, order in orders.items():
        files: list[Path] = []
        for folder, name in order:
            f = _table_file(pack, folder, name)
            if f is not None and f not in files:
                files.append(f)
        for label, body in variants.items():
            h = hashlib.sha256()
            h.update(b"scenario.yaml")
            h.update(body)
            h.update(b"model.yaml")
            h.update(mod.read_bytes())
            for f in files:
                h.update(f.name.encode())
                h.update(f.read_bytes())
            out[f"{label}, tables in {order_label}"] = h.hexdigest()
    return out


def inputs_check(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """The inputs are readable and are those of the run: input SHA-256 and settings against summary.json."""
    f = Found()
    for rule, item, detail in run.load_problems:
        f.add(rule, item, detail)
    summ = run.summary
    recorded = summ.get("input_sha256")
    ss = summ.get("settings") or {}
    digests = input_digests(run.pack, ss.get("model") if isinstance(ss.get("model"), str) else None)
    match = next((way for way, d in digests.items() if d == recorded), None)
    rows = [{"item": "input_sha256", "recorded": recorded, "recomputed": digests.get(
        "model line plain, tables in by table name") if match is None else digests[match], "how": match or "",
        "ok": match is not None}]
    if not recorded:
        f.add("results/summary.json records no input_sha256", "summary.json")
    elif match is None:
        f.add("the SHA-256 of inputs/ differs from results/summary.json input_sha256: the inputs are not the files "
              "the run read (or scenario.yaml's model line cannot be reconstructed, see README)", "inputs/",
              f"recorded {recorded}")
    batches = read(run.pack / "ledger" / "batches.csv")
    if batches and recorded and recorded not in {b.get("input_sha256") for b in batches}:
        f.notes.append("the ledger's batches ran on other inputs than this result folder (input SHA-256 differs); "
                       "its certificates are checked as issued")
    st = run.settings
    if st:
        rule = "results/summary.json states other settings than inputs/scenario/scenario.yaml"
        _same(f, rule, "summary.json", "as_of", str(st.get("as_of")), str(summ.get("as_of")))
        op = st.get("operational_period") if isinstance(st.get("operational_period"), dict) else {}
        sop = ss.get("operational_period") if isinstance(ss.get("operational_period"), dict) else {}
        for k in ("start", "end"):
            _same(f, rule, "summary.json", f"settings.operational_period.{k}", str(op.get(k)), str(sop.get(k)))
        _same(f, rule, "summary.json", "settings.mass_balance.expiry_years", float(run.expiry_years),
              (ss.get("mass_balance") or {}).get("expiry_years"))
        _same(f, rule, "summary.json", "settings.allow_unverified", run.allow_unverified,
              bool(ss.get("allow_unverified")))
        _same(f, rule, "summary.json", "what_if", run.allow_unverified, bool(summ.get("what_if")))
    rows.append({"item": "settings", "recorded": json.dumps(ss, sort_keys=True, default=str),
                 "recomputed": json.dumps(st, sort_keys=True, default=str), "how": "scenario.yaml", "ok": not f})
    return rows, f


# ------------------------------------------------------------------------------------------ 1. REPs


def net_periods(amounts: list[float]) -> tuple[list[float], list[float]]:
    """Net one project's signed period amounts (in time order): (REPs after netting, change by netting).

    A deficit is taken from the latest earlier periods first (most recent first); what is left waits for the
    later periods, which absorb waiting deficits oldest first.
    """
    out = [max(a, 0.0) for a in amounts]
    waiting: list[list[float]] = []  # [deficit t-CO2e, period index]
    for k, a in enumerate(amounts):
        if a < 0:
            need = -a
            for j in range(k - 1, -1, -1):
                take = min(out[j], need)
                if take > 0:
                    out[j] -= take
                    need -= take
                if need <= 0:
                    break
            if need > 0:
                waiting.append([need, k])
        else:
            while waiting and out[k] > 0:
                take = min(out[k], waiting[0][0])
                out[k] -= take
                waiting[0][0] -= take
                if waiting[0][0] <= 0:
                    waiting.pop(0)
    return out, [o - max(a, 0.0) for o, a in zip(out, amounts)]


def rep_calculation(run: Run) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Each pool's REPs step by step from the inputs alone: (rows for the table, exact values per pool)."""
    node_of = {pid: p.get("node", "") for pid, p in run.projects.items()}
    rows = []
    for i, p in enumerate(run.periods):
        try:
            rows.append({"i": i, "project_id": p["project_id"], "node": node_of.get(p["project_id"], ""),
                         "start": day(p["period_start"]), "end": day(p["period_end"]),
                         "B": float(p["baseline_intensity"]), "Q": float(p["output_t"]),
                         "E": float(p["project_emissions_t"]), "u": num(p.get("uncertainty", "")),
                         "ub": num(p.get("baseline_uncertainty", "")), "ue": num(p.get("project_uncertainty", "")),
                         "share_given": num(p.get("attribution_share", ""))})
        except (KeyError, ValueError) as exc:
            run.load_problems.append(("a row of inputs/scenario/project_periods.csv cannot be read",
                                      f"row {i + 2}", str(exc)))
    for k, r in enumerate(rows):
        r["i"] = k
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_node[r["node"]].append(r)
    for group_rows in by_node.values():
        for a in group_rows:
            for b in group_rows:
                if a["i"] < b["i"] and a["project_id"] != b["project_id"] \
                        and a["start"] <= b["end"] and b["start"] <= a["end"]:
                    parent[find(b["i"])] = find(a["i"])
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for k, r in enumerate(rows):
        members[find(k)].append(r)

    def largest(group: list[dict[str, Any]], key: str) -> float | None:
        given = [g[key] for g in group if g[key] is not None]
        return max(given) if given else None

    calc = []
    for k, r in enumerate(rows):
        group = members[find(k)]
        grouped = len({g["project_id"] for g in group}) > 1
        mine = group if grouped else [r]
        u = largest(mine, "u") or 0.0
        ub, ue = largest(mine, "ub"), largest(mine, "ue")
        if grouped:
            share = r["share_given"] if r["share_given"] is not None else 1.0 / len(group)
            share_source = "given" if r["share_given"] is not None else f"equal (1/{len(group)})"
        else:
            share, share_source = 1.0, "single project"
        baseline = r["B"] * r["Q"]
        gross = baseline - r["E"]
        if ub is not None and ue is not None:
            amount = (baseline * (1.0 - ub) - r["E"] * (1.0 + ue)) * share
            rule = "side uncertainties: baseline x (1 - u_b) - project x (1 + u_e)"
            formula = (f"({_n(r['B'])} x {_n(r['Q'])} x (1 - {_n(ub)}) - {_n(r['E'])} x (1 + {_n(ue)})) "
                       f"x {_n(share)}")
        elif gross >= 0:
            amount = gross * (1.0 - u) * share
            rule = "reduction: x (1 - uncertainty)"
            formula = f"({_n(r['B'])} x {_n(r['Q'])} - {_n(r['E'])}) x (1 - {_n(u)}) x {_n(share)}"
        else:
            amount = gross * (1.0 + u) * share
            rule = "increase: x (1 + uncertainty)"
            formula = f"({_n(r['B'])} x {_n(r['Q'])} - {_n(r['E'])}) x (1 + {_n(u)}) x {_n(share)}"
        calc.append({**r, "group": group, "grouped": grouped, "u_applied": u, "ub_applied": ub, "ue_applied": ue,
                     "share": share, "share_source": share_source, "baseline": baseline, "gross": gross,
                     "amount": amount, "rule": rule, "formula": formula})
    by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in calc:
        by_project[c["project_id"]].append(c)
    exact: dict[str, dict[str, float]] = {}
    out = []
    for pid in sorted(by_project):
        seq = sorted(by_project[pid], key=lambda c: c["end"])
        reps, netted = net_periods([c["amount"] for c in seq])
        running = 0.0
        for c, held, change in zip(seq, reps, netted):
            running += c["amount"]
            pool_id = f"{pid}@{c['end'].isoformat()}"
            exact[pool_id] = {"period_reps_t": c["amount"], "netted_t": change, "reps_t": held,
                              "start": c["start"], "end": c["end"], "project_id": pid, "share": c["share"]}
            out.append({
                "pool_id": pool_id, "project_id": pid, "node": c["node"], "period_start": c["start"].isoformat(),
                "period_end": c["end"].isoformat(), "baseline_intensity": c["B"], "output_t": c["Q"],
                "baseline_emissions_t": r6(c["baseline"]), "project_emissions_t": c["E"],
                "gross_reduction_t": r6(c["gross"]), "result": "increase" if c["gross"] < 0 else "reduction",
                "group_6_6": "+".join(sorted({g["project_id"] for g in c["group"]})) if c["grouped"] else "",
                "uncertainty_own": c["u"], "uncertainty_applied": c["u_applied"],
                "baseline_uncertainty_applied": c["ub_applied"], "project_uncertainty_applied": c["ue_applied"],
                "share": c["share"], "share_source": c["share_source"], "rule": c["rule"], "formula": c["formula"],
                "period_reps_t": r6(c["amount"]), "netted_t": r6(change), "reps_t": r6(held),
                "project_cumulative_t": r6(running),
            })
    return out, exact


def check_reps(run: Run, calc: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Found]:
    """Recomputed REPs (signed, netted) against ``results/pools.csv``."""
    pools = run.r_pools
    f = Found()
    rows = []
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            f.add("a pool of the inputs is not in results/pools.csv (6.5)", c["pool_id"])
            continue
        e = run.exact[c["pool_id"]]
        bad = False
        for col, what in (("period_reps_t", "REPs achieved in the period (signed)"),
                          ("netted_t", "change by netting"), ("reps_t", "REPs after netting")):
            if col not in p:
                f.add(f"results/pools.csv has no {col} (older gxopt?)", c["pool_id"])
                bad = True
            elif not _same(f, f"results/pools.csv {col} is not the recomputed {what} (6, 6.5, 6.6)", c["pool_id"],
                           col, e[col], p[col]):
                bad = True
        _same(f, "results/pools.csv share is not the 6.6 attribution share", c["pool_id"], "share", e["share"],
              p.get("share"))
        reported = fnum(p.get("reps_t"))
        rows.append({**c, "reps_t_reported": reported, "difference_t": r6(e["reps_t"] - reported), "match": not bad})
    for pid in sorted(set(pools) - {c["pool_id"] for c in calc}):
        f.add("a pool of results/pools.csv is not in the inputs (project_periods.csv)", pid)
    # what netting guarantees, whatever the order: never below zero, never above the period's own reduction,
    # and a project's pools together hold max(0, the sum of its period amounts)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            continue
        held = fnum(p.get("reps_t"))
        e = run.exact[c["pool_id"]]
        if held < -TOL_ABS:
            f.add("a pool of results/pools.csv holds negative REPs (6.5)", c["pool_id"], f"{held:.6f}")
        if held > max(e["period_reps_t"], 0.0) + TOL_ABS + TOL_REL * abs(held):
            f.add("a pool holds more than its own period's reduction (6.5)", c["pool_id"],
                  f"holds {held:.6f}, period {max(e['period_reps_t'], 0.0):.6f}")
        totals[c["project_id"]][0] += held
        totals[c["project_id"]][1] += e["period_reps_t"]
    for pid, (held, net) in sorted(totals.items()):
        if not close(held, max(net, 0.0), 1e-7):
            f.add("a project's pools do not hold the net of its periods (ch. 6: reductions and increases included)",
                  pid, f"hold {held:.6f}, max(0, {net:.6f})")
    return rows, f


# ----------------------------------------------------------------------------------- 2. eligibility


def project_status(run: Run) -> dict[str, dict[str, Any]]:
    """Eligibility of every project from the inputs (6.2.1.1, 6.2.1.2, 6.3, 6.8): the first rule it fails."""
    out = {}
    for pid, j in run.projects.items():
        node = run.nodes.get(j.get("node", ""), {})
        steel = yes(node.get("steel", ""))
        verified = yes(j.get("verified", ""))
        kind = j.get("kind", "")
        if kind == "external_certificate":
            reason = "an external certificate is never counted as REPs (6.3)"
        elif kind not in ELIGIBLE_KINDS:
            reason = f"kind {kind} is not a process, fuel or raw-material conversion (6.2.1.1, 6.2.1.2)"
        elif not j.get("additionality", ""):
            reason = "no additionality test passed (6.2.1.2)"
        elif not steel:
            reason = f"unit {j.get('node', '')} is not a steel operation (6.2.1.1)"
        elif not verified and not run.allow_unverified:
            reason = "not verified by a third party (6.8)"
        else:
            reason = ""
        out[pid] = {"eligible": reason == "", "certifiable": reason == "" and verified, "reason": reason,
                    "node": j.get("node", ""), "site": node.get("site", ""), "gas": j.get("gas", ""),
                    "verified": verified}
    return out


def eligibility_check(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Project status and pool facts from the inputs, against ``results/pools.csv`` and ``projects.csv``."""
    f = Found()
    run.status = project_status(run)
    used_before: dict[str, float] = defaultdict(float)
    for a in run.account:
        try:
            used_before[pool_key(a["project_id"], a["period_end"])] += float(a["used_t"])
        except (KeyError, ValueError):
            f.add("a row of inputs/scenario/account.csv cannot be read", a.get("project_id", "?"))
    first_start: dict[str, dt.date] = {}
    for e in run.exact.values():
        j = e["project_id"]
        first_start[j] = min(first_start.get(j, e["start"]), e["start"])
    for pid in sorted(set(used_before) - set(run.exact)):
        f.add("inputs/scenario/account.csv names a pool the inputs do not have (7.2.1)", pid)
    rows = []
    for pid, e in sorted(run.exact.items()):
        st = run.status.get(e["project_id"])
        if st is None:
            f.add("a calculation period of a project that is not in projects.csv", pid)
            st = {"eligible": False, "certifiable": False, "reason": "unknown project", "node": "", "site": "",
                  "gas": "", "verified": False}
        ended = e["end"] <= run.as_of
        expires = add_years(e["end"], run.expiry_years)
        before = used_before.get(pid, 0.0)
        pool = {"pool_id": pid, "project_id": e["project_id"], "start": e["start"], "end": e["end"],
                "reps_t": e["reps_t"], "eligible": st["eligible"], "certifiable": st["certifiable"],
                "reason": st["reason"], "ended": ended, "expires": expires, "site": st["site"], "gas": st["gas"],
                "node": st["node"], "used_before_t": before, "available_t": max(e["reps_t"] - before, 0.0),
                "first_start": first_start.get(e["project_id"], e["start"])}
        run.pools[pid] = pool
        r = run.r_pools.get(pid)
        issues_before = f.count()
        if r is not None:
            rule = "results/pools.csv departs from the pool facts of the inputs (6.2.1, 6.3, 6.8, 7.2.2)"
            _same(f, rule, pid, "eligible", st["eligible"], r.get("eligible"))
            _same(f, rule, pid, "certifiable", st["certifiable"], r.get("certifiable"))
            _same(f, rule, pid, "ended", ended, r.get("ended"))
            _same(f, rule, pid, "expires", expires.isoformat(), (r.get("expires") or "")[:10])
            _same(f, rule, pid, "project_id", e["project_id"], r.get("project_id"))
            _same(f, rule, pid, "period_start", e["start"].isoformat(), (r.get("period_start") or "")[:10])
            _same(f, rule, pid, "period_end", e["end"].isoformat(), (r.get("period_end") or "")[:10])
            _same(f, rule, pid, "node", st["node"], r.get("node"))
            _same(f, rule, pid, "site", st["site"], r.get("site"))
            _same(f, rule, pid, "gas", st["gas"], r.get("gas"))
            _same(f, rule, pid, "used_before_t", before, r.get("used_before_t"))
            if "available_t" in r:
                _same(f, rule, pid, "available_t", pool["available_t"], r.get("available_t"))
        rows.append({"pool_id": pid, "project_id": e["project_id"], "eligible": st["eligible"],
                     "certifiable": st["certifiable"], "reason": st["reason"], "ended": ended,
                     "expires": expires.isoformat(), "site": st["site"], "gas": st["gas"],
                     "used_before_t": r6(before), "ok": f.count() == issues_before})
    for pid, st in sorted(run.status.items()):
        r = run.r_projects.get(pid)
        if r is None:
            f.add("a project of the inputs is not in results/projects.csv", pid)
            continue
        rule = "results/projects.csv departs from the project's eligibility under the inputs (6.2.1, 6.3, 6.8)"
        _same(f, rule, pid, "eligible", st["eligible"], r.get("eligible"))
        _same(f, rule, pid, "certifiable", st["certifiable"], r.get("certifiable"))
        held = sum(p["reps_t"] for p in run.pools.values() if p["project_id"] == pid)
        _same(f, "results/projects.csv reps_t is not the sum of the project's pools (6.5)", pid, "reps_t", held,
              r.get("reps_t"))
    for pid in sorted(set(run.r_projects) - set(run.status)):
        f.add("a project of results/projects.csv is not in the inputs", pid)
    return rows, f


# ------------------------------------------------------------------------------- 3. physical connection


def parse_evidence(evidence: str) -> tuple[list[str], list[str]]:
    """(units, kinds) of an evidence path: ``kinds[i]`` is the kind of the step ``units[i] -> units[i+1]``.

    ``A > B`` is a material step (the product's own line); ``A -input-> B`` and ``A -utility-> B`` are feeder
    steps; any other ``-word->`` is returned as that word (and then reported: only these kinds connect).
    """
    parts = _STEP.split(evidence)
    return parts[0::3], ["material" if m else str(k) for m, k in zip(parts[1::3], parts[2::3])]


def _arrow(kind: str) -> str:
    return ">" if kind == "material" else f"-{kind}->"


def _routes(run: Run) -> dict[str, list[str]]:
    return {k: [n.strip() for n in p.get("route", "").split(">")] for k, p in run.products.items()}


def connected_pairs(run: Run) -> set[tuple[str, str]]:
    """(project, product) pairs physically connected by the plant model: the project's unit is on the
    product's route, or reaches a route unit through input/utility edges (by-product edges never count)."""
    feed: dict[str, set[str]] = defaultdict(set)
    for e in run.edges:
        if e.get("kind") in FEED_KINDS:
            feed[e["source"]].add(e["target"])
    routes = _routes(run)
    out = set()
    for j, p in run.projects.items():
        seen: set[str] = set()
        todo = deque([p.get("node", "")])
        while todo:
            n = todo.popleft()
            for m in feed.get(n, ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        for product, route in routes.items():
            if p.get("node", "") in route or seen.intersection(route):
                out.add((j, product))
    return out


def crude_steel_site(run: Run, product_id: str) -> str:
    """Site where the product's crude steel is made: the site of its route's steelmaking unit (BOF, EAF, ...),
    else of its first unit (SteelZero's site-level link)."""
    route = _routes(run).get(product_id, [])
    unit = next((u for u in route if run.nodes.get(u, {}).get("process") in STEELMAKING), route[0] if route else "")
    return run.nodes.get(unit, {}).get("site", "")


def connection_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Each physical-connection path of the allocation lines and of connections.csv, step by step, and the
    connected pairs recomputed from the edges (kept in ``run.connected``)."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in run.edges:
        edges[(e.get("source", ""), e.get("target", ""))].add(e.get("kind", ""))
    node_of = {j: p.get("node", "") for j, p in run.projects.items()}
    routes = _routes(run)
    items = [("allocation", f"{ln.get('order_id')} <- {ln.get('pool_id')}", ln.get("project_id", ""),
              ln.get("product_id", ""), ln.get("evidence", "")) for ln in run.lines]
    items += [("connection", f"{c.get('project_id')} -> {c.get('product_id')}", c.get("project_id", ""),
               c.get("product_id", ""), c.get("evidence", "")) for c in run.r_connections]
    f = Found()
    rows = []
    for source, what, project, product, evidence in items:
        nodes, kinds = parse_evidence(evidence)
        route = routes.get(product, [])
        node = node_of.get(project, "")
        issues: list[tuple[str, str]] = []
        if not nodes or nodes[0] != node:
            issues.append(("an evidence path does not start at the project's unit (6.7)", f"starts at {nodes[0]}, "
                           f"the project's unit is {node}" if nodes else "empty"))
        if not route or nodes[-1] != route[-1]:
            issues.append(("an evidence path does not end at the product's last unit (6.7)", f"'{evidence}'"))
        step_text = []
        for u, v, k in zip(nodes, nodes[1:], kinds):
            there = edges.get((u, v), set())
            ok = k in STEP_KINDS and k in there
            step_text.append(f"{u} {_arrow(k)} {v} [{k} edge {'found' if ok else 'MISSING'}]")
            if k == "byproduct":
                issues.append(("an evidence step is a by-product flow, which never connects (6.7, 7.2.3)",
                               f"step {u} -> {v} is a by-product flow, which never connects"))
            elif k not in STEP_KINDS:
                issues.append(("an evidence step has an unknown kind (6.7)", f"step {u} -> {v} of kind '{k}'"))
            elif not ok:
                issues.append((("an evidence step is not an edge of inputs/model/edges.csv of the kind it states "
                                "(6.7, 7.2.3)"), f"no {k} edge {u} -> {v} in edges.csv"
                               + (f" (only {', '.join(sorted(there))}; by-product edges never connect)"
                                  if there else "")))
        line_at = next((i for i, k in enumerate(kinds) if k == "material"), len(kinds))
        if any(k != "material" for k in kinds[line_at:]):
            issues.append((("an evidence path has a feeder step after the route part began: input/utility steps "
                            "only lead to the line (6.7)"), f"'{evidence}'"))
        line = nodes[line_at:]
        if not (line and route and line[0] in route and line == route[route.index(line[0]):]):
            issues.append((("the route part of an evidence path is not the product's route down to its last unit "
                            "(6.7)"), f"'{evidence}'"))
        for rule, detail in issues:
            f.add(rule, f"{source} {what}", detail)
        rows.append({"source": source, "item": what, "project_id": project, "project_node": node,
                     "product_id": product, "route": " > ".join(route), "evidence": evidence,
                     "feeders": ", ".join(sorted({k for k in kinds[:line_at]})) or "none",
                     "steps": " | ".join(step_text) or "(project unit is the last unit)",
                     "valid": not issues, "issues": "; ".join(d for _r, d in issues)})
    run.connected = connected_pairs(run)
    reported = {(c.get("project_id", ""), c.get("product_id", "")) for c in run.r_connections}
    for j, k in sorted(run.connected - reported):
        f.add("a physically connected pair is missing from connections.csv (its production would be left out of "
              "the REP term, 6.7)", f"{j} -> {k}")
    for j, k in sorted(reported - run.connected):
        f.add("connections.csv holds a pair that is not connected through the product's line or its input/utility "
              "feeders (6.7)", f"{j} -> {k}")
    return rows, f


# ------------------------------------------------------------------------------------------ 4. products


def product_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """The REPs reflected in each General CFP per tonne (7.3.3) and every CFP term, from the inputs alone;
    compared with ``results/products.csv`` and the pools' ``in_cfps_t``. Fills ``run.prod`` and ``run.added``."""
    raw = run.products
    f = Found()
    production = {k: fnum(p.get("production_t")) for k, p in raw.items()}
    prod_j: dict[str, float] = defaultdict(float)
    for j, k in run.connected:
        prod_j[j] += production.get(k, 0.0)
    term: dict[str, float] = defaultdict(float)
    added: dict[str, float] = defaultdict(float)
    parts: dict[str, list[str]] = defaultdict(list)
    for pid, p in sorted(run.pools.items()):
        if not p["eligible"]:
            continue
        j, start, end = p["project_id"], p["start"], p["end"]
        for k in sorted(k for jj, k in run.connected if jj == j and k in raw):
            cs, ce = oday(raw[k].get("cfp_period_start")), oday(raw[k].get("cfp_period_end"))
            if cs is None or ce is None:
                continue
            inside = days(max(start, cs), min(end, ce))
            if not inside or not prod_j[j]:
                continue
            per_t = p["reps_t"] * inside / days(start, end) / prod_j[j]
            term[k] += per_t
            added[pid] += per_t * production[k]
            parts[k].append(f"{pid}: {_n(p['reps_t'])} x {inside}/{days(start, end)} / {_n(prod_j[j])}")
    rows = []
    for k, p in raw.items():
        s1, s2 = fnum(p.get("scope1")), fnum(p.get("scope2"))
        s3u, s3a = fnum(p.get("scope3_upstream")), fnum(p.get("scope3_allocable"))
        general = fnum(p.get("general_cfp"))
        t = term.get(k, 0.0)
        end = oday(p.get("cfp_period_end"))
        justified = bool(p.get("data_age_justification", ""))
        m = {"production_t": production[k], "general_cfp": general, "rep_term": t,
             "residual_cfp": general + t, "non_gx_cfp": general + t,
             "mb_cap_cfp": s1 + s2 + t, "subject_cfp": s1 + s2 + s3a + t, "non_allocable": s3u - s3a,
             "scope1": s1, "scope2": s2, "scope3_upstream": s3u, "scope3_allocable": s3a,
             "cfp_data_usable": (end is not None and add_years(end, DATA_AGE_YEARS) >= run.as_of) or justified,
             "cfp_start": oday(p.get("cfp_period_start")), "cfp_end": end,
             "crude_steel_site": crude_steel_site(run, k)}
        run.prod[k] = m
        r = run.r_products.get(k)
        before = f.count()
        if r is None:
            f.add("a product of the inputs is not in results/products.csv", k)
        else:
            for col, rule in (
                    ("general_cfp", ("results/products.csv general_cfp is not the General CFP of "
                                     "inputs/model/products.csv (5, 8.3.3)")),
                    ("production_t", "results/products.csv production_t is not that of the inputs (8.3.2)"),
                    ("rep_term", ("results/products.csv rep_term is not the recomputed 7.3.3 correction (7.3.3, "
                                  "8.3.2)")),
                    ("residual_cfp", "results/products.csv residual_cfp is not General CFP + rep_term (8.3.2)"),
                    ("non_gx_cfp", "results/products.csv non_gx_cfp is not General CFP + rep_term (7.3.3)"),
                    ("mb_cap_cfp", "results/products.csv mb_cap_cfp is not scope 1 + scope 2 + rep_term (7.3.2)"),
                    ("subject_cfp", ("results/products.csv subject_cfp is not scope 1 + 2 + allocable scope 3 + "
                                     "rep_term (8.1.1, 8.3.2)")),
                    ("non_allocable", ("results/products.csv non_allocable is not upstream less allocable scope 3 "
                                       "(8.1.2)")),
                    ("scope1", "results/products.csv states other scopes than the inputs (5.2.4)"),
                    ("scope2", "results/products.csv states other scopes than the inputs (5.2.4)"),
                    ("scope3_upstream", "results/products.csv states other scopes than the inputs (5.2.4)"),
                    ("scope3_allocable", "results/products.csv states other scopes than the inputs (8.1.2)")):
                if col not in r:
                    if col in ("general_cfp", "rep_term", "residual_cfp", "non_gx_cfp", "mb_cap_cfp", "subject_cfp",
                               "non_allocable"):
                        f.add(f"results/products.csv has no {col}", k)
                    continue
                _same(f, rule, k, col, m[col], r[col])
            if "cfp_data_usable" in r:
                _same(f, "results/products.csv cfp_data_usable departs from the CFP data age (5.2.2)", k,
                      "cfp_data_usable", m["cfp_data_usable"], r["cfp_data_usable"])
            if "crude_steel_site" in r:
                _same(f, "results/products.csv crude_steel_site is not the site of the route's steelmaking unit", k,
                      "crude_steel_site", m["crude_steel_site"], r["crude_steel_site"])
        rows.append({"product_id": k, "production_t": production[k], "general_cfp": general,
                     "rep_term_recomputed": r6(t), "rep_term_reported": num((r or {}).get("rep_term")),
                     "rep_term_parts": "; ".join(parts.get(k, [])) or "no connected pool inside the CFP period",
                     "non_gx_cfp_recomputed": r6(m["non_gx_cfp"]), "mb_cap_cfp_recomputed": r6(m["mb_cap_cfp"]),
                     "subject_cfp_recomputed": r6(m["subject_cfp"]), "cfp_data_usable": m["cfp_data_usable"],
                     "ok": f.count() == before})
    for k in sorted(set(run.r_products) - set(raw)):
        f.add("a product of results/products.csv is not in the inputs", k)
    run.added = dict(added)
    for pid, p in sorted(run.r_pools.items()):
        if pid not in run.pools:
            continue
        want = added.get(pid, 0.0)
        if "in_cfps_t" in p:
            _same(f, "results/pools.csv in_cfps_t is not the recomputed part of the pool reflected in CFPs (7.3.3, "
                     "8.3.1)", pid, "in_cfps_t", want, p["in_cfps_t"], 1e-7)
        if "alloc_limit_t" in p:
            _same(f, "results/pools.csv alloc_limit_t is not in_cfps - used before (8.1, 8.3.1)", pid,
                  "alloc_limit_t", max(want - run.pools[pid]["used_before_t"], 0.0), p["alloc_limit_t"], 1e-7)
    return rows, f


# ------------------------------------------------------------------------------- 5. allocation lines


def line_rules(run: Run, order: dict[str, str], pool: dict[str, Any]) -> list[str]:
    """The rules a (pool, order) pair breaks (empty: the pool may feed the order)."""
    k = order.get("product_id", "")
    alloc = order.get("method") == "allocation"
    pr = run.prod.get(k)
    out = []
    if not pool["eligible"]:
        out.append(f"a line draws on a project that is not eligible: {pool['reason']}")
    if not pool["ended"]:
        out.append("a line draws on a pool whose calculation period had not ended by as_of: only verified REPs of "
                   "an ended period may be used (6.2.2.2, 6.8, 7.2.1)")
    if (pool["project_id"], k) not in run.connected:
        out.append("a line draws on a project not physically connected to the product (6.7, 7.2.3, 8.2.4)")
    gas = order.get("gas", "")
    if gas and gas != pool["gas"]:
        out.append("a line's gas type differs from what the order asks for (7.3.1)")
    if pr is None:
        out.append("a line is for a product that is not in the plant model")
        return out
    if not pr["cfp_data_usable"]:
        out.append("a line on a product whose CFP data ended more than five years before as_of without a "
                   "data_age_justification (5.2.2)")
    delivery = oday(order.get("delivery_date"))
    if not alloc:
        if delivery is None or pool["expires"] < delivery or pool["expires"] < run.as_of:
            out.append("GX Mass Balance from a pool that expired before the delivery or the run date (7.2.2)")
    else:
        if pr["cfp_end"] is not None and pr["cfp_end"] < pool["first_start"]:
            out.append("GX Allocation on a CFP calculated from data before the project started (ch. 4, 8.2.2)")
        if pr["cfp_start"] is None or pr["cfp_end"] is None or \
                not days(max(pool["start"], pr["cfp_start"]), min(pool["end"], pr["cfp_end"])):
            out.append("GX Allocation from a pool with no day inside the product's CFP data period (8.2.2)")
        if delivery is None or not run.op_start <= delivery <= run.op_end:
            out.append("GX Allocation delivered outside the operational period (8.2.3)")
        if run.as_of > run.op_end:
            out.append("GX Allocation after the operational period ended (8.2.3)")
    return out


def line_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Every allocation line may feed its order (inputs), and its copies of order and pool facts are right."""
    f = Found()
    rows = []
    for ln in run.lines:
        oid, pid = ln.get("order_id", ""), ln.get("pool_id", "")
        item = f"{oid} <- {pid}"
        before = f.count()
        o = run.orders.get(oid)
        p = run.pools.get(pid)
        if o is None:
            f.add("a line is for an order that is not in inputs/scenario/orders.csv", item)
        if p is None:
            f.add("a line draws on a pool that the inputs do not have (6.5)", item)
        reps = fnum(ln.get("reps_t"))
        if reps < -TOL_ABS:
            f.add("a line has negative REPs", item, f"{reps:.6f}")
        if o is not None and p is not None:
            for rule in line_rules(run, o, p):
                f.add(rule, item)
            rule = "results/allocations.csv copies other order or pool facts than the inputs"
            _same(f, rule, item, "product_id", o.get("product_id", ""), ln.get("product_id"))
            _same(f, rule, item, "method", o.get("method", ""), ln.get("method"))
            _same(f, rule, item, "project_id", p["project_id"], ln.get("project_id"))
            _same(f, rule, item, "period_start", p["start"].isoformat(), (ln.get("period_start") or "")[:10])
            _same(f, rule, item, "period_end", p["end"].isoformat(), (ln.get("period_end") or "")[:10])
            _same(f, rule, item, "gas", p["gas"], ln.get("gas"))
            pr = run.prod.get(o.get("product_id", ""))
            if pr is not None and "same_site" in ln:
                _same(f, "results/allocations.csv same_site is not the pool's site against the product's crude-steel "
                         "site (SteelZero site link)", item, "same_site", p["site"] == pr["crude_steel_site"],
                      ln.get("same_site"))
            if "certifiable" in ln:
                _same(f, "results/allocations.csv certifiable is not 'the project is third-party verified' (6.8)",
                      item, "certifiable", p["certifiable"], ln.get("certifiable"))
        rows.append({"order_id": oid, "pool_id": pid, "product_id": ln.get("product_id", ""),
                     "method": ln.get("method", ""), "reps_t": reps, "ok": f.count() == before})
    return rows, f


# ------------------------------------------------------------------------------------- 6. pool use


def pool_use(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Each pool's use and remaining balance from the account and the allocation lines; GX Allocation within
    the part of the pool reflected in CFPs."""
    f = Found()
    drawn: dict[tuple[str, str], float] = defaultdict(float)
    for ln in run.lines:
        drawn[(ln.get("pool_id", ""), ln.get("method", ""))] += fnum(ln.get("reps_t"))
    rows = []
    for pid, p in sorted(run.pools.items()):
        reps = p["reps_t"]
        before = p["used_before_t"]
        mb, al = drawn[(pid, "mass_balance")], drawn[(pid, "allocation")]
        used = before + mb + al
        remaining = reps - used
        r = run.r_pools.get(pid, {})
        bad = False
        for col, mine in (("used_run_t", mb + al), ("used_t", used), ("remaining_t", remaining),
                          ("used_mass_balance_t", mb), ("used_allocation_t", al)):
            if col in r and not _same(f, f"results/pools.csv {col} departs from the account and the allocation "
                                         "lines (7.2.1, 7.3.1, 8.2.1)", pid, col, mine, r[col]):
                bad = True
        overdrawn = used > reps + TOL_ABS + TOL_REL * reps
        if overdrawn:
            f.add("a pool is overdrawn: used before + drawn by this run > its REPs (7.2.1, 7.3.1, 8.2.1)", pid,
                  f"{used:.6f} used of {reps:.6f}")
        limit = run.added.get(pid, 0.0) - before
        if al > TOL_ABS and al > limit + TOL_ABS + TOL_REL * abs(limit):
            f.add("GX Allocation moved more than the part of the pool reflected in residual CFPs less earlier use: "
                  "total emissions would fall (8.1, 8.3.1)", pid, f"moved {al:.6f}, limit {limit:.6f}")
        rows.append({"pool_id": pid, "reps_t": r6(reps), "used_before_t": r6(before), "used_mass_balance_t": r6(mb),
                     "used_allocation_t": r6(al), "used_t": r6(used), "remaining_t": r6(remaining),
                     "reconciles": not bad and not overdrawn, "overdrawn": overdrawn,
                     "usable": p["eligible"] and p["ended"],
                     "identity": "REPs = used before + mass balance + allocation + remaining"})
    for pid, _m in sorted(drawn):
        if pid not in run.pools:
            f.add("an allocation line draws on an unknown pool", pid)
    return rows, f


# ----------------------------------------------------------------------------------------- 7. orders


def order_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Each order of the inputs: its lines, cap, alpha, CFPs and status, recomputed; against ``orders.csv``.
    Fills ``run.order_calc``."""
    f = Found()
    lines_of: dict[str, list[dict[str, str]]] = defaultdict(list)
    for ln in run.lines:
        lines_of[ln.get("order_id", "")].append(ln)
    usable = [p for p in run.pools.values() if p["eligible"] and p["ended"] and p["available_t"] > 0]
    can_feed: dict[tuple[Any, ...], bool] = {}
    rows = []
    for oid, o in sorted(run.orders.items()):
        r = run.r_orders.get(oid)
        k = o.get("product_id", "")
        pr = run.prod.get(k)
        before = f.count()
        if pr is None:
            f.add("an order's product is not in the plant model", oid)
            continue
        alloc = o.get("method") == "allocation"
        tonnage = fnum(o.get("tonnage_t"))
        reps = sum(fnum(ln.get("reps_t")) for ln in lines_of.get(oid, []))
        full = pr["subject_cfp"] if alloc else pr["mb_cap_cfp"]
        amax = num(o.get("alpha_max")) if alloc and num(o.get("alpha_max")) is not None else 1.0
        cap_per_t = amax * full
        cap = tonnage * cap_per_t
        requested = num(o.get("requested_reps_t"))
        if requested is not None:
            cap = min(cap, requested)
        alpha = reps / (tonnage * full) if full > 0 and tonnage > 0 else 0.0
        basis = pr["general_cfp"] + pr["rep_term"]
        allocated = pr["subject_cfp"] * (1 - alpha) + pr["non_allocable"]
        claimed = allocated if alloc else basis - (reps / tonnage if tonnage else 0.0)
        certifiable = reps > 0 and all(run.pools.get(ln.get("pool_id", ""), {}).get("certifiable", False)
                                       for ln in lines_of.get(oid, []))
        # status: ineligible when no pool may feed it at all (or its product or the operational period rule it out)
        key = (k, o.get("method"), o.get("gas", ""), o.get("delivery_date", ""))
        if key not in can_feed:
            can_feed[key] = any(not line_rules(run, o, p) for p in usable)
        feeding = can_feed[key]
        ineligible = not pr["cfp_data_usable"] or not feeding or not cap > 0 or (
            alloc and (oday(o.get("delivery_date")) is None or not run.op_start <= oday(o.get("delivery_date"))
                       <= run.op_end or run.as_of > run.op_end))
        status = ("ineligible" if ineligible else "filled" if reps >= cap - FILL_TOL * max(1.0, cap)
                  else "partial" if reps > 0 else "unfilled")
        calc = {"order_id": oid, "customer": o.get("customer", ""), "product_id": k, "method": o.get("method", ""),
                "tonnage_t": tonnage, "reps_t": reps, "reps_per_t": reps / tonnage if tonnage else 0.0,
                "cap_per_t": cap_per_t, "cap_t": cap, "alpha": alpha, "gx_tonnage_t": alpha * tonnage,
                "general_cfp": pr["general_cfp"], "rep_term": pr["rep_term"], "basis_cfp": basis,
                "residual_cfp": basis if alloc else None, "allocated_cfp": allocated if alloc else None,
                "claimed_cfp": claimed, "certifiable": certifiable, "status": status,
                "lines": sorted((ln.get("pool_id", ""), fnum(ln.get("reps_t"))) for ln in lines_of.get(oid, [])),
                "value": reps * fnum(o.get("premium"))}
        run.order_calc[oid] = calc
        if reps > cap + TOL_ABS + TOL_REL * cap:
            f.add("an order has more REPs than its cap: mass balance scope 1 + 2 + rep_term per t (7.3.2), GX "
                  "Allocation alpha_max x subject part (8.3.2), and requested_reps_t", oid,
                  f"REPs {reps:.6f}, cap {cap:.6f}")
        if not -1e-9 <= alpha <= 1 + 1e-6:
            f.add("an order's alpha is outside [0, 1] (8.1.1)", oid, f"{alpha:.6f}")
        if reps > 0 and ineligible and not pr["cfp_data_usable"]:
            f.add("REPs on a product whose CFP data is older than five years without a justification (5.2.2)", oid)
        if r is None:
            f.add("an order of the inputs is not in results/orders.csv", oid)
        else:
            same = "results/orders.csv copies other order facts than inputs/scenario/orders.csv"
            for col in ("customer", "product_id", "method"):
                _same(f, same, oid, col, o.get(col, ""), r.get(col))
            _same(f, same, oid, "tonnage_t", tonnage, r.get("tonnage_t"))
            _same(f, same, oid, "delivery_date", (o.get("delivery_date") or "")[:10], (r.get("delivery_date") or "")[:10])
            _same(f, same, oid, "gas", o.get("gas", ""), r.get("gas"))
            if "premium" in r:
                _same(f, same, oid, "premium", fnum(o.get("premium")), r.get("premium"))
            if "requested_reps_t" in r:
                _same(f, same, oid, "requested_reps_t", requested, r.get("requested_reps_t") or None)
            if alloc and "alpha_max" in r:
                _same(f, same, oid, "alpha_max", amax, r.get("alpha_max"))
            _same(f, "results/orders.csv reps_t is not the sum of the order's allocation lines", oid, "reps_t", reps,
                  r.get("reps_t"))
            _same(f, "results/orders.csv cap_per_t is not " + ("alpha_max x (scope 1 + 2 + allocable scope 3 + "
                                                                "rep_term) (8.3.2)" if alloc else
                                                                "scope 1 + scope 2 + rep_term (7.3.2)"),
                  oid, "cap_per_t", cap_per_t, r.get("cap_per_t"))
            _same(f, "results/orders.csv cap_t is not tonnage x cap per t, at most requested_reps_t (7.3.2, 8.3.2)",
                  oid, "cap_t", cap, r.get("cap_t"))
            if abs(alpha - fnum(r.get("alpha"))) > 2e-6:  # both sides carry 6-decimal rounding
                f.add("results/orders.csv alpha is not REPs / (tonnage x full cap per t) (8.1.1)", oid,
                      f"reported {fnum(r.get('alpha')):.6f}, recomputed {alpha:.6f}")
            if abs(alpha * tonnage - fnum(r.get("gx_tonnage_t"))) > 1e-3 + 1e-6 * tonnage:
                f.add("results/orders.csv gx_tonnage_t is not alpha x tonnage (8.1.1)", oid,
                      f"reported {fnum(r.get('gx_tonnage_t')):.6f}, recomputed {alpha * tonnage:.6f}")
            _same(f, "results/orders.csv general_cfp is not the product's General CFP of the inputs (8.3.3)", oid,
                  "general_cfp", pr["general_cfp"], r.get("general_cfp"))
            for col, want in (("rep_term", pr["rep_term"]), ("basis_cfp", basis)):
                if col not in r:
                    f.add(f"results/orders.csv has no {col}", oid)
                else:
                    _same(f, f"results/orders.csv {col} is not the recomputed {col} (7.3.3)", oid, col, want, r[col])
            if alloc:
                for col, want in (("residual_cfp", basis), ("allocated_cfp", allocated)):
                    if abs(want - fnum(r.get(col), float("nan"))) > 1e-5 or r.get(col) in (None, ""):
                        f.add("results/orders.csv Residual/Allocated CFP do not follow 8.1.1", oid,
                              f"{col}: reported {_f(r.get(col))}, recomputed {want:.6f}")
            if r.get("claimed_cfp") in (None, ""):
                f.add("results/orders.csv has no claimed_cfp", oid)
            elif abs(claimed - fnum(r.get("claimed_cfp"))) > 2e-5:
                f.add("results/orders.csv claimed_cfp is not " + ("the Allocated CFP (8.1.1)" if alloc else
                                                                   "basis - REPs per t (7.3.3)"), oid,
                      f"claimed_cfp: reported {fnum(r.get('claimed_cfp')):.6f}, recomputed {claimed:.6f}"
                      + ("" if alloc else f" = {basis:.6f} - {calc['reps_per_t']:.6f}"))
            if "reps_per_t" in r:
                _same(f, "results/orders.csv reps_per_t is not REPs / tonnage", oid, "reps_per_t", calc["reps_per_t"],
                      r.get("reps_per_t"))
            if "certifiable" in r:
                _same(f, "results/orders.csv certifiable is not 'served, from third-party verified pools only' (6.8)",
                      oid, "certifiable", certifiable, r.get("certifiable"))
            if "status" in r and r.get("status") != status:
                f.add("results/orders.csv status departs from the recomputed one (ineligible when no pool may feed "
                      "the order; filled at the cap)", oid, f"reported {r.get('status')}, recomputed {status}")
            if "allocated_above_general" in r:
                _same(f, "results/orders.csv allocated_above_general is not 'Allocated CFP above the General CFP'",
                      oid, "allocated_above_general", alloc and reps > 0 and allocated > pr["general_cfp"] + 1e-9,
                      r.get("allocated_above_general"))
        rows.append({"order_id": oid, "method": o.get("method", ""), "product_id": k, "tonnage_t": tonnage,
                     "lines_sum_t": r6(reps), "reps_t_reported": num((r or {}).get("reps_t")), "cap_t": r6(cap),
                     "cap_per_t": r6(cap_per_t), "alpha_recomputed": r6(alpha),
                     "alpha_reported": num((r or {}).get("alpha")), "basis_cfp_recomputed": r6(basis),
                     "residual_cfp_recomputed": r6(basis) if alloc else None,
                     "allocated_cfp_recomputed": r6(allocated) if alloc else None,
                     "claimed_cfp_recomputed": r6(claimed), "claimed_cfp_reported": num((r or {}).get("claimed_cfp")),
                     "status_recomputed": status, "ok": f.count() == before})
    for oid in sorted(set(run.r_orders) - set(run.orders)):
        f.add("an order of results/orders.csv is not in the inputs", oid)
    for oid in sorted(set(lines_of) - set(run.orders)):
        f.add("allocation lines for an order that is not in the inputs", oid)
    return rows, f


# ------------------------------------------------------------------------------------------ 8. claims


def claims_check(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Buyers' claims across both methods against the organization's actual emissions (7.3.3, 8.1, 8.3.1),
    the product totals and the summary's totals, all from the recomputed values."""
    f = Found()
    gx_t: dict[str, float] = defaultdict(float)
    gx_claims: dict[str, float] = defaultdict(float)
    alloc_reps: dict[str, float] = defaultdict(float)
    mb_reps: dict[str, float] = defaultdict(float)
    for c in run.order_calc.values():
        if c["reps_t"] > 0:
            gx_t[c["product_id"]] += c["tonnage_t"]
            gx_claims[c["product_id"]] += c["tonnage_t"] * c["claimed_cfp"]
        (alloc_reps if c["method"] == "allocation" else mb_reps)[c["product_id"]] += c["reps_t"]
    rows = []
    total_claims = total_general = total_basis = 0.0
    for k, m in sorted(run.prod.items()):
        claims_k = gx_claims[k] + m["non_gx_cfp"] * (m["production_t"] - gx_t[k])
        general_k = m["production_t"] * m["general_cfp"]
        total_claims += claims_k
        total_general += general_k
        total_basis += m["production_t"] * m["residual_cfp"]
        m.update({"gx_order_t": gx_t[k], "claims_gx_t": gx_claims[k], "claims_t": claims_k,
                  "emissions_general_t": general_k, "allocated_reps_t": alloc_reps[k], "mb_reps_t": mb_reps[k]})
        r = run.r_products.get(k, {})
        before = f.count()
        for col, want in (("gx_order_t", gx_t[k]), ("claims_gx_t", gx_claims[k]), ("claims_t", claims_k),
                          ("emissions_general_t", general_k), ("allocated_reps_t", alloc_reps[k]),
                          ("mb_reps_t", mb_reps[k]),
                          ("emissions_residual_t", m["production_t"] * m["residual_cfp"]),
                          ("emissions_after_allocation_t", m["production_t"] * m["residual_cfp"] - alloc_reps[k])):
            if col in r:
                _same(f, f"results/products.csv {col} departs from the recomputed claims (7.3.3, 8.1)", k, col, want,
                      r[col], 1e-7)
        rows.append({"item": k, "production_t": m["production_t"], "gx_order_t": r6(gx_t[k]),
                     "claims_gx_t": r6(gx_claims[k]), "non_gx_cfp": r6(m["non_gx_cfp"]), "claims_t": r6(claims_k),
                     "emissions_general_t": r6(general_k), "ok": f.count() == before})
    ended = [p for p in run.pools.values() if p["eligible"] and p["ended"]]
    before_t = sum(p["used_before_t"] for p in ended)
    not_in = sum(p["reps_t"] - run.added.get(p["pool_id"], 0.0) for p in ended)
    in_cfps = sum(run.added.get(p["pool_id"], 0.0) for p in run.pools.values() if p["eligible"])
    drawn = sum(fnum(ln.get("reps_t")) for ln in run.lines)
    claims = total_claims - before_t
    actual = total_general - not_in
    margin = claims - actual
    mine = {"emissions_general_t": total_general, "reps_in_cfps_t": in_cfps, "emissions_basis_t": total_basis,
            "reps_claimed_run_t": drawn, "reps_claimed_before_t": before_t, "claims_t": claims,
            "reps_not_in_cfps_t": not_in, "actual_emissions_t": actual, "claims_margin_t": margin}
    run.claims = mine
    ok = margin >= -(1e-3 + 1e-7 * abs(actual))
    if not ok:
        f.add("buyers may claim less than the organization's actual emissions: counted twice (7.3.3, 8.1, 8.3.1)",
              "claims", f"claims {claims:,.3f} - actual {actual:,.3f} = {margin:,.3f} t-CO2e")
    given = run.summary.get("claims") or {}
    if not given:
        f.add("results/summary.json has no claims block", "summary.json")
    for key, want in mine.items():
        if key in given:
            t = fnum(given[key], float("nan"))
            if not (abs(want - t) <= 1e-3 + 1e-7 * max(abs(want), abs(t))):
                f.add("results/summary.json claims departs from the recomputed claims identity (7.3.3, 8.1, 8.3.1)",
                      f"claims.{key}", f"reported {t:,.3f}, recomputed {want:,.3f}")
    tot = run.summary.get("totals") or {}
    usable = [p for p in run.pools.values() if p["eligible"] and p["ended"]]
    value = sum(c["value"] for c in run.order_calc.values())
    statuses: dict[str, int] = defaultdict(int)
    for c in run.order_calc.values():
        statuses[c["status"]] += 1
    for key, want in (("pools", float(len(run.pools))), ("usable_pools", float(len(usable))),
                      ("reps_t", sum(p["reps_t"] for p in run.pools.values())),
                      ("usable_available_t", sum(p["available_t"] for p in usable)), ("used_run_t", drawn),
                      ("orders", float(len(run.orders))), ("value", value),
                      ("emissions_general_t", total_general),
                      ("emissions_after_allocation_t", total_basis - sum(alloc_reps.values()))):
        if key in tot:
            t = fnum(tot[key], float("nan"))
            if not (abs(want - t) <= 1e-3 + 1e-7 * max(abs(want), abs(t))):
                f.add("results/summary.json totals depart from the recomputed run", f"totals.{key}",
                      f"reported {t:,.3f}, recomputed {want:,.3f}")
    if isinstance(tot.get("orders_by_status"), dict) and dict(statuses) != {k: int(v) for k, v in
                                                                            tot["orders_by_status"].items()}:
        f.add("results/summary.json totals depart from the recomputed run", "totals.orders_by_status",
              f"reported {tot['orders_by_status']}, recomputed {dict(sorted(statuses.items()))}")
    by = run.summary.get("by_method") or {}
    for m in ("mass_balance", "allocation"):
        cs = [c for c in run.order_calc.values() if c["method"] == m]
        for key, want in (("orders", float(len(cs))), ("served", float(sum(c["reps_t"] > 0 for c in cs))),
                          ("reps_t", sum(c["reps_t"] for c in cs)), ("gx_tonnage_t", sum(c["gx_tonnage_t"] for c in cs)),
                          ("value", sum(c["value"] for c in cs))):
            if key in (by.get(m) or {}):
                t = fnum(by[m][key], float("nan"))
                if not (abs(want - t) <= 1e-3 + 1e-7 * max(abs(want), abs(t))):
                    f.add("results/summary.json by_method departs from the recomputed orders", f"by_method.{m}.{key}",
                          f"reported {t:,.3f}, recomputed {want:,.3f}")
    rows.append({"item": "TOTAL", "emissions_general_t": r6(total_general), "claims_t": r6(claims), "ok": ok,
                 "issues": (f"claims {claims:,.3f} - actual {actual:,.3f} = margin {margin:,.3f} "
                            f"(REPs claimed before {before_t:,.3f}; verified REPs in no CFP {not_in:,.3f})")})
    return rows, f


# ------------------------------------------------------------------------------------ 9. certificates


CERT_NUMBERS = ("tonnage_t", "reps_t", "reps_per_t", "general_cfp", "rep_term", "basis_cfp", "residual_cfp",
                "allocated_cfp", "alpha", "gx_tonnage_t", "claimed_cfp")


def _documents(run: Run) -> Path:
    return run.pack / "documents"


def _ledger_certs(run: Run) -> dict[str, dict[str, Any]] | None:
    led = run.pack / "ledger"
    if not (led / "certificates.jsonl").is_file():
        return None
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in _jsonl(led / "certificate_lines.jsonl"):
        lines[ln["certificate_id"]].append(ln)
    out = {}
    for c in _jsonl(led / "certificates.jsonl"):
        c = dict(c)
        c["lines"] = sorted(lines.get(c["certificate_id"], []), key=lambda x: x["line_no"])
        out[c["certificate_id"]] = c
    return out


def _expected_from_ledger(run: Run, c: dict[str, Any]) -> dict[str, Any]:
    """A ledger certificate's numbers as issued (grams to t); basis and claim as data.py derives them."""
    reps = int(c["reps_g"]) / 1e6
    tonnage = float(c["tonnage_t"])
    alloc = c["method"] == "allocation"
    basis = c.get("basis_cfp")
    if basis is None and alloc:
        basis = c.get("residual_cfp")
    if basis is None:
        o = run.order_calc.get(c["order_id"])
        if o is not None and o["product_id"] == c["product_id"]:
            basis = o["basis_cfp"]
        elif c["product_id"] in run.prod:
            basis = run.prod[c["product_id"]]["residual_cfp"]
    claimed = c.get("allocated_cfp") if alloc and c.get("allocated_cfp") is not None else c.get("claimed_cfp")
    if claimed is None and basis is not None:
        claimed = basis - reps / tonnage
    return {"order_id": c["order_id"], "customer": c["customer"], "product_id": c["product_id"],
            "method": c["method"], "status": c["status"], "tonnage_t": tonnage, "reps_t": reps,
            "reps_per_t": reps / tonnage if tonnage else 0.0, "general_cfp": float(c["general_cfp"]),
            "rep_term": None if basis is None else basis - float(c["general_cfp"]), "basis_cfp": basis,
            "residual_cfp": c.get("residual_cfp"), "allocated_cfp": c.get("allocated_cfp"),
            "alpha": float(c["alpha"]), "gx_tonnage_t": float(c["gx_tonnage_t"]), "claimed_cfp": claimed,
            "lines": sorted((ln["pool_id"], int(ln["reps_g"]) / 1e6) for ln in c["lines"]),
            "source": "ledger"}


def certificate_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """``documents/certificates/certificates.json`` (+ CSVs) against the recomputed orders, or the ledger."""
    f = Found()
    rows: list[dict[str, Any]] = []
    cdir = _documents(run) / "certificates"
    doc = _json_file(cdir / "certificates.json")
    if not isinstance(doc, dict) or not isinstance(doc.get("certificates"), list):
        f.add("documents/certificates/certificates.json is missing or unreadable: the certificates cannot be "
              "re-checked", "certificates.json")
        return rows, f
    ledger = _ledger_certs(run)
    certs = doc["certificates"]
    if ledger is None:
        served = {oid for oid, c in run.order_calc.items() if c["reps_t"] > 0}
        stated = [c.get("order_id") for c in certs]
        for oid in sorted(served - set(stated)):
            f.add("a served order has no certificate (7.3, 8.5)", oid)
        for oid in sorted({o for o in stated if stated.count(o) > 1}):
            f.add("an order has more than one certificate", str(oid))
    for c in certs:
        cid = str(c.get("certificate_id"))
        before = f.count()
        if ledger is not None:
            lc = ledger.get(cid)
            if lc is None:
                f.add("a certificate of the document is not in the ledger export", cid)
                continue
            exp = _expected_from_ledger(run, lc)
            _same(f, "a certificate states another status than the ledger", cid, "status", exp["status"],
                  c.get("status"))
        else:
            o = run.order_calc.get(str(c.get("order_id")))
            if o is None or o["reps_t"] <= 0:
                f.add("a certificate is for an order that the lines do not serve", cid, f"order {c.get('order_id')}")
                continue
            exp = {**o, "status": "draft", "source": "recomputed"}
            _same(f, "a draft certificate is not marked draft", cid, "status", "draft", c.get("status"))
            _same(f, "a certificate's certifiable flag is not 'every line from a third-party verified pool' (6.8)",
                  cid, "certifiable", o["certifiable"], c.get("certifiable"))
        run.cert_expect[cid] = exp
        alloc = exp["method"] == "allocation"
        for col in ("order_id", "customer", "product_id", "method"):
            _same(f, "a certificate names another order, customer, product or method (7.5, 8.5)", cid, col,
                  exp[col], c.get(col))
        _same(f, "a certificate's type does not follow its method (7.3: reduction certificate, 8.5: CFP "
                 "certificate)", cid, "type", "CFP certificate" if alloc else "reduction certificate", c.get("type"))
        for col in CERT_NUMBERS:
            want = exp.get(col)
            if col in ("residual_cfp", "allocated_cfp") and not alloc:
                if c.get(col) is not None:
                    f.add("a mass-balance certificate states a Residual or Allocated CFP (7.3)", cid, col)
                continue
            if want is None:
                continue
            if col not in c:
                f.add(f"a certificate states no {col}", cid)
                continue
            _same(f, f"a certificate's {col} is not the " + ("recomputed one" if exp["source"] == "recomputed"
                                                              else "ledger's as issued")
                  + " (7.3.1, 7.3.3, 8.1.1, 8.3.3)", cid, col, float(want), c.get(col), 1e-7)
        lines = c.get("lines") if isinstance(c.get("lines"), list) else []
        got = sorted((str(ln.get("pool_id")), fnum(ln.get("reps_t"))) for ln in lines)
        if [p for p, _ in got] != [p for p, _ in exp["lines"]] or any(
                not close(a, b) for (_, a), (_, b) in zip(got, exp["lines"])):
            f.add("a certificate's REP lines are not " + ("the order's allocation lines" if exp["source"] ==
                                                          "recomputed" else "the lines as issued") + " (7.3.1)", cid,
                  "; ".join(f"{p} {v:.6f}" for p, v in got) + " vs " +
                  "; ".join(f"{p} {v:.6f}" for p, v in exp["lines"]))
        if not close(sum(v for _, v in got), fnum(c.get("reps_t"))):
            f.add("a certificate's REPs are not the sum of its lines (7.3.1)", cid,
                  f"{fnum(c.get('reps_t')):.6f} vs {sum(v for _, v in got):.6f}")
        if alloc and c.get("claimed_cfp") is not None and c.get("allocated_cfp") is not None and \
                not close(fnum(c["claimed_cfp"]), fnum(c["allocated_cfp"])):
            f.add("a CFP certificate's claimed CFP is not its Allocated CFP (8.1.1)", cid)
        for ln in lines:
            p = run.pools.get(str(ln.get("pool_id")))
            item = f"{cid} line {ln.get('line_no')}"
            if p is None:
                if ledger is None:
                    f.add("a certificate line names a pool the inputs do not have", item)
                continue
            rule = "a certificate line states other pool facts than the inputs (6.2.3, 7.3.1)"
            _same(f, rule, item, "project_id", p["project_id"], ln.get("project_id"))
            _same(f, rule, item, "period_end", p["end"].isoformat(), str(ln.get("period_end") or "")[:10])
            if ln.get("period_start"):
                _same(f, rule, item, "period_start", p["start"].isoformat(), str(ln.get("period_start"))[:10])
            _same(f, rule, item, "gas", p["gas"], ln.get("gas"))
            pr = run.prod.get(exp["product_id"])
            if pr is not None and "same_site" in ln and ln.get("same_site") is not None:
                _same(f, "a certificate line's same site is not the pool's site against the product's crude-steel "
                         "site (SteelZero site link)", item, "same_site", p["site"] == pr["crude_steel_site"],
                      ln.get("same_site"))
        rows.append({"certificate_id": cid, "order_id": c.get("order_id"), "method": c.get("method"),
                     "source": exp["source"], "reps_t": fnum(c.get("reps_t")), "claimed_cfp": num(c.get("claimed_cfp")),
                     "ok": f.count() == before})
    # the CSV twins say the same
    by_id = {str(c.get("certificate_id")): c for c in certs}
    csv_rows = read(cdir / "certificates.csv")
    if not (cdir / "certificates.csv").is_file():
        f.add("documents/certificates/certificates.csv is missing", "certificates.csv")
    if {r.get("certificate_id") for r in csv_rows} != set(by_id):
        f.add("certificates.csv lists other certificates than certificates.json", "certificates.csv")
    for r in csv_rows:
        c = by_id.get(r.get("certificate_id", ""))
        if c is None:
            continue
        for col in ("order_id", "customer", "product_id", "method", "status"):
            if col in r:
                _same(f, "certificates.csv differs from certificates.json", r["certificate_id"], col,
                      str(c.get(col) or ""), r[col])
        for col in CERT_NUMBERS:
            if col in r and c.get(col) is not None:
                _same(f, "certificates.csv differs from certificates.json", r["certificate_id"], col, float(c[col]),
                      r[col], 1e-7)
    line_rows = read(cdir / "certificate_lines.csv")
    want_lines = sorted((str(c.get("certificate_id")), int(ln.get("line_no", 0)), str(ln.get("pool_id")),
                         fnum(ln.get("reps_t"))) for c in certs for ln in (c.get("lines") or []))
    got_lines = sorted((r.get("certificate_id", ""), int(fnum(r.get("line_no"))), r.get("pool_id", ""),
                        fnum(r.get("reps_t"))) for r in line_rows)
    if [x[:3] for x in want_lines] != [x[:3] for x in got_lines] or any(
            not close(a[3], b[3]) for a, b in zip(want_lines, got_lines)):
        f.add("certificate_lines.csv differs from the lines of certificates.json", "certificate_lines.csv")
    return rows, f


# ---------------------------------------------------------------------------------------------- 10. PACT


def _dec(text: Any) -> float | None:
    """A PACT decimal string as a float (None when it is not one)."""
    if not isinstance(text, str) or not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        return None
    return float(text)


PACT_VERSIONS = {  # version: (key of the certificate row, folder, collection, unit key, amount key, pcf key)
    "2.3": ("pact_v2_3", "v2.3", "footprints-v2.3.json", "declaredUnit", "unitaryProductAmount",
            "pCfExcludingBiogenic"),
    "3.0": ("pact_v3_0", "v3.0", "footprints-v3.0.json", "declaredUnitOfMeasurement", "declaredUnitAmount",
            "pcfExcludingBiogenicUptake"),
}
EXTENSION_NUMBERS = {"purchasedVolumeT": "tonnage_t", "generalCfp": "general_cfp", "repTerm": "rep_term",
                     "basisCfp": "basis_cfp", "claimedCfp": "claimed_cfp", "residualCfp": "residual_cfp",
                     "allocatedCfp": "allocated_cfp", "alpha": "alpha", "gxTonnageT": "gx_tonnage_t",
                     "repsT": "reps_t", "repsPerTonne": "reps_per_t"}


def pact_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Every PACT footprint states its certificate's PCF value (Allocated CFP or basis CFP) per kg and the GX
    extension its numbers; the collections hold exactly the certificate files."""
    f = Found()
    rows: list[dict[str, Any]] = []
    pdir = _documents(run) / "pact"
    doc = _json_file(_documents(run) / "certificates" / "certificates.json")
    certs = doc.get("certificates", []) if isinstance(doc, dict) else []
    for version, (key, folder, collection, unit_key, amount_key, pcf_key) in PACT_VERSIONS.items():
        files: dict[str, Any] = {}
        for c in certs:
            cid = str(c.get("certificate_id"))
            rel = c.get(key)
            if not rel:
                if c.get("status") != "void" and str(c.get("product_id")) in run.prod:
                    f.add(f"a certificate has no PACT v{version} footprint", cid)
                continue
            name = Path(str(rel)).name
            fp = _json_file(pdir / folder / name)
            if not isinstance(fp, dict):
                f.add(f"a PACT v{version} footprint of a certificate is missing or unreadable", f"pact/{folder}/{name}")
                continue
            files[str(fp.get("id"))] = fp
            item = f"{cid} v{version}"
            before = f.count()
            exp = run.cert_expect.get(cid)
            pcf = fp.get("pcf") if isinstance(fp.get("pcf"), dict) else {}
            if pcf.get(unit_key) != "kilogram" or _dec(pcf.get(amount_key)) != 1.0 or \
                    ("productMassPerDeclaredUnit" in pcf and _dec(pcf.get("productMassPerDeclaredUnit")) != 1.0):
                f.add("a PACT footprint's declared unit is not 1 kilogram of product (then kg CO2e/kg would not be "
                      "t-CO2e/t)", item)
            value = _dec(pcf.get(pcf_key))
            if exp is not None:
                alloc = exp["method"] == "allocation"
                want = exp.get("allocated_cfp") if alloc else exp.get("basis_cfp")
                if want is None:
                    want = exp.get("general_cfp")
                if value is None or not close(float(want), value):
                    f.add(f"a PACT footprint's {pcf_key} is not the certificate's "
                          + ("Allocated CFP (8.1.1, 8.5)" if alloc else "basis CFP (General CFP + 7.3.3 correction)"),
                          item, f"{pcf_key}: {pcf.get(pcf_key)!r}, recomputed {float(want):.6f}")
            ext = next((e.get("data") for e in fp.get("extensions") or [] if isinstance(e, dict)
                        and isinstance(e.get("data"), dict) and e["data"].get("certificateId") == cid), None)
            if ext is None:
                f.add("a PACT footprint has no GX extension naming its certificate", item)
            elif exp is not None:
                rule = "a PACT footprint's GX extension states other numbers than its certificate (7.3, 8.3.3)"
                _same(f, rule, item, "orderId", exp["order_id"], ext.get("orderId"))
                _same(f, rule, item, "customer", exp["customer"], ext.get("customer"))
                for k, col in EXTENSION_NUMBERS.items():
                    want = exp.get(col)
                    if k in ext and want is not None:
                        _same(f, rule, item, k, float(want), ext.get(k))
                    elif k in ext and want is None and ext.get(k) is not None and col in ("residual_cfp",
                                                                                        "allocated_cfp"):
                        f.add(rule, item, f"{k}: {ext.get(k)!r} on a mass-balance footprint")
                if isinstance(ext.get("repLines"), list):
                    got = sorted((str(x.get("poolId")), fnum(x.get("repsT"))) for x in ext["repLines"])
                    if [p for p, _ in got] != [p for p, _ in exp["lines"]] or any(
                            not close(a, b) for (_, a), (_, b) in zip(got, exp["lines"])):
                        f.add(rule, item, "repLines are not the certificate's lines")
            pids = [str(x) for x in fp.get("productIds") or []]
            if exp is not None and not any(x == exp["product_id"] or x.endswith(":" + exp["product_id"]) for x in pids):
                f.add("a PACT footprint's productIds do not name the certificate's product", item, ", ".join(pids))
            rows.append({"file": f"pact/{folder}/{name}", "certificate_id": cid, "version": version,
                         "pcf": value, "ok": f.count() == before})
        listed = {str(c.get("certificate_id")) for c in certs if c.get(key)}
        for p in sorted((pdir / folder).glob("*.json")) if (pdir / folder).is_dir() else []:
            if p.stem not in {Path(str(c.get(key))).stem for c in certs if c.get(key)}:
                f.add("a PACT footprint belongs to no certificate of certificates.json", f"pact/{folder}/{p.name}")
        coll = _json_file(pdir / collection)
        if not isinstance(coll, dict) or not isinstance(coll.get("data"), list):
            if listed:
                f.add("a PACT collection is missing or unreadable", f"pact/{collection}")
            continue
        ids = [str(x.get("id")) for x in coll["data"] if isinstance(x, dict)]
        if sorted(ids) != sorted(files):
            f.add("a PACT collection holds other footprints than the certificates' files", f"pact/{collection}")
        for x in coll["data"]:
            if isinstance(x, dict) and str(x.get("id")) in files and x != files[str(x.get("id"))]:
                f.add("a footprint of a PACT collection differs from its certificate's file", f"pact/{collection}",
                      str(x.get("id")))
    return rows, f


# ---------------------------------------------------------------------------------------- 11. disclosures


def _periods_in(text: str) -> list[dt.date]:
    return [day(x) for x in re.findall(r"\d{4}-\d{2}-\d{2}", str(text))]


def disclosure_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """The 6.2.3 project table, the 8.3.3 three CFPs and the ch. 9 scheme information against the recomputed
    pools, products, orders and claims; periods listed only when they ended by as_of."""
    f = Found()
    rows: list[dict[str, Any]] = []
    ddir = _documents(run) / "disclosures"
    drawn: dict[str, float] = defaultdict(float)
    for ln in run.lines:
        drawn[ln.get("pool_id", "")] += fnum(ln.get("reps_t"))
    # 6.2.3
    proj = _json_file(ddir / "projects.json")
    if not isinstance(proj, dict) or not isinstance(proj.get("projects"), list):
        f.add("documents/disclosures/projects.json is missing or unreadable", "projects.json")
    else:
        listed = set()
        for r in proj["projects"]:
            pid = str(r.get("pool_id"))
            p = run.pools.get(pid)
            before = f.count()
            if p is None:
                f.add("the 6.2.3 disclosure lists a pool the inputs do not have", pid)
                continue
            listed.add(pid)
            if not p["ended"]:
                f.add("the 6.2.3 disclosure lists REPs of a calculation period that had not ended by as_of (6.2.3, "
                      "6.8: only verified REPs of ended periods)", pid, f"period ends {p['end'].isoformat()}, as_of "
                                                                        f"{run.as_of.isoformat()}")
            if not p["eligible"]:
                f.add("the 6.2.3 disclosure lists a project not subject to REP calculation among those counted "
                      "(6.2.1, 6.3)", pid, p["reason"])
            e = run.exact[pid]
            j = run.projects.get(p["project_id"], {})
            rule = "the 6.2.3 disclosure states other REPs per calculation period than the recomputed pools (6.2.3, 6.5)"
            for col, want in (("period_reps_t", e["period_reps_t"]), ("netted_t", e["netted_t"]),
                              ("reps_t", e["reps_t"]), ("in_cfps_t", run.added.get(pid, 0.0)),
                              ("used_t", p["used_before_t"] + drawn[pid]),
                              ("remaining_t", p["reps_t"] - p["used_before_t"] - drawn[pid])):
                if col in r:
                    _same(f, rule, pid, col, want, r.get(col), 1e-7)
                elif col in ("period_reps_t", "reps_t"):
                    f.add(f"the 6.2.3 disclosure states no {col}", pid)
            rule = "the 6.2.3 disclosure states other project facts than the inputs (6.2.3)"
            _same(f, rule, pid, "period_start", p["start"].isoformat(), str(r.get("period_start") or "")[:10])
            _same(f, rule, pid, "period_end", p["end"].isoformat(), str(r.get("period_end") or "")[:10])
            for col, src in (("project_id", "project_id"), ("name", "name"), ("project_type", "kind"), ("gas", "gas"),
                             ("verifier", "verifier"), ("statement_id", "statement_id"),
                             ("additionality_test", "additionality")):
                if col in r:
                    _same(f, rule, pid, col, j.get(src, ""), r.get(col) or "")
            rows.append({"document": "projects.json", "item": pid, "ok": f.count() == before})
        for pid in sorted(p for p, x in run.pools.items() if x["eligible"] and x["ended"] and p not in listed):
            f.add("the 6.2.3 disclosure leaves out an ended calculation period of a project subject to REP "
                  "calculation (6.2.3)", pid)
        if "as_of" in proj:
            _same(f, "the 6.2.3 disclosure states another as_of than scenario.yaml", "projects.json", "as_of",
                  run.as_of.isoformat(), str(proj.get("as_of"))[:10])
        for r in proj.get("not_ended") if isinstance(proj.get("not_ended"), list) else []:
            pid = str(r.get("pool_id"))
            p = run.pools.get(pid)
            if p is None:
                f.add("the 6.2.3 disclosure lists a not-ended period the inputs do not have", pid)
            elif p["ended"]:
                f.add("the 6.2.3 disclosure lists an ended calculation period as not ended (6.2.3)", pid)
            elif any(k in r for k in ("reps_t", "period_reps_t")):
                f.add("the 6.2.3 disclosure states REPs of a calculation period that had not ended by as_of (6.2.3)",
                      pid)
        nc = proj.get("not_counted") if isinstance(proj.get("not_counted"), list) else []
        want_nc = {j for j, s in run.status.items() if not s["eligible"]}
        if {str(x.get("project_id")) for x in nc} != want_nc:
            f.add("the 6.2.3 disclosure's projects not counted are not the ineligible projects (6.2.1, 6.3)",
                  "not_counted", ", ".join(sorted(want_nc)))
        for x in nc:
            j = str(x.get("project_id"))
            if "reps_not_counted_t" in x and j in run.status:
                _same(f, "the 6.2.3 disclosure states other REPs not counted than the recomputed pools", j,
                      "reps_not_counted_t", sum(p["reps_t"] for p in run.pools.values() if p["project_id"] == j),
                      x.get("reps_not_counted_t"), 1e-7)
    # 8.3.3
    cfps = _json_file(ddir / "three-cfps.json")
    doc = _json_file(_documents(run) / "certificates" / "certificates.json")
    certs = [c for c in (doc.get("certificates", []) if isinstance(doc, dict) else []) if c.get("status") != "void"]
    if not isinstance(cfps, dict) or not isinstance(cfps.get("products"), list):
        f.add("documents/disclosures/three-cfps.json is missing or unreadable", "three-cfps.json")
    else:
        rule = "the 8.3.3 disclosure states other CFPs than the recomputed products (8.3.3, 7.3.3)"
        seen = set()
        for r in cfps["products"]:
            k = str(r.get("product_id"))
            m = run.prod.get(k)
            if m is None:
                f.add("the 8.3.3 disclosure lists a product that is not in the plant model", k)
                continue
            seen.add(k)
            before = f.count()
            for col, want in (("general_cfp", m["general_cfp"]), ("rep_term", m["rep_term"]),
                              ("correction_7_3_3", m["rep_term"]), ("residual_cfp", m["residual_cfp"]),
                              ("subject_cfp", m["subject_cfp"]), ("non_allocable", m["non_allocable"]),
                              ("non_gx_cfp", m["non_gx_cfp"]), ("mb_cap_cfp", m["mb_cap_cfp"]),
                              ("production_t", m["production_t"]), ("emissions_general_t", m["emissions_general_t"]),
                              ("gx_order_t", m["gx_order_t"]), ("claims_gx_t", m["claims_gx_t"]),
                              ("claims_t", m["claims_t"])):
                if col in r:
                    _same(f, rule, k, col, want, r.get(col), 1e-7)
                elif col in ("general_cfp", "residual_cfp"):
                    f.add(f"the 8.3.3 disclosure states no {col}", k)
            mine = [c for c in certs if c.get("product_id") == k]
            al = [c for c in mine if c.get("method") == "allocation"]
            mb = [c for c in mine if c.get("method") == "mass_balance"]
            for col, want in (("allocation_certificates", float(len(al))),
                              ("allocated_reps_t", sum(fnum(c.get("reps_t")) for c in al)),
                              ("allocation_tonnage_t", sum(fnum(c.get("tonnage_t")) for c in al)),
                              ("gx_tonnage_t", sum(fnum(c.get("gx_tonnage_t")) for c in al)),
                              ("mass_balance_certificates", float(len(mb))),
                              ("mass_balance_reps_t", sum(fnum(c.get("reps_t")) for c in mb)),
                              ("allocated_cfp_min", min((fnum(c.get("allocated_cfp")) for c in al), default=None)),
                              ("allocated_cfp_max", max((fnum(c.get("allocated_cfp")) for c in al), default=None))):
                if col in r:
                    _same(f, "the 8.3.3 disclosure does not sum up the product's certificates (8.3.3)", k, col, want,
                          r.get(col), 1e-7)
            rows.append({"document": "three-cfps.json", "item": k, "ok": f.count() == before})
        for k in sorted(set(run.prod) - seen):
            f.add("the 8.3.3 disclosure leaves out a product", k)
        by_id = {str(c.get("certificate_id")): c for c in certs}
        listed = []
        for r in cfps.get("allocation_orders") or []:
            cid = str(r.get("certificate_id"))
            listed.append(cid)
            c = by_id.get(cid)
            exp = run.cert_expect.get(cid)
            if c is None or exp is None:
                f.add("the 8.3.3 disclosure lists an allocation certificate that is not in certificates.json", cid)
                continue
            for col in ("tonnage_t", "alpha", "gx_tonnage_t", "general_cfp", "residual_cfp", "allocated_cfp",
                        "reps_t", "claimed_cfp"):
                if col in r and exp.get(col) is not None:
                    _same(f, "the 8.3.3 disclosure states other CFPs of a GX Allocation order than its certificate "
                             "(8.3.3)", cid, col, float(exp[col]), r.get(col), 1e-7)
        want_al = sorted(str(c.get("certificate_id")) for c in certs if c.get("method") == "allocation")
        if "allocation_orders" in cfps and sorted(listed) != want_al:
            f.add("the 8.3.3 disclosure's allocation orders are not the GX Allocation certificates", "allocation_orders")
        for r in cfps.get("notice_7_3_3") or []:
            k = str(r.get("product_id"))
            m = run.prod.get(k)
            if m is None:
                continue
            for col, want in (("general_cfp", m["general_cfp"]), ("correction", m["rep_term"]),
                              ("non_gx_cfp", m["non_gx_cfp"])):
                if col in r:
                    _same(f, "the 7.3.3 notice states other numbers than the recomputed products (7.3.3)", k, col,
                          want, r.get(col), 1e-7)
        if isinstance(cfps.get("organization_claims"), dict):
            _claims_block(f, run, cfps["organization_claims"], "three-cfps.json organization_claims")
    # ch. 9
    scheme = _json_file(ddir / "scheme.json")
    if not isinstance(scheme, dict):
        f.add("documents/disclosures/scheme.json is missing or unreadable", "scheme.json")
    else:
        names = {"GX Mass Balance": "mass_balance", "GX Allocation": "allocation"}
        for r in scheme.get("usage_methods") or []:
            m = names.get(str(r.get("method")))
            if m is None:
                continue
            cs = [c for c in run.order_calc.values() if c["method"] == m]
            for col, want in (("orders", float(len(cs))), ("served", float(sum(c["reps_t"] > 0 for c in cs))),
                              ("reps_t", sum(c["reps_t"] for c in cs)),
                              ("gx_tonnage_t", sum(c["gx_tonnage_t"] for c in cs))):
                if col in r:
                    _same(f, "the scheme information states other use of a method than the recomputed orders (9)",
                          str(r.get("method")), col, want, r.get(col), 1e-7)
        if isinstance(scheme.get("claims"), dict):
            _claims_block(f, run, scheme["claims"], "scheme.json claims")
        st = scheme.get("settings") or {}
        if "as_of" in st:
            _same(f, "the scheme information states other run settings than scenario.yaml (9)", "settings", "as_of",
                  run.as_of.isoformat(), str(st.get("as_of")))
        if "mass_balance_expiry_years" in st:
            _same(f, "the scheme information states other run settings than scenario.yaml (9)", "settings",
                  "mass_balance_expiry_years", float(run.expiry_years), st.get("mass_balance_expiry_years"))
        if "what_if_unverified_allowed" in st:
            _same(f, "the scheme information states other run settings than scenario.yaml (9)", "settings",
                  "what_if_unverified_allowed", run.allow_unverified, st.get("what_if_unverified_allowed"))
        run_block = scheme.get("run") or {}
        if "input_sha256" in run_block:
            _same(f, "the scheme information states another input SHA-256 than the run (9)", "run", "input_sha256",
                  str(run.summary.get("input_sha256")), str(run_block.get("input_sha256")))
        rp = scheme.get("reduction_periods") or {}
        for x in rp.get("per_project") or []:
            j = str(x.get("project_id"))
            for text in x.get("periods") or []:
                ds = _periods_in(text)
                if len(ds) != 2:
                    continue
                pid = f"{j}@{ds[1].isoformat()}"
                p = run.pools.get(pid)
                if p is None:
                    f.add("the scheme information lists a reduction period the inputs do not have (9)", pid)
                elif not p["ended"]:
                    f.add("the scheme information lists a reduction period that had not ended by as_of (9, 6.2.3)",
                          pid, f"period ends {p['end'].isoformat()}, as_of {run.as_of.isoformat()}")
        if rp.get("latest_end") and oday(rp.get("latest_end")) and oday(rp.get("latest_end")) > run.as_of:
            f.add("the scheme information lists a reduction period that had not ended by as_of (9, 6.2.3)",
                  "latest_end", f"{rp.get('latest_end')} after as_of {run.as_of.isoformat()}")
        rows.append({"document": "scheme.json", "item": "scheme", "ok": True})
    return rows, f


def _claims_block(f: Found, run: Run, block: dict[str, Any], where: str) -> None:
    for key, want in run.claims.items():
        if key in block:
            t = fnum(block[key], float("nan"))
            if not (abs(want - t) <= 1e-3 + 1e-7 * max(abs(want), abs(t))):
                f.add("a disclosure states other claims than the recomputed claims identity (7.3.3, 8.1, 9)",
                      f"{where}.{key}", f"reported {t:,.3f}, recomputed {want:,.3f}")
    if "no_double_counting" in block:
        _same(f, "a disclosure's 'no double counting' is not what the recomputed claims show (7.3.3, 8.1)", where,
              "no_double_counting", run.claims["claims_margin_t"] >= -(1e-3 + 1e-7 * abs(run.claims["actual_emissions_t"])),
              block.get("no_double_counting"))


# ------------------------------------------------------------------------------------------ 12. ledger


def entry_hash(prev: str, row: dict[str, Any]) -> str:
    """The journal's hash: sha256(prev_hash | canonical JSON of the entry's content)."""
    body = {k: row.get(k) for k in ("entry_id", "created_at", "batch_id", "kind", "pool_id", "amount_g",
                                    "certificate_id", "reason", "meta")}
    return hashlib.sha256((prev + "|" + json.dumps(body, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()


CERT_FIELDS = ("certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_g", "general_cfp",
               "residual_cfp", "allocated_cfp", "alpha", "gx_tonnage_t", "batch_id", "issued_at")
OPTIONAL_CERT_FIELDS = ("basis_cfp", "claimed_cfp")  # stated since ledger revision 0003; counted when present
LINE_FIELDS = ("line_no", "pool_id", "project_id", "period_end", "gas", "reps_g", "evidence")


def certificate_digest(cert: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """SHA-256 over a certificate's issued content and lines (as written into its issue entries); the basis
    and claimed CFP count only when the certificate states them (older certificates keep their digest)."""
    content = {k: cert.get(k) for k in CERT_FIELDS}
    content.update({k: cert[k] for k in OPTIONAL_CERT_FIELDS if cert.get(k) is not None})
    body = {"certificate": content,
            "lines": [{k: ln.get(k) for k in LINE_FIELDS} for ln in sorted(lines, key=lambda x: x["line_no"])]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def ledger_checks(pack: Path) -> tuple[list[dict[str, Any]], Found] | None:
    """Hash chain, head, balances, reconciliation, certificate digests; None when the pack has no ledger."""
    led = pack / "ledger"
    if not (led / "journal.jsonl").is_file():
        return None
    journal = _jsonl(led / "journal.jsonl")
    f = Found()
    prev = GENESIS
    for e in journal:
        if e["prev_hash"] != prev:
            f.add("a journal entry's prev_hash does not match the entry before it (entries removed or reordered)",
                  f"seq {e['seq']}")
        if entry_hash(e["prev_hash"], e) != e["hash"]:
            f.add("a journal entry's content does not match its hash (edited)", f"seq {e['seq']}",
                  "content does not match its hash")
        prev = e["hash"]
    head = json.loads((led / "head.json").read_text(encoding="utf-8")) if (led / "head.json").is_file() else {}
    if head and head.get("hash") != (journal[-1]["hash"] if journal else GENESIS):
        f.add("the journal head does not match the last entry: entries were deleted", "head.json")
    col = {"credit": "credited_g", "adjust": "adjusted_g", "issue": "issued_g", "reverse": "reversed_g",
           "expire": "expired_g"}
    derived: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(col.values(), 0))
    for e in journal:
        if e["pool_id"] and e["kind"] in col:
            derived[e["pool_id"]][col[e["kind"]]] += int(e["amount_g"])
    rows = []
    stored = {b["pool_id"]: b for b in read(led / "pool_balance.csv")}
    for pid in sorted(set(derived) | set(stored)):
        d = derived[pid]
        remaining = d["credited_g"] + d["adjusted_g"] - d["issued_g"] + d["reversed_g"] - d["expired_g"]
        s = stored.get(pid)
        same = s is not None and all(int(s[k]) == v for k, v in d.items()) and int(s["remaining_g"]) == remaining
        if not same:
            f.add("a pool's stored balance differs from the journal", pid)
        if remaining < 0:
            f.add("a pool's ledger balance is negative", pid, f"{remaining} g")
        rows.append({"pool_id": pid, **d, "remaining_g": remaining, "stored_matches_journal": same,
                     "reconciles": d["credited_g"] + d["adjusted_g"]
                     == d["issued_g"] - d["reversed_g"] + d["expired_g"] + remaining})
    certs = _jsonl(led / "certificates.jsonl")
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in _jsonl(led / "certificate_lines.jsonl"):
        lines[ln["certificate_id"]].append(ln)
    issues: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in journal:
        if e["kind"] == "issue" and e.get("certificate_id"):
            issues[e["certificate_id"]].append(e)
    for c in certs:
        cid = c["certificate_id"]
        ent = issues.get(cid, [])
        ls = lines.get(cid, [])
        if not ent:
            f.add("a certificate has no issue entry in the journal", cid)
            continue
        if certificate_digest(c, ls) != json.loads(ent[0]["meta"]).get("certificate_digest"):
            f.add("a certificate's content differs from what was issued (digest)", cid)
        if sum(int(x["reps_g"]) for x in ls) != int(c["reps_g"]) or sorted(
                (e["pool_id"], int(e["amount_g"])) for e in ent) != sorted((x["pool_id"], int(x["reps_g"])) for x in ls):
            f.add("a certificate's lines do not match its issue entries", cid)
    return rows, f


# -------------------------------------------------------------------------------------------- driver

TABLE_OF = {"manifest": "manifest_check", "inputs": "input_checks", "reps": "rep_calculation",
            "eligibility": "eligibility_checks", "physical_connection": "connection_checks",
            "products": "product_checks", "allocation_lines": "line_checks", "pool_use": "pool_use",
            "orders": "order_checks", "claims": "claims", "certificates": "certificate_checks",
            "pact": "pact_checks", "disclosures": "disclosure_checks", "ledger": "ledger_balances"}


def run_all(pack: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Every check: (summary with the problems per check and rule, the tables of recomputed rows)."""
    pack = Path(pack)
    tables: dict[str, list[dict[str, Any]]] = {}
    found: dict[str, Found] = {}
    tables["manifest_check"], found["manifest"] = manifest_check(pack)
    run = Run(pack)
    calc, run.exact = rep_calculation(run)  # before the inputs check: it reports unreadable period rows
    tables["input_checks"], found["inputs"] = inputs_check(run)
    tables["rep_calculation"], found["reps"] = check_reps(run, calc)
    tables["eligibility_checks"], found["eligibility"] = eligibility_check(run)
    tables["connection_checks"], found["physical_connection"] = connection_checks(run)
    tables["product_checks"], found["products"] = product_checks(run)
    tables["line_checks"], found["allocation_lines"] = line_checks(run)
    tables["pool_use"], found["pool_use"] = pool_use(run)
    tables["order_checks"], found["orders"] = order_checks(run)
    tables["claims"], found["claims"] = claims_check(run)
    tables["certificate_checks"], found["certificates"] = certificate_checks(run)
    tables["pact_checks"], found["pact"] = pact_checks(run)
    tables["disclosure_checks"], found["disclosures"] = disclosure_checks(run)
    led = ledger_checks(pack)
    if led is not None:
        tables["ledger_balances"], found["ledger"] = led
    summary = {
        "ok": not any(found.values()),
        "checks": {k: {"ok": not v, "problems": v.problems(), "notes": v.notes,
                       "rules": [{"rule": r, "count": len(items), "items": items} for r, items in v.rules.items()],
                       "rows": len(tables[TABLE_OF[k]])} for k, v in found.items()},
        "failed": [k for k, v in found.items() if v],
        "counts": {k: len(v) for k, v in tables.items()},
        "as_of": run.as_of.isoformat(),
        "input_sha256": run.summary.get("input_sha256"),
    }
    return summary, tables


def report_lines(summary: dict[str, Any]) -> list[str]:
    """The readable report: one line per check; under a failed check one line per rule with up to ten ids."""
    out = []
    for name, res in summary["checks"].items():
        n = sum(r["count"] for r in res["rules"])
        if res["ok"]:
            out.append(f"ok   {name}: {res['rows']} rows checked, 0 problem(s)")
        else:
            out.append(f"FAIL {name}: {res['rows']} rows checked, {n} problem(s) in {len(res['rules'])} rule(s)")
        for r in res["rules"]:
            shown = r["items"][:SHOWN]
            more = f" (and {r['count'] - len(shown)} more)" if r["count"] > len(shown) else ""
            out.append(f"       - {r['rule']} [{r['count']}]: {'; '.join(shown)}{more}")
        for note in res.get("notes", []):
            out.append(f"       note: {note}")
    if summary["ok"]:
        out.append(f"all checks passed ({len(summary['checks'])} checks; inputs SHA-256 "
                   f"{summary.get('input_sha256')})")
    else:
        out.append(f"SOME CHECKS FAILED: {len(summary['failed'])} of {len(summary['checks'])} "
                   f"({', '.join(summary['failed'])})")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every check on the pack, print the report, exit 0 only when everything passes."""
    args = sys.argv[1:] if argv is None else argv
    pack = Path(args[0]) if args else Path(__file__).resolve().parent
    if not pack.is_dir():
        print(f"not a folder: {pack}")
        return 1
    summary, _tables = run_all(pack)
    print("\n".join(report_lines(summary)))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
