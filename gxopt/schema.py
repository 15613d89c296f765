"""One schema per input table: the single source for parsing, validation of single cells and the docs.

Each :class:`Table` lists its :class:`Column` s with type, unit, bounds and meaning. :func:`parse_table`
turns the raw text of a CSV into typed columns and reports *every* bad cell as an
:class:`~gxopt.errors.Issue` naming file, line, column and rule. Empty cells stay missing
(NaN/NaT/None): absent is never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gxopt.errors import Issue

PROJECT_KINDS_ELIGIBLE = ("process_conversion", "fuel_conversion", "raw_material_conversion")
PROJECT_KINDS_INELIGIBLE = ("operational_improvement", "maintenance", "production_change", "external_certificate")
ADDITIONALITY_TESTS = ("regulatory", "technology", "investment", "common_practice", "timing")
GASES = ("CO2", "GHG")
GHG_SPECIES = ("CO2", "CH4", "N2O", "HFCs", "PFCs", "SF6", "NF3")  # Kyoto gases (ISO 14064-1)
METHODS = ("mass_balance", "allocation")
CFP_BASES = ("pre_project", "post_project")
STEELMAKING_PROCESSES = ("bof", "eaf", "steelmaking", "open_hearth")  # where crude steel is made (SteelZero's site)
EDGE_KINDS = ("material", "input", "utility", "byproduct")
CONNECTING_EDGE_KINDS = ("input", "utility")  # the kinds through which a feeder unit reaches a route (6.7)


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    kind is one of ``text``, ``float``, ``date``, ``bool``, ``enum``. ``required`` means the column
    must be present; ``nullable`` means a cell may be empty. Bounds apply to floats.
    """

    name: str
    kind: str
    description: str
    unit: str = ""
    required: bool = True
    nullable: bool = False
    choices: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    clause: str | None = None


@dataclass(frozen=True)
class Table:
    """An input table: file name, columns and the key whose values must be unique."""

    name: str
    file: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    optional_file: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _text(name: str, description: str, **kw: object) -> Column:
    return Column(name, "text", description, **kw)  # type: ignore[arg-type]


def _float(name: str, description: str, unit: str, **kw: object) -> Column:
    return Column(name, "float", description, unit=unit, **kw)  # type: ignore[arg-type]


def _date(name: str, description: str, **kw: object) -> Column:
    return Column(name, "date", description, unit="YYYY-MM-DD", **kw)  # type: ignore[arg-type]


def _enum(name: str, description: str, choices: tuple[str, ...], **kw: object) -> Column:
    return Column(name, "enum", description, choices=choices, **kw)  # type: ignore[arg-type]


NODES = Table(
    "nodes", "nodes.csv", "Process units of the organization (the vertices of the process graph).",
    (
        _text("node_id", "Unique id of the process unit."),
        _text("site", "Works / site the unit belongs to."),
        _text("process", "Process name, e.g. blast_furnace, bof, eaf, hot_strip_mill, power_plant; bof / eaf / "
              "steelmaking / open_hearth mark where crude steel is made (the product's crude-steel site)."),
        Column("steel", "bool", "false for non-steel operations: their reductions never count.", clause="6.2.1.1"),
    ),
    key=("node_id",),
)

EDGES = Table(
    "edges", "edges.csv", "Directed flows between process units.",
    (
        _text("source", "node_id the flow leaves."),
        _text("target", "node_id the flow enters."),
        _enum("kind", "material = the product's own line (hot metal, liquid steel, slabs, coil; inter-site slabs "
              "too), the only kind a route follows; input = a unit's output consumed by another unit (coke, "
              "sinter, pellets, DRI/HBI, lime); utility = power, steam, oxygen, compressed air, cold blast; "
              "byproduct = process gases, tar, slag or waste heat sent elsewhere: recorded, never a connection.",
              EDGE_KINDS, clause="6.7, 7.2.3"),
    ),
    key=("source", "target", "kind"),
)

PRODUCTS = Table(
    "products", "products.csv", "Products (CFP units) with their route and CFP breakdown.",
    (
        _text("product_id", "Unique id of the product."),
        _text("site", "Site that ships the product: the site of the last node of the route."),
        _text("route", "Node ids joined by '>' in flow order; each step is a material edge.", clause="6.7"),
        _float("production_t", "Production in the CFP data period.", "t", gt=0),
        _float("general_cfp", "General CFP = scope1 + scope2 + scope3_upstream.", "t-CO2e/t", ge=0, clause="5"),
        _float("scope1", "Scope 1 part of the General CFP.", "t-CO2e/t", ge=0, clause="5.2.4"),
        _float("scope2", "Scope 2 part of the General CFP.", "t-CO2e/t", ge=0, clause="5.2.4"),
        _float("scope3_upstream", "Upstream scope 3 part of the General CFP.", "t-CO2e/t", ge=0, clause="7.3.2"),
        _float("scope3_allocable", "Part of scope3_upstream tied to energy inputs that GX Allocation may move.",
               "t-CO2e/t", ge=0, clause="8.1.2"),
        _float("scrap_share", "Scrap share of the metallic input (SteelZero lens).", "fraction", ge=0, le=1),
        _enum("cfp_basis", "Optional, no longer needed: derived per project from the dates (a project's effect is in "
              "the CFP to the extent its periods overlap the CFP data period). When given it must agree with the dates.",
              CFP_BASES, required=False, nullable=True, clause="7.3.3, 8.2.2"),
        _date("cfp_period_start", "First day of the CFP data period.", clause="8.2.2"),
        _date("cfp_period_end", "Last day of the CFP data period.", clause="8.2.2"),
        _text("data_age_justification", "Why CFP data older than five years is still valid and usable; needed "
              "before such a CFP may carry GX steel.", required=False, nullable=True, clause="5.2.2"),
        _text("name", "Product name (documents).", required=False, nullable=True),
        _text("description", "Product description (certificates, 8.5).", required=False, nullable=True, clause="8.5"),
        _text("cfp_reference", "EPD or verification statement of the General CFP.", required=False, nullable=True,
              clause="5.1, 5.3"),
        _text("cpc", "UN CPC product category (PACT).", required=False, nullable=True),
        _float("primary_data_share", "Share of primary data in the CFP (PACT).", "fraction", ge=0, le=1,
               required=False, nullable=True),
        _float("exempted_emissions_percent", "Emissions left out of the CFP (PACT).", "%", ge=0, le=5,
               required=False, nullable=True),
        _float("fossil_carbon_content", "Fossil carbon content of the product (PACT).", "kg C/kg", ge=0,
               required=False, nullable=True),
    ),
    key=("product_id",),
)

PROJECTS = Table(
    "projects", "projects.csv", "Emission reduction projects of the organization.",
    (
        _text("project_id", "Unique id of the project."),
        _text("name", "Project name (disclosed, 6.2.3).", clause="6.2.3"),
        _text("node", "node_id where the project runs.", clause="6.7"),
        _enum("kind", "Project type; only conversions are eligible.",
              PROJECT_KINDS_ELIGIBLE + PROJECT_KINDS_INELIGIBLE, clause="6.2.1.1, 6.2.1.2, 6.3"),
        _enum("additionality", "Additionality test passed; empty = not additional.", ADDITIONALITY_TESTS,
              nullable=True, clause="6.2.1.2"),
        _enum("gas", "Gas class of the REPs, used to match orders: CO2 only, or GHG (CO2 and other gases).", GASES,
              clause="6.5, 7.3.1"),
        _text("gases", "The greenhouse gases included in the REPs, ';'-separated (CO2;CH4;N2O; also HFCs, PFCs, SF6, "
              "NF3); printed on certificates. Empty = CO2 for gas CO2, not itemized for GHG.", required=False,
              nullable=True, clause="6.5, 7.3.1"),
        Column("verified", "bool", "REPs verified by a third party.", clause="6.8"),
        _text("verifier", "Third-party verifier (required when verified).", nullable=True, clause="6.8"),
        _text("statement_id", "Verification statement reference (required when verified).", nullable=True,
              clause="6.8"),
        _text("technology", "Reduction technology (disclosure).", required=False, nullable=True, clause="6.2.3"),
    ),
    key=("project_id",),
)

PROJECT_PERIODS = Table(
    "project_periods", "project_periods.csv", "Calculation periods of each project: one pool of REPs each.",
    (
        _text("project_id", "A project of projects.csv."),
        _date("period_start", "First day of the calculation period.", clause="6.2.2.2"),
        _date("period_end", "Last day of the calculation period (at most one year after the start).",
              clause="6.2.2.2"),
        _float("baseline_intensity", "Actual pre-project emissions per unit of output at the node.", "t-CO2e/t",
               ge=0, clause="6.1"),
        _float("output_t", "Output of the node in the period, in the unit baseline_intensity is per "
               "(t of product; MWh for a power plant).", "t", gt=0),
        _float("project_emissions_t", "Actual emissions of the node in the period with the project.", "t-CO2e",
               ge=0, clause="6"),
        _float("uncertainty", "Relative uncertainty of the period's reduction: a reduction is lowered by it, an "
               "increase raised by it. Empty when both side uncertainties are given.", "fraction", ge=0, lt=1,
               nullable=True, clause="6.5"),
        _float("baseline_uncertainty", "Relative uncertainty of the baseline emissions (baseline_intensity x "
               "output_t); with project_uncertainty replaces uncertainty.", "fraction", ge=0, lt=1,
               required=False, nullable=True, clause="6.5"),
        _float("project_uncertainty", "Relative uncertainty of project_emissions_t; with baseline_uncertainty "
               "replaces uncertainty.", "fraction", ge=0, required=False, nullable=True, clause="6.5"),
        _float("attribution_share", "Share of a 6.6 node-level group's REPs.", "fraction", gt=0, le=1,
               required=False, nullable=True, clause="6.6"),
    ),
    key=("project_id", "period_end"),
)

ORDERS = Table(
    "orders", "orders.csv", "Customer orders asking for GX value.",
    (
        _text("order_id", "Unique id of the order."),
        _text("customer", "Customer name."),
        _text("product_id", "A product of products.csv."),
        _float("tonnage_t", "Ordered tonnage.", "t", gt=0),
        _date("delivery_date", "Delivery date.", clause="7.2.2, 8.2.3"),
        _enum("method", "GX Mass Balance (ch. 7) or GX Allocation (ch. 8).", METHODS),
        _float("premium", "Value per t-CO2e delivered to this order.", "currency/t-CO2e", ge=0),
        _float("alpha_max", "Allocation only: highest GX value alpha; empty = 1.", "fraction", ge=0, le=1,
               nullable=True, clause="8.1.1"),
        _float("requested_reps_t", "Caps the REPs for this order; empty = no extra cap.", "t-CO2e", ge=0,
               nullable=True),
        _enum("gas", "Only pools of this gas; empty = any.", GASES, nullable=True, clause="7.3.1"),
        _text("hold_id", "Ledger batch only: the quote reservation this order takes up.", required=False,
              nullable=True),
    ),
    key=("order_id",),
)

ACCOUNT = Table(
    "account", "account.csv", "REPs already used by earlier runs (optional).",
    (
        _text("project_id", "A project of projects.csv."),
        _date("period_end", "End of the pool's calculation period."),
        _float("used_t", "REPs already used from that pool.", "t-CO2e", ge=0, clause="7.2.1, 7.3.1"),
    ),
    key=("project_id", "period_end"),
    optional_file=True,
)

MODEL_TABLES = (NODES, EDGES, PRODUCTS)
SCENARIO_TABLES = (PROJECTS, PROJECT_PERIODS, ORDERS, ACCOUNT)

_TRUE = {"true"}
_FALSE = {"false"}


def empty_frame(table: Table) -> pd.DataFrame:
    """Return an empty, correctly typed frame for ``table`` (for optional files that are absent)."""
    return parse_table(pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.columns}), table,
                       label=table.file)[0]


def parse_table(raw: pd.DataFrame, table: Table, label: str,
                lines: np.ndarray | None = None) -> tuple[pd.DataFrame, list[Issue]]:
    """Type the raw text cells of ``raw`` according to ``table`` and report every bad cell.

    Parameters
    ----------
    raw : DataFrame of str
        The file read with every cell as text; empty cells are ``""`` or NaN.
    lines : array of int, optional
        Physical line number of each row; default row + 2.
    table : Table
        The schema.
    label : str
        File name used in the messages (usually the path relative to the scenario).

    Returns
    -------
    (typed, issues)
        ``typed`` holds the schema columns (plus any extra columns, untouched) with NaN/NaT/None for
        empty or bad cells; ``issues`` lists every problem found.
    """
    issues: list[Issue] = []
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    # physical line of each row (header is line 1); given by the reader when blank lines or multi-line
    # cells make it differ from row + 2
    line = pd.Series(np.arange(len(raw)) + 2 if lines is None else lines, index=raw.index)
    out = pd.DataFrame(index=raw.index)
    for col in table.columns:
        if col.name not in raw.columns:
            if col.required:
                issues.append(Issue(label, None, col.name, "required column is missing", col.clause))
            out[col.name] = _empty_of(col, len(raw), raw.index)
            continue
        text = raw[col.name].astype("string").str.strip().fillna("")
        missing = text == ""
        if not col.nullable:
            for i in line[missing]:
                issues.append(Issue(label, int(i), col.name, "a value is required here (empty is not zero)",
                                    col.clause))
        values, bad, rule = _convert(col, text, missing)
        for i, v in zip(line[bad], text[bad]):
            issues.append(Issue(label, int(i), col.name, rule, col.clause, str(v)))
        if col.kind == "float":
            ok = ~missing & ~bad
            for check, rule_b in _bound_checks(col, values):
                viol = ok & ~check
                for i, v in zip(line[viol], text[viol]):
                    issues.append(Issue(label, int(i), col.name, rule_b, col.clause, str(v)))
        out[col.name] = values
    for extra in raw.columns:
        if extra not in out.columns:
            out[extra] = raw[extra]
    if table.key and all(k in raw.columns for k in table.key):
        dup = out.duplicated(list(table.key), keep="first") & out[list(table.key)].notna().all(axis=1)
        for i, (_, r) in zip(line[dup], out[dup].iterrows()):
            key = ", ".join(f"{k}={r[k].date() if isinstance(r[k], pd.Timestamp) else r[k]}" for k in table.key)
            issues.append(Issue(label, int(i), ",".join(table.key), f"duplicate id ({key}); ids must be unique"))
    out["src_line"] = line.to_numpy()
    out.index = pd.RangeIndex(len(out))
    return out, issues


def _empty_of(col: Column, n: int, index: pd.Index) -> pd.Series:
    if col.kind == "float":
        return pd.Series(np.nan, index=index, dtype="float64")
    if col.kind == "date":
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if col.kind == "bool":
        return pd.Series(pd.NA, index=index, dtype="boolean")
    return pd.Series(None, index=index, dtype=object)


def _convert(col: Column, text: pd.Series, missing: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """Convert text to the column's type; return (values, bad-cell mask, rule text for bad cells)."""
    if col.kind == "float":
        try:  # fast path: every non-empty cell is a number
            values = pd.Series(pc.cast(pa.array(text.where(~missing), type=pa.string(), from_pandas=True),
                                       pa.float64()).to_numpy(zero_copy_only=False), index=text.index)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # find the bad cells one by one
            values = pd.to_numeric(text.where(~missing), errors="coerce").astype("float64")
        bad = ~missing & (values.isna() | ~np.isfinite(values.fillna(0.0)))
        return values.where(~bad), bad, "not a number"
    if col.kind == "date":
        ok_shape = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
        values = pd.to_datetime(text.where(~missing & ok_shape), format="%Y-%m-%d", errors="coerce")
        bad = ~missing & values.isna()
        return values.astype("datetime64[ns]"), bad, "not an ISO date YYYY-MM-DD"
    if col.kind == "bool":
        low = text.str.lower()
        values = pd.Series(pd.NA, index=text.index, dtype="boolean")
        values[low.isin(_TRUE)] = True
        values[low.isin(_FALSE)] = False
        bad = ~missing & values.isna()
        return values, bad, "must be true or false"
    if col.kind == "enum":
        bad = ~missing & ~text.isin(col.choices)
        values = text.where(~missing & ~bad, None).astype(object)
        values = values.where(values.notna(), None)
        return values, bad, "must be one of " + ", ".join(col.choices)
    values = text.where(~missing, None).astype(object)
    values = values.where(values.notna(), None)
    return values, pd.Series(False, index=text.index), ""


def _bound_checks(col: Column, v: pd.Series) -> list[tuple[pd.Series, str]]:
    checks = []
    if col.ge is not None:
        checks.append((v >= col.ge, f"must be at least {col.ge:g}"))
    if col.gt is not None:
        checks.append((v > col.gt, f"must be greater than {col.gt:g}"))
    if col.le is not None:
        checks.append((v <= col.le, f"must be at most {col.le:g}"))
    if col.lt is not None:
        checks.append((v < col.lt, f"must be less than {col.lt:g}"))
    return checks


def markdown(table: Table) -> str:
    """Render ``table`` as a markdown section (used for docs/file-contract tables)."""
    rows = [f"### `{table.file}`{' (optional)' if table.optional_file else ''}", "", table.description, "",
            "| column | type | unit | required | empty allowed | meaning | clause |", "|---|---|---|---|---|---|---|"]
    for c in table.columns:
        kind = c.kind if c.kind != "enum" else " / ".join(c.choices)
        bounds = []
        for op, val in (("≥", c.ge), (">", c.gt), ("≤", c.le), ("<", c.lt)):
            if val is not None:
                bounds.append(f"{op} {val:g}")
        if bounds:
            kind += " (" + ", ".join(bounds) + ")"
        rows.append(f"| {c.name} | {kind} | {c.unit} | {'yes' if c.required else 'no'} | "
                    f"{'yes' if c.nullable else 'no'} | {c.description} | {c.clause or ''} |")
    return "\n".join(rows) + "\n"
