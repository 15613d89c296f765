"""One schema per result table, beside the input schema (:mod:`gxopt.schema`): columns, units and meaning.

A run writes six tables to its result folder: ``allocations``, ``orders``, ``pools``, ``products``,
``projects`` and ``connections`` (``Results.tables()``). Each is a :class:`~gxopt.schema.Table` here, with
every column in the order the engine writes it, its kind, unit, bounds that always hold, a one-line
meaning and the guideline clause. The writer (units in xlsx headers), the readers of result folders
(report, compare) and ``docs/file-contract.md`` use it; ``tests/test_outputs.py`` fails when the frames of
the shipped scenarios or the docs drift from it.

Conventions, as for the inputs: ``kind`` is ``text``, ``float``, ``date``, ``bool`` or ``enum``; every
column is always written (``required`` is always true); ``nullable`` means a cell may be empty (an empty
cell is "not given" or "does not apply", never zero). Bounds (``ge``, ``gt``, ``le``, ``lt``) are what the
engine guarantees, up to solver tolerance.

A table may carry through the extra columns of its input file (the input contract allows extra columns):
``extra[EXTRA_COLUMNS_AFTER]`` names the column after which they appear, in the input file's order.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from gxopt import schema
from gxopt.schema import GASES, METHODS, Column, Table, _date, _float, _text  # the input schema's column helpers

ORDER_STATUSES = ("filled", "partial", "unfilled", "ineligible")
EXTRA_COLUMNS_AFTER = "extra_columns_after"  # key of Table.extra: input extra columns follow this column



def _bool(name: str, description: str, **kw: object) -> Column:
    return Column(name, "bool", description, **kw)  # type: ignore[arg-type]


def _enum(name: str, description: str, choices: tuple[str, ...], **kw: object) -> Column:
    return Column(name, "enum", description, choices=choices, **kw)  # type: ignore[arg-type]


def _carried(table: Table, name: str, **kw: object) -> Column:
    """An input column carried unchanged into a result table (always written, same meaning)."""
    return replace(table.column(name), required=True, **kw)  # type: ignore[arg-type]


def _carried_all(table: Table) -> tuple[Column, ...]:
    return tuple(replace(c, required=True) for c in table.columns)


_EVIDENCE = ("Physical connection from the project's unit to the product's last unit, each step with its kind: "
             "'-input->' and '-utility->' feeder steps, then '>' along the product's own line.")

ALLOCATIONS_TABLE = Table(
    "allocations", "allocations.csv",
    "One row per certificate line: the REPs of one pool assigned to one order. Sorted by order, then pool.",
    (
        _text("order_id", "The order served (orders.csv)."),
        _text("product_id", "The order's product."),
        _enum("method", "The order's method: GX Mass Balance (ch. 7) or GX Allocation (ch. 8).", METHODS),
        _text("project_id", "The project whose REPs are assigned.", clause="6.2.3"),
        _text("pool_id", "The pool the REPs come from: PROJECT@period_end.", clause="7.2.1"),
        _date("period_start", "First day of the pool's calculation period.", clause="6.2.2.2"),
        _date("period_end", "Last day of the pool's calculation period.", clause="6.2.2.2"),
        _enum("gas", "Gas class of the pool's REPs.", GASES, clause="7.3.1"),
        _text("gases", "Greenhouse gases included in the REPs, ';'-separated; empty = not itemized (GHG).",
              clause="6.5, 7.3.1", nullable=True),
        _float("reps_t", "REPs of the pool assigned to the order.", "t-CO2e", gt=0, clause="7.3.1"),
        _bool("same_site", "The pool's site is where the product's crude steel is made (its route's BOF or EAF; "
              "SteelZero's site-level link)."),
        _bool("certifiable", "The project is verified by a third party, so the line may go on a certificate "
              "(false for unverified pools in what-if runs).", clause="6.8"),
        _text("evidence", _EVIDENCE, clause="6.7, 7.2.3"),
    ),
    key=("order_id", "pool_id"),
)

_O = schema.ORDERS
ORDERS_TABLE = Table(
    "orders", "orders.csv", "One row per order of orders.csv, with what it received and its CFPs. Sorted by order_id.",
    (
        _carried(_O, "order_id"),
        _carried(_O, "customer"),
        _carried(_O, "product_id"),
        _carried(_O, "method"),
        _carried(_O, "tonnage_t"),
        _carried(_O, "delivery_date"),
        _carried(_O, "premium"),
        _carried(_O, "gas"),
        _float("alpha_max", "Allocation only: highest GX value alpha, 1 when orders.csv leaves it empty; empty "
               "for mass balance.", "fraction", ge=0, le=1, clause="8.1.1", nullable=True),
        _carried(_O, "requested_reps_t"),
        _float("cap_per_t", "Most REPs per tonne: scope1 + scope2 + rep_term for mass balance (7.3.2); "
               "alpha_max x subject_cfp for allocation (8.1.1, 8.3.2).", "t-CO2e/t", ge=0,
               clause="7.3.2, 8.1.1, 8.3.2"),
        _float("cap_t", "Most REPs the order may take: tonnage_t x cap_per_t, at most requested_reps_t.", "t-CO2e",
               ge=0, clause="7.3.2, 8.1.1"),
        _float("reps_t", "REPs assigned to the order in this run: the sum of its allocation lines.", "t-CO2e", ge=0,
               clause="7.3.1"),
        _float("reps_per_t", "reps_t / tonnage_t.", "t-CO2e/t", ge=0),
        _float("alpha", "GX value: reps_t / (tonnage_t x the full per-tonne cap: mb_cap_cfp for mass balance, "
               "subject_cfp for allocation); 0 without REPs.",
               "fraction", ge=0, le=1, clause="8.1.1"),
        _float("general_cfp", "General CFP of the product.", "t-CO2e/t", ge=0, clause="5"),
        _float("rep_term", "REPs already reflected in the product's General CFP, per tonne: the 7.3.3 correction.",
               "t-CO2e/t", ge=0, clause="7.3.3, 8.3.2"),
        _float("basis_cfp", "The pre-project basis of both methods: general_cfp + rep_term (= Residual CFP).",
               "t-CO2e/t", ge=0, clause="7.3.3, 8.1.1"),
        _float("residual_cfp", "Residual CFP = basis_cfp; allocation orders only, empty for mass balance.",
               "t-CO2e/t", ge=0, clause="8.1.1, 8.3.3", nullable=True),
        _float("allocated_cfp", "Allocated CFP = (scope1 + scope2 + scope3_allocable + rep_term) x (1 - alpha) + "
               "(scope3_upstream - scope3_allocable); allocation orders only, empty for mass balance.", "t-CO2e/t",
               ge=0, clause="8.1.1, 8.1.2, 8.3.3", nullable=True),
        _float("claimed_cfp", "The CFP the buyer may claim: basis_cfp - reps_per_t for mass balance, allocated_cfp "
               "for allocation (the same number).", "t-CO2e/t", ge=0, clause="7.3.3, 8.1.1"),
        _float("gx_tonnage_t", "GX steel tonnage: alpha x tonnage_t.", "t", ge=0, clause="8.1.1"),
        _bool("allocated_above_general", "An allocation order with REPs whose Allocated CFP is above the General "
              "CFP: a worse number for the buyer than the plain CFP."),
        _float("value", "reps_t x premium.", "currency", ge=0),
        _enum("status", "filled: reps_t reaches cap_t; partial: some REPs; unfilled: eligible but no REPs left at "
              "equal or better value; ineligible: see reason.", ORDER_STATUSES),
        _bool("certifiable", "The order received REPs and every one of its lines is certifiable.", clause="6.8"),
        _text("reason", "Why the order is ineligible or unfilled, with the clause; empty otherwise.", nullable=True),
    ),
    key=("order_id",),
)

POOLS_TABLE = Table(
    "pools", "pools.csv", "One row per pool: a project's calculation period of project_periods.csv, with its REPs "
    "and their use. Sorted by project, then period.",
    (
        _text("pool_id", "PROJECT@period_end.", clause="7.2.1"),
        _text("project_id", "The project (projects.csv)."),
        _text("node", "node_id where the project runs.", clause="6.7"),
        _text("site", "Site of the project's unit."),
        _enum("gas", "Gas class of the REPs, used to match orders.", GASES, clause="6.5, 7.3.1"),
        _text("gases", "Greenhouse gases included in the REPs, ';'-separated; CO2 for gas CO2 when projects.csv "
              "leaves it empty; empty = not itemized (GHG).", clause="6.5, 7.3.1", nullable=True),
        _date("period_start", "First day of the calculation period.", clause="6.2.2.2"),
        _date("period_end", "Last day of the calculation period.", clause="6.2.2.2"),
        _text("group", "6.6 node-level group (node#k) of projects at one unit with overlapping periods; empty = "
              "none.", clause="6.6", nullable=True),
        _float("share", "Attribution share of the group's REPs; 1 outside a group.", "fraction", gt=0, le=1,
               clause="6.6"),
        _float("gross_t", "baseline_intensity x output_t - project_emissions_t; negative = an emission increase.",
               "t-CO2e", clause="6, 6.1"),
        _float("period_reps_t", "REPs of the period, signed, after uncertainty (lowered for a reduction, raised "
               "for an increase) and share.", "t-CO2e", clause="6, 6.5, 6.6"),
        _float("netted_t", "Change by netting the project's increases against its other periods.", "t-CO2e", le=0,
               clause="6"),
        _float("reps_t", "REPs the pool holds after netting: period_reps_t + netted_t, never below zero.", "t-CO2e",
               ge=0, clause="6, 6.5"),
        _float("in_cfps_t", "Part of the REPs reflected in the General CFPs of connected products (pro rata by "
               "days): what GX Allocation may move.", "t-CO2e", ge=0, clause="7.3.3, 8.1, 8.3.1"),
        _float("used_before_t", "REPs used by earlier runs (account.csv).", "t-CO2e", ge=0, clause="7.2.1"),
        _float("used_run_t", "REPs used in this run, both methods.", "t-CO2e", ge=0, clause="7.2.1"),
        _float("used_mass_balance_t", "Part of used_run_t given to mass-balance orders.", "t-CO2e", ge=0,
               clause="7.3.1"),
        _float("used_allocation_t", "Part of used_run_t given to allocation orders.", "t-CO2e", ge=0, clause="8.1"),
        _float("used_t", "used_before_t + used_run_t.", "t-CO2e", ge=0, clause="7.2.1"),
        _float("remaining_t", "reps_t - used_t: what the pool still holds.", "t-CO2e", ge=0, clause="7.2.1"),
        _float("available_t", "REPs this run could use: reps_t - used_before_t, not below zero.", "t-CO2e", ge=0,
               clause="7.2.1"),
        _float("alloc_limit_t", "Most this run's GX Allocation may draw: in_cfps_t - used_before_t, not below "
               "zero.", "t-CO2e", ge=0, clause="8.1, 8.3.1"),
        _date("expires", "Mass-balance expiry: period_end + expiry_years (scenario.yaml, default 3).",
              clause="7.2.2"),
        _bool("ended", "The period ended on or before as_of: only ended pools feed orders."),
        _bool("eligible", "The project meets the ch. 6 rules (and is verified, unless a what-if run).",
              clause="6.2.1, 6.3, 6.8"),
        _bool("certifiable", "Eligible and verified by a third party.", clause="6.8"),
        _float("shadow_price", "Dual of the pool account in the value stage: the premium one more t-CO2e in this "
               "pool would earn.", "currency/t-CO2e", ge=0),
        _text("netting", "Where the period's increase was netted, or which increases it absorbed; empty = no "
              "netting.", clause="6", nullable=True),
        _text("reason", "Why the pool feeds no order (project not eligible, period not ended, netted away) or a "
              "netting note; empty otherwise.", nullable=True),
    ),
    key=("pool_id",),
)

_P = schema.PRODUCTS
PRODUCTS_TABLE = Table(
    "products", "products.csv", "One row per product of the plant model: the one basis of both methods, the CFP "
    "breakdown, REPs assigned, emissions and claims. In the plant model's order.",
    (
        _carried(_P, "product_id"),
        _carried(_P, "site"),
        _text("crude_steel_site", "Site of the route's steelmaking unit (BOF, EAF; the first unit when none): "
              "where the product's crude steel is made."),
        _carried(_P, "production_t"),
        _carried(_P, "general_cfp"),
        _float("rep_term", "REPs of connected eligible pools reflected in the General CFP, per tonne (pro rata by "
               "the days inside the CFP data period, over the production of every product connected to the "
               "project): the 7.3.3 correction.", "t-CO2e/t", ge=0, clause="7.3.3, 8.3.2"),
        _float("residual_cfp", "general_cfp + rep_term: the pre-project basis (Residual CFP).", "t-CO2e/t", ge=0,
               clause="8.1.1, 8.3.2"),
        _float("non_gx_cfp", "CFP of the product's steel without GX value: residual_cfp.", "t-CO2e/t", ge=0,
               clause="7.3.3, 8.1.1"),
        _float("mb_cap_cfp", "scope1 + scope2 + rep_term: most mass-balance REPs per tonne.", "t-CO2e/t", ge=0,
               clause="7.3.2"),
        _float("non_allocable", "scope3_upstream - scope3_allocable: stays with every tonne.", "t-CO2e/t", ge=0,
               clause="8.1.2"),
        _float("subject_cfp", "scope1 + scope2 + scope3_allocable + rep_term: the part GX Allocation may move.",
               "t-CO2e/t", ge=0, clause="8.1.1, 8.1.2"),
        _bool("cfp_data_usable", "CFP data ended at most five years before as_of, or data_age_justification is "
              "given; otherwise no order of the product is served.", clause="5.2.2"),
        _carried(_P, "route"),
        _carried(_P, "scope1"),
        _carried(_P, "scope2"),
        _carried(_P, "scope3_upstream"),
        _carried(_P, "scope3_allocable"),
        _carried(_P, "scrap_share"),
        _carried(_P, "cfp_period_start"),
        _carried(_P, "cfp_period_end"),
        _carried(_P, "data_age_justification"),
        _float("allocated_reps_t", "REPs given to the product's allocation orders in this run.", "t-CO2e", ge=0,
               clause="8.1"),
        _float("mb_reps_t", "REPs given to the product's mass-balance orders in this run.", "t-CO2e", ge=0,
               clause="7.3.1"),
        _float("emissions_general_t", "production_t x general_cfp: emissions as the General CFP measures them.",
               "t-CO2e", ge=0, clause="8.1"),
        _float("emissions_residual_t", "production_t x residual_cfp.", "t-CO2e", ge=0, clause="8.3.1"),
        _float("emissions_after_allocation_t", "emissions_residual_t - allocated_reps_t.", "t-CO2e", clause="8.1"),
        _float("gx_order_t", "Tonnage of the product's orders that received REPs.", "t", ge=0),
        _float("claims_gx_t", "Sum over those orders of tonnage_t x claimed_cfp.", "t-CO2e", clause="7.3.3, 8.1.1"),
        _float("claims_t", "claims_gx_t + non_gx_cfp x (production_t - gx_order_t): what buyers may claim for the "
               "product, both methods.", "t-CO2e", clause="7.3.3, 8.1"),
    ),
    key=("product_id",),
)

PROJECTS_TABLE = Table(
    "projects", "projects.csv", "One row per project of projects.csv (every column of it, extra columns after "
    "technology), with its eligibility and REPs. Sorted by project_id.",
    _carried_all(schema.PROJECTS) + (
        _text("site", "Site of the project's unit."),
        _bool("eligible", "The project meets the ch. 6 rules (and is verified, unless a what-if run): its pools may "
              "feed orders.", clause="6.2.1, 6.3, 6.8"),
        _bool("certifiable", "Eligible and verified by a third party.", clause="6.8"),
        _text("reason", "Why the project is not eligible, with the clause; empty = eligible.",
              clause="6.2.1.1, 6.2.1.2, 6.3, 6.8", nullable=True),
        _float("reps_t", "REPs the project's pools hold, all periods (after netting and the 6.6 share).", "t-CO2e",
               ge=0, clause="6, 6.5"),
        _float("used_run_t", "The project's REPs used in this run, both methods.", "t-CO2e", ge=0, clause="7.2.1"),
    ),
    key=("project_id",),
    extra={EXTRA_COLUMNS_AFTER: "technology"},
)

CONNECTIONS_TABLE = Table(
    "connections", "connections.csv", "Every physically connected (project, product) pair, eligible or not, "
    "sorted by both ids.",
    (
        _text("project_id", "A project of projects.csv."),
        _text("product_id", "A product of the plant model."),
        _text("evidence", _EVIDENCE, clause="6.7, 7.2.3"),
    ),
    key=("project_id", "product_id"),
)

RESULT_TABLES: tuple[Table, ...] = (ALLOCATIONS_TABLE, ORDERS_TABLE, POOLS_TABLE, PRODUCTS_TABLE, PROJECTS_TABLE,
                                    CONNECTIONS_TABLE)


def result_table(name: str) -> Table:
    """The result table called ``name`` (the file stem, e.g. ``orders``)."""
    for t in RESULT_TABLES:
        if t.name == name:
            return t
    raise KeyError(name)


def check_frame(table: Table, frame: pd.DataFrame) -> list[str]:
    """The differences between ``frame``'s columns and ``table``: duplicate, missing, unexpected, out of order.

    Empty when the frame has exactly the schema's columns in the schema's order (plus, for a table with
    ``extra[EXTRA_COLUMNS_AFTER]``, any block of other columns right after that column: the extra columns
    of the input file).
    """
    names = [c.name for c in table.columns]
    known = set(names)
    cols = [str(c) for c in frame.columns]
    out: list[str] = []
    seen: set[str] = set()
    for c in cols:
        if c in seen:
            out.append(f"{table.file}: duplicate column {c}")
        seen.add(c)
    out += [f"{table.file}: missing column {n}" for n in names if n not in seen]
    carried: set[str] = set()
    after = table.extra.get(EXTRA_COLUMNS_AFTER)
    if after in cols:
        i = cols.index(after) + 1
        while i < len(cols) and cols[i] not in known:
            carried.add(cols[i])
            i += 1
    out += [f"{table.file}: unexpected column {c}" for c in dict.fromkeys(cols) if c not in known and c not in carried]
    present = [c for c in dict.fromkeys(cols) if c in known]
    expected = [n for n in names if n in seen]
    if present != expected:
        k = next(i for i, (a, b) in enumerate(zip(present, expected)) if a != b)
        out.append(f"{table.file}: columns out of order: {present[k]} where {expected[k]} belongs "
                   f"(expected order {', '.join(expected)})")
    return out


def _kind(c: Column) -> str:
    kind = c.kind if c.kind != "enum" else " / ".join(c.choices)
    bounds = [f"{op} {val:g}" for op, val in (("≥", c.ge), (">", c.gt), ("≤", c.le), ("<", c.lt)) if val is not None]
    return kind + (" (" + ", ".join(bounds) + ")" if bounds else "")


def markdown_output(table: Table) -> str:
    """Render one result table as a markdown section of docs/file-contract.md."""
    key = " + ".join(f"`{k}`" for k in table.key)
    rows = [f"### `{table.file}` (result)", "", f"{table.description} Key: {key}.", ""]
    after = table.extra.get(EXTRA_COLUMNS_AFTER)
    if after:
        rows += [f"Extra columns of the input file are carried through after `{after}`.", ""]
    rows += ["| column | type | unit | empty cells | meaning | clause |", "|---|---|---|---|---|---|"]
    for c in table.columns:
        rows.append(f"| {c.name} | {_kind(c)} | {c.unit} | {'may be empty' if c.nullable else 'never'} | "
                    f"{c.description} | {c.clause or ''} |")
    return "\n".join(rows) + "\n"


def markdown_outputs() -> str:
    """Every result table as markdown, in the order of :data:`RESULT_TABLES` (the docs' output part)."""
    return "\n".join(markdown_output(t) for t in RESULT_TABLES)


if __name__ == "__main__":  # python -m gxopt.outputs: print the markdown for docs/file-contract.md
    print(markdown_outputs(), end="")
