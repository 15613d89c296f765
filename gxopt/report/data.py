"""Everything the report shows, read once: a gxopt result folder and, optionally, the ledger (read only).

Without a ledger every served order of the result folder becomes a *draft* certificate ("draft - not
issued", :mod:`gxopt.report.drafts`); with a ledger the certificates are the ledger's own (issued and void),
with the numbers as issued (:mod:`gxopt.report.ledger_view`). Product and project facts (names, routes, sites,
scrap share, technology) come from the inputs kept in the result folder (``inputs/``, :mod:`gxopt.report.facts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gxopt.errors import InputError, Issue
from gxopt.report import facts
from gxopt.report.certificate import Certificate
from gxopt.report.drafts import draft_certificates
from gxopt.report.fmt import missing
from gxopt.report.ledger_view import Ledger, compare_inputs, ledger_certificates, read_ledger
from gxopt.resultdir import RESULT_BOOK, read_result_tables
from gxopt.scenario import Scenario
from gxopt.settings import organization_code

RESULT_TABLES = ("allocations", "orders", "pools", "products", "projects", "connections")
DATE_COLUMNS = ("delivery_date", "period_start", "period_end", "expires", "cfp_period_start", "cfp_period_end")
BOOL_COLUMNS = ("same_site", "certifiable", "eligible", "ended", "verified", "steel", "cfp_data_usable")
TEXT_COLUMNS = ("reason", "gas", "gases", "group", "additionality", "verifier", "statement_id", "technology", "name",
                "customer", "evidence", "route", "site", "crude_steel_site", "node", "kind", "method", "status",
                "netting", "data_age_justification")
GUIDELINE = "JISF GX Steel Guidelines v4.1"


@dataclass
class ReportData:
    """A result folder, its inputs and (optionally) the ledger, ready for every output of the report."""

    result_dir: Path
    summary: dict[str, Any]
    scenario: Scenario
    tables: dict[str, pd.DataFrame]
    certificates: list[Certificate]
    ledger: Ledger | None
    notes: list[str]

    @property
    def mode(self) -> str:
        """``ledger`` or ``draft``."""
        return "ledger" if self.ledger is not None else "draft"

    @property
    def organization(self) -> str:
        """The scheme owner (ch. 9)."""
        return self.scenario.model.meta.organization

    @property
    def org_code(self) -> str:
        """The organization code used in certificate ids."""
        return organization_code(self.scenario.model.meta)

    @property
    def country(self) -> str | None:
        """ISO 3166-1 alpha-2 country of the organization, when model.yaml gives one."""
        return self.scenario.model.meta.country

    @property
    def products(self) -> pd.DataFrame:
        """Result products table (with names from the inputs)."""
        return self.tables["products"]

    @property
    def project_facts(self) -> dict[str, dict[str, Any]]:
        """Per project: name, technology, additionality, node, site, verifier, statement, gases, whether it
        raises scrap use."""
        return facts.project_facts(self.scenario)

    @property
    def scenario_name(self) -> str:
        """Name of the run."""
        return str(self.summary.get("scenario") or self.scenario.name)


def load(result_dir: str | Path, db_url: str | None = None) -> ReportData:
    """Read and check a result folder (and the ledger at ``db_url``); raise :class:`InputError` when unusable."""
    root = Path(result_dir)
    if not root.exists():
        raise InputError([Issue(str(root), None, None, "result folder not found")])
    if not root.is_dir():
        raise InputError([Issue(str(root), None, None, "not a folder; give the folder written by `gxopt run --out`")])
    issues = []
    if not (root / "summary.json").is_file():
        issues.append(Issue(str(root), None, None, "not a gxopt result folder: summary.json is missing "
                                                     "(write one with `gxopt run SCENARIO --out DIR`)"))
        raise InputError(issues)
    for t in RESULT_TABLES:
        if not any((root / f"{t}{ext}").is_file() for ext in (".csv", ".parquet")) and not (root / RESULT_BOOK).is_file():
            issues.append(Issue(str(root / f"{t}.csv"), None, None, "result table missing"))
    if not (root / "inputs" / "scenario" / "scenario.yaml").is_file():
        issues.append(Issue(str(root / "inputs"), None, None,
                            "the result folder keeps no copy of its inputs (inputs/scenario, inputs/model); "
                            "rerun `gxopt run` to write a complete result folder"))
    try:
        summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
        if not isinstance(summary, dict) or "totals" not in summary:
            issues.append(Issue(str(root / "summary.json"), None, None, "not a gxopt run summary"))
        elif not isinstance(summary.get("claims"), dict):
            issues.append(Issue(str(root / "summary.json"), None, "claims",
                                "no claims block (buyers' claims vs actual emissions): written by an older gxopt; "
                                "rerun `gxopt run` to write a result folder of this version"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        issues.append(Issue(str(root / "summary.json"), None, None, f"not valid JSON: {exc}"))
        summary = {}
    if issues:
        raise InputError(issues)

    from gxopt.pipeline import load as load_scenario

    scenario = load_scenario(root / "inputs" / "scenario")  # raises InputError naming every bad cell
    tables = {t: _read_table(root, t) for t in RESULT_TABLES}
    _check_columns(root, tables)
    _add_names(tables, scenario)
    notes: list[str] = []
    ledger = None
    if db_url:
        ledger = read_ledger(db_url)
        certs = ledger_certificates(ledger, scenario, tables, notes)
        compare_inputs(ledger, summary, notes)
    else:
        certs = draft_certificates(scenario, tables, summary, notes)
    return ReportData(root, summary, scenario, tables, certs, ledger, notes)


REQUIRED_COLUMNS = {
    "allocations": ("order_id", "product_id", "method", "project_id", "pool_id", "period_start", "period_end", "gas",
                    "gases", "reps_t", "same_site", "certifiable", "evidence"),
    "orders": ("order_id", "customer", "product_id", "method", "tonnage_t", "reps_t", "alpha", "general_cfp",
               "rep_term", "basis_cfp", "residual_cfp", "allocated_cfp", "claimed_cfp", "gx_tonnage_t", "status",
               "certifiable", "cap_t", "cap_per_t"),
    "pools": ("pool_id", "project_id", "node", "site", "gas", "gases", "period_start", "period_end", "period_reps_t",
              "netted_t", "reps_t", "in_cfps_t", "netting", "used_before_t", "used_run_t", "used_t", "remaining_t",
              "expires", "ended", "eligible", "certifiable"),
    "products": ("product_id", "site", "crude_steel_site", "production_t", "general_cfp", "rep_term", "residual_cfp",
                 "non_gx_cfp", "mb_cap_cfp", "subject_cfp", "non_allocable", "cfp_data_usable", "scrap_share",
                 "emissions_general_t", "gx_order_t", "claims_gx_t", "claims_t"),
    "projects": ("project_id", "name", "node", "kind", "additionality", "gas", "verified", "verifier",
                 "statement_id", "site", "eligible", "certifiable", "reason", "reps_t"),
    "connections": ("project_id", "product_id", "evidence"),
}


def _check_columns(root: Path, tables: dict[str, pd.DataFrame]) -> None:
    issues = [Issue(str(root / f"{t}.csv"), None, c, "column missing: not a result table of this gxopt version")
              for t, cols in REQUIRED_COLUMNS.items() for c in cols if c not in tables[t].columns]
    if issues:
        raise InputError(issues)


def _read_table(root: Path, name: str) -> pd.DataFrame:
    """One result table in whichever format the run wrote (CSV, Parquet or results.xlsx), typed for documents."""
    file = root / f"{name}.csv"
    try:
        frame = read_result_tables(root, (name,))[name]
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError([Issue(str(file), None, None, f"cannot be read as CSV: {exc}".splitlines()[0])]) from None
    except pd.errors.EmptyDataError:
        raise InputError([Issue(str(file), None, None, "empty file: not a result table")]) from None
    for c in frame.columns:
        if c in DATE_COLUMNS:
            frame[c] = pd.to_datetime(frame[c], errors="coerce").astype("datetime64[ns]")
        elif c in BOOL_COLUMNS:
            frame[c] = frame[c].map(_to_bool).astype(object)
        elif c in TEXT_COLUMNS or frame[c].dtype == object or str(frame[c].dtype).startswith("str"):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _to_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if missing(v):
        return None
    return str(v).strip().lower() == "true"


def _add_names(tables: dict[str, pd.DataFrame], s: Scenario) -> None:
    raw = s.model.products.set_index("product_id")
    names = raw["name"] if "name" in raw.columns else pd.Series(dtype=object)
    tables["products"]["name"] = tables["products"]["product_id"].map(names).map(lambda v: "" if missing(v) else v)


