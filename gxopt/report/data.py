"""Everything the report shows, read once: a gxopt result folder and, optionally, the ledger (read only).

Without a ledger every served order of the result folder becomes a *draft* certificate ("draft - not
issued"); with a ledger the certificates are the ledger's own (issued and void), with the numbers as
issued. Product and project facts (names, routes, sites, scrap share, technology) come from the inputs
kept in the result folder (``inputs/``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gxopt.errors import InputError, Issue
from gxopt.graph import parse_evidence
from gxopt.resultdir import RESULT_BOOK, read_result_tables
from gxopt.report.fmt import missing
from gxopt.scenario import Scenario
from gxopt.settings import organization_code

RESULT_TABLES = ("allocations", "orders", "pools", "products", "projects", "connections")
DATE_COLUMNS = ("delivery_date", "period_start", "period_end", "expires", "cfp_period_start", "cfp_period_end")
BOOL_COLUMNS = ("same_site", "certifiable", "eligible", "ended", "verified", "steel", "cfp_data_usable")
TEXT_COLUMNS = ("reason", "gas", "gases", "group", "additionality", "verifier", "statement_id", "technology", "name",
                "customer", "evidence", "route", "site", "crude_steel_site", "node", "kind", "method", "status",
                "netting", "data_age_justification")
GUIDELINE = "JISF GX Steel Guidelines v4.1"
# Optional columns of the plant model's products.csv for the SteelZero lens: the site-level intensity of the site
# where the product's crude steel is made (t-CO2e per t crude steel, cradle-to-crude-steel, e.g. as certified
# under ResponsibleSteel) and that site's scrap share (0..1; the product's scrap share when not given).
SITE_INTENSITY_COLUMNS = ("crude_steel_intensity", "crude_steel_scrap_share")


@dataclass
class Line:
    """One REP line of a certificate: REPs from one pool (project x calculation period)."""

    line_no: int
    pool_id: str
    project_id: str
    project_name: str
    technology: str
    additionality: str
    node: str
    project_site: str
    period_start: str
    period_end: str
    gas: str
    reps_t: float
    evidence: str
    same_site: bool | None
    verifier: str
    statement_id: str
    gases: str = ""  # the greenhouse gases included, ';'-separated (CO2;CH4;N2O); "" = not itemized (6.5, 7.3.1)
    product_site: str = ""  # where the product's crude steel is made (the site ``same_site`` compares with)
    raises_scrap_use: bool = False  # the project raises the use of scrap (SteelZero's scrap-recovery condition)

    @property
    def gases_label(self) -> str:
        """The gases included in the REPs as printed on the certificate (7.3.1, 6.5): the list, never the class
        alone; a GHG-class project that lists no gases says so."""
        if self.gases:
            return self.gases
        if self.gas == "CO2":
            return "CO2"
        return f"{self.gas} (gases not itemized in projects.csv)" if self.gas else "not stated"

    @property
    def connection(self) -> str:
        """How the project's unit reaches the product (6.7): on its own line, or feeding it."""
        return connection_kind(self.evidence)

    @property
    def link(self) -> str:
        """SteelZero's question: REPs from the site where the product's crude steel is made, or pooled across
        sites."""
        if self.same_site is None:
            return "unknown"
        return "same site" if self.same_site else "pooled across sites"

    @property
    def link_detail(self) -> str:
        """The site link in words, naming both sites."""
        where = (f"project at {self.project_site or 'an unknown site'}; crude steel made at "
                 f"{self.product_site or 'an unknown site'}")
        if self.same_site is None:
            return f"unknown ({where})"
        if self.same_site:
            return f"same site: from the product's crude-steel site ({self.project_site})"
        return f"pooled across sites: NOT from the product's crude-steel site ({where})"


def connection_kind(evidence: str) -> str:
    """``material route`` (the project's unit is on the product's line), or the feeder kinds it passes."""
    kinds = {k for k in parse_evidence(evidence)[1] if k != "material"} if evidence else set()
    if not kinds:
        return "material route"
    return " and ".join(sorted(kinds)) + " supply"


@dataclass
class Certificate:
    """A certificate as a document: a reduction certificate (7.3/7.5) or a CFP certificate (8.5).

    Both methods share one basis per product: the General CFP plus the REPs already reflected in it per
    tonne (``rep_term``, the 7.3.3 correction). A mass-balance buyer may claim ``basis - REPs per tonne``;
    a GX Allocation buyer the Allocated CFP. ``basis_cfp`` / ``stated_claimed_cfp`` are the numbers as the
    certificate states them (the ledger's columns, or the run's orders table); None when not known.
    """

    certificate_id: str
    status: str  # draft | issued | void
    method: str  # mass_balance | allocation
    order_id: str
    customer: str
    product_id: str
    tonnage_t: float
    reps_t: float
    general_cfp: float
    residual_cfp: float | None
    allocated_cfp: float | None
    alpha: float
    gx_tonnage_t: float
    lines: list[Line]
    product: dict[str, Any]
    delivery_date: str = ""
    issued_at: str = ""
    batch_id: str = ""
    voided_at: str = ""
    void_reason: str = ""
    digest: str = ""
    certifiable: bool = True
    not_certifiable_reason: str = ""
    transfers: list[dict[str, Any]] = field(default_factory=list)
    basis_cfp: float | None = None
    stated_claimed_cfp: float | None = None

    @property
    def rep_term(self) -> float | None:
        """The 7.3.3 correction: REPs already reflected in the General CFP, per tonne (basis - General)."""
        return None if self.basis_cfp is None else self.basis_cfp - self.general_cfp

    @property
    def draft(self) -> bool:
        """A draft was produced from a result folder and never issued."""
        return self.status == "draft"

    @property
    def kind(self) -> str:
        """``reduction`` (GX Mass Balance, 7.3) or ``cfp`` (GX Allocation, 8.5)."""
        return "reduction" if self.method == "mass_balance" else "cfp"

    @property
    def title(self) -> str:
        """Document title."""
        return ("Reduction Certificate - GX Mass Balance" if self.kind == "reduction"
                else "CFP Certificate - GX Allocation")

    @property
    def reps_per_t(self) -> float:
        """REPs per tonne of the purchased steel."""
        return self.reps_t / self.tonnage_t if self.tonnage_t else 0.0

    @property
    def reduction_t(self) -> float:
        """Reduction achieved by the purchase: REPs; for allocation (Residual - Allocated) x tonnage (8.5)."""
        if self.method == "allocation" and self.residual_cfp is not None and self.allocated_cfp is not None:
            return (self.residual_cfp - self.allocated_cfp) * self.tonnage_t
        return self.reps_t

    @property
    def claimed_cfp(self) -> float | None:
        """The CFP per tonne the buyer may claim: the Allocated CFP (8.1.1), or the basis less the REPs per
        tonne (7.3.3, Figure 1: 3.0 - 2.3 = 0.7); None when the basis is not known."""
        if self.method == "allocation" and self.allocated_cfp is not None:
            return self.allocated_cfp
        if self.stated_claimed_cfp is not None:
            return self.stated_claimed_cfp
        return None if self.basis_cfp is None else self.basis_cfp - self.reps_per_t

    @property
    def gases(self) -> str:
        """Gas classes of the REPs (``gas``: CO2 or GHG, the class orders are matched on)."""
        return ", ".join(sorted({ln.gas for ln in self.lines})) or "–"

    @property
    def gases_included(self) -> str:
        """The greenhouse gases included in the REPs of this certificate (7.3.1, 6.5), ';'-separated in the
        order of the lines; the class with a note for a GHG project that lists none."""
        out: list[str] = []
        for ln in self.lines:
            for g in (ln.gases.split(";") if ln.gases else [ln.gases_label]):
                if g.strip() and g.strip() not in out:
                    out.append(g.strip())
        return ";".join(out) or "–"

    @property
    def crude_steel_site(self) -> str:
        """Where the product's crude steel is made (the site of its route's BOF/EAF unit)."""
        return str(self.product.get("crude_steel_site") or "")

    @property
    def allocated_above_general(self) -> bool:
        """Buyer protection: a CFP certificate whose Allocated CFP is above the product's General CFP (the buyer
        would pay for a higher footprint than the product's ordinary one)."""
        return (self.method == "allocation" and self.allocated_cfp is not None
                and self.allocated_cfp > self.general_cfp + 1e-9)

    @property
    def warnings(self) -> list[str]:
        """Warnings the document must show to the buyer."""
        if not self.allocated_above_general:
            return []
        return [f"WARNING: the Allocated CFP {self.allocated_cfp:.4f} t-CO2e/t on this certificate is ABOVE the "
                f"product's General CFP {self.general_cfp:.4f} t-CO2e/t (by "
                f"{(self.allocated_cfp or 0.0) - self.general_cfp:.4f}): the buyer gets a higher footprint than "
                "the product's ordinary CFP for a GX premium. The Allocated CFP is taken from the Residual CFP "
                f"{self.residual_cfp or 0.0:.4f} (General CFP + the REPs already reflected in it, 8.1.1, 8.3.2); "
                f"with alpha = {self.alpha:.4f} it stays above the General CFP. A higher alpha or GX Mass Balance "
                "would avoid this."]

    @property
    def passed_on_t(self) -> float:
        """Attributes already passed on to secondary customers directly from this certificate (7.5)."""
        return sum(t["reps_t"] for t in self.transfers if not t.get("parent_transfer_id"))

    @property
    def slug(self) -> str:
        """File-name-safe id."""
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in self.certificate_id)


@dataclass
class Ledger:
    """What the report reads from the ledger (read only)."""

    url: str
    pools: pd.DataFrame
    balances: pd.DataFrame
    journal: pd.DataFrame
    journal_rows: list[dict[str, Any]]
    certificates: list[dict[str, Any]]
    certificate_lines: list[dict[str, Any]]
    transfers: pd.DataFrame
    batches: pd.DataFrame
    head: dict[str, Any]
    audit_problems: list[str]


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
        return _project_facts(self.scenario)

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
        _compare_inputs(ledger, summary, notes)
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


def _text(v: Any) -> str:
    return "" if missing(v) else str(v)


def product_facts(product_id: str, s: Scenario, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Static facts of a product for the documents (inputs and result products table)."""
    res = tables["products"].set_index("product_id")
    raw = s.model.products.set_index("product_id")
    nodes = s.model.nodes.set_index("node_id")
    if product_id not in raw.index:
        return {"product_id": product_id, "known": False, "name": "", "site": "", "crude_steel_site": "",
                "route": "", "route_names": ""}
    r = raw.loc[product_id]
    route = [n.strip() for n in str(r["route"]).split(">")]
    node_names = nodes["name"] if "name" in nodes.columns else pd.Series(dtype=object)
    facts = {
        "product_id": product_id, "known": True, "name": _text(r.get("name")), "site": _text(r["site"]),
        "route": " > ".join(route),
        "route_names": " > ".join(_text(node_names.get(n)) or n for n in route),
        "production_t": float(r["production_t"]), "general_cfp": float(r["general_cfp"]),
        "scope1": float(r["scope1"]), "scope2": float(r["scope2"]), "scope3_upstream": float(r["scope3_upstream"]),
        "scope3_allocable": float(r["scope3_allocable"]), "scrap_share": float(r["scrap_share"]),
        "cfp_period_start": r["cfp_period_start"].strftime("%Y-%m-%d"),
        "cfp_period_end": r["cfp_period_end"].strftime("%Y-%m-%d"),
    }
    for extra in ("cpc", "primary_data_share", "exempted_emissions_percent", "fossil_carbon_content",
                  "cfp_reference", "description", *SITE_INTENSITY_COLUMNS):
        facts[extra] = None if extra not in raw.columns or missing(r.get(extra)) else r.get(extra)
    if product_id in res.index:
        p = res.loc[product_id]
        facts.update({k: float(p[k]) for k in ("residual_cfp", "non_gx_cfp", "mb_cap_cfp", "subject_cfp",
                                               "non_allocable") if k in p.index and not missing(p[k])})
        facts["rep_term"] = float(p["rep_term"]) if "rep_term" in p.index and not missing(p["rep_term"]) else 0.0
        facts["cfp_data_usable"] = None if missing(p.get("cfp_data_usable")) else bool(p["cfp_data_usable"])
        facts["crude_steel_site"] = _text(p.get("crude_steel_site"))
    else:
        facts["crude_steel_site"] = ""
    facts["data_age_justification"] = (None if "data_age_justification" not in raw.columns
                                       or missing(r.get("data_age_justification"))
                                       else str(r["data_age_justification"]))
    return facts


def raises_scrap_use(name: str, technology: str, kind: str, process: str) -> bool:
    """Whether a project raises the use of scrap (a constrained resource for SteelZero): its name or technology
    mentions scrap, or it is a process conversion at an electric arc furnace."""
    text = f"{name} {technology}".lower()
    return "scrap" in text or (kind == "process_conversion" and process.lower() == "eaf")


def _project_facts(s: Scenario) -> dict[str, dict[str, Any]]:
    nodes = s.model.nodes.drop_duplicates("node_id").set_index("node_id")
    out = {}
    for p in s.projects.itertuples():
        node = p.node
        site = _text(nodes["site"].get(node)) if node in nodes.index else ""
        process = _text(nodes["process"].get(node)) if node in nodes.index and "process" in nodes.columns else ""
        out[p.project_id] = {
            "name": _text(p.name), "technology": _text(getattr(p, "technology", "")),
            "additionality": _text(p.additionality), "node": _text(node), "site": site,
            "verifier": _text(p.verifier), "statement_id": _text(p.statement_id),
            "gases": _text(getattr(p, "gases", "")),
            "raises_scrap_use": raises_scrap_use(_text(p.name), _text(getattr(p, "technology", "")),
                                                 _text(p.kind), process),
        }
    return out


def draft_certificates(s: Scenario, tables: dict[str, pd.DataFrame], summary: dict[str, Any],
                       notes: list[str]) -> list[Certificate]:
    """One draft certificate per served order of the result folder (never issued)."""
    orders = tables["orders"]
    al = tables["allocations"]
    projects = _project_facts(s)
    served = orders[orders["reps_t"] > 0].sort_values("order_id")
    what_if = bool(summary.get("what_if"))
    if what_if:
        notes.append("what-if run (allow_unverified: true): unverified REPs may feed orders; none of these "
                     "drafts can ever be issued (6.8)")
    out = []
    for o in served.itertuples():
        facts = product_facts(o.product_id, s, tables)
        rows = al[al["order_id"] == o.order_id].sort_values("pool_id")
        lines = []
        for i, r in enumerate(rows.itertuples(), start=1):
            pf = projects.get(r.project_id, {})
            lines.append(Line(i, r.pool_id, r.project_id, pf.get("name", ""), pf.get("technology", ""),
                              pf.get("additionality", ""), pf.get("node", ""), pf.get("site", ""),
                              r.period_start.strftime("%Y-%m-%d"), r.period_end.strftime("%Y-%m-%d"), r.gas,
                              float(r.reps_t), r.evidence, bool(r.same_site) if r.same_site is not None else None,
                              pf.get("verifier", ""), pf.get("statement_id", ""), gases=_gases(r.gas, r.gases),
                              product_site=facts.get("crude_steel_site", ""),
                              raises_scrap_use=bool(pf.get("raises_scrap_use"))))
        certifiable = bool(o.certifiable)
        reason = ""
        if not certifiable:
            reason = ("what-if run: unverified REPs (6.8)" if what_if
                      else "some REPs come from pools that are not third-party verified (6.8)")
        out.append(Certificate(
            certificate_id=f"DRAFT-{o.order_id}", status="draft", method=o.method, order_id=o.order_id,
            customer=o.customer, product_id=o.product_id, tonnage_t=float(o.tonnage_t), reps_t=float(o.reps_t),
            general_cfp=float(o.general_cfp), residual_cfp=_opt(o.residual_cfp), allocated_cfp=_opt(o.allocated_cfp),
            alpha=float(o.alpha), gx_tonnage_t=float(o.gx_tonnage_t), lines=lines, product=facts,
            delivery_date=o.delivery_date.strftime("%Y-%m-%d") if not missing(o.delivery_date) else "",
            certifiable=certifiable, not_certifiable_reason=reason, basis_cfp=_opt(o.basis_cfp),
            stated_claimed_cfp=_opt(o.claimed_cfp)))
    return out


def _opt(v: Any) -> float | None:
    return None if missing(v) else float(v)


def _gases(gas: Any, gases: Any) -> str:
    """The gases included (``gases`` of the run's tables); CO2 for the CO2 class when none are listed."""
    listed = ";".join(g.strip() for g in _text(gases).split(";") if g.strip())
    return listed or ("CO2" if _text(gas) == "CO2" else "")


# --------------------------------------------------------------------------------------------- ledger


def read_ledger(url: str) -> Ledger:
    """Read the ledger at ``url`` (SQLAlchemy Core selects only); refuse a URL that holds no gxopt ledger."""
    _check_is_ledger(url)
    from gxopt.ledger import journal as jr
    from gxopt.ledger.audit import audit
    from gxopt.ledger.db import connect
    from gxopt.ledger.tables import (G_PER_T, attribute_transfers, batches, certificate_lines, certificates,
                                     journal, pool_balance, pools)

    try:
        engine = connect(url)
        with engine.connect() as conn:
            lp = pd.DataFrame([dict(r) for r in conn.execute(sa.select(pools).order_by(pools.c.pool_id)).mappings()],
                              columns=[c.name for c in pools.columns])
            bal = pd.DataFrame([dict(r) for r in conn.execute(
                sa.select(pool_balance).order_by(pool_balance.c.pool_id)).mappings()],
                columns=[c.name for c in pool_balance.columns])
            jrows = [dict(r) for r in conn.execute(sa.select(journal).order_by(journal.c.seq)).mappings()]
            crows = [dict(r) for r in conn.execute(
                sa.select(certificates).order_by(certificates.c.certificate_id)).mappings()]
            lrows = [dict(r) for r in conn.execute(sa.select(certificate_lines).order_by(
                certificate_lines.c.certificate_id, certificate_lines.c.line_no)).mappings()]
            tr = pd.DataFrame([dict(r) for r in conn.execute(sa.select(attribute_transfers).order_by(
                attribute_transfers.c.transfer_id)).mappings()], columns=[c.name for c in attribute_transfers.columns])
            bt = pd.DataFrame([dict(r) for r in conn.execute(sa.select(batches).order_by(
                batches.c.started_at)).mappings()], columns=[c.name for c in batches.columns])
            seq, head_hash = jr.head(conn)
            problems = audit(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError([Issue(_safe_url(url), None, None,
                                f"cannot read the ledger: {str(exc).splitlines()[0]}")]) from None
    j = pd.DataFrame(jrows, columns=[c.name for c in journal.columns])
    j["amount_t"] = j["amount_g"].astype("float64") / G_PER_T
    tr["reps_t"] = tr["reps_g"].astype("float64") / G_PER_T
    return Ledger(_safe_url(url), lp, bal, j, jrows, crows, lrows, tr, bt, {"seq": seq, "hash": head_hash}, problems)


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _check_is_ledger(url: str) -> None:
    """Refuse URLs that hold no gxopt ledger, before :func:`gxopt.ledger.db.connect` would migrate (write) them."""
    shown = _safe_url(url)
    try:
        u = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise InputError([Issue(url, None, None, "not a database URL (sqlite:///gx.db or "
                                                 "postgresql+psycopg://user@host/db)")]) from None
    required = {"journal", "certificates", "certificate_lines", "pools", "pool_balance", "alembic_version"}
    if u.get_backend_name() == "sqlite":
        db = u.database
        if not db or db == ":memory:":
            raise InputError([Issue(shown, None, None, "an in-memory SQLite database holds no ledger")])
        if not Path(db).is_file():
            raise InputError([Issue(shown, None, None, f"ledger database file not found: {db}")])
        try:
            con = sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)
            try:
                names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise InputError([Issue(shown, None, None, f"not a SQLite database: {exc}")]) from None
    else:
        try:
            engine = sa.create_engine(url)
            try:
                names = set(sa.inspect(engine).get_table_names())
            finally:
                engine.dispose()
        except sa.exc.SQLAlchemyError as exc:
            raise InputError([Issue(shown, None, None,
                                    f"cannot open the ledger database: {str(exc).splitlines()[0]}")]) from None
    lacking = sorted(required - names)
    if lacking:
        raise InputError([Issue(shown, None, None, "not a gxopt ledger (tables missing: " + ", ".join(lacking)
                                + "); run `gxopt batch SCENARIO --db URL` first")])


def ledger_certificates(led: Ledger, s: Scenario, tables: dict[str, pd.DataFrame],
                        notes: list[str]) -> list[Certificate]:
    """The ledger's certificates of this organization, as documents, with the numbers as issued."""
    from gxopt.ledger.tables import G_PER_T

    code = organization_code(s.model.meta)
    projects = _project_facts(s)
    pools = led.pools.set_index("pool_id") if len(led.pools) else pd.DataFrame()
    run_pools = tables["pools"].drop_duplicates("pool_id").set_index("pool_id")
    orders = tables["orders"].set_index("order_id")
    issue_digest: dict[str, str] = {}
    for r in led.journal_rows:
        if r["kind"] == "issue" and r.get("certificate_id") and r["certificate_id"] not in issue_digest:
            issue_digest[r["certificate_id"]] = json.loads(r["meta"] or "{}").get("certificate_digest", "")
    lines_by: dict[str, list[dict[str, Any]]] = {}
    for ln in led.certificate_lines:
        lines_by.setdefault(ln["certificate_id"], []).append(ln)
    transfers_by: dict[str, list[dict[str, Any]]] = {}
    for t in led.transfers.to_dict("records"):
        transfers_by.setdefault(t["certificate_id"], []).append(t)
    out, foreign = [], []
    for c in led.certificates:
        cid = c["certificate_id"]
        if not cid.startswith(f"GX-{code}-"):
            foreign.append(cid)
            continue
        facts = product_facts(c["product_id"], s, tables)
        lines = []
        for ln in lines_by.get(cid, []):
            pf = projects.get(ln["project_id"], {})
            pool = pools.loc[ln["pool_id"]] if ln["pool_id"] in pools.index else None
            run_pool = run_pools.loc[ln["pool_id"]] if ln["pool_id"] in run_pools.index else None
            # the same rule as the run's allocations.csv same_site: the pool's site against the site where the
            # product's crude steel is made (the run's products table), so draft and ledger reports agree
            psite = _text(run_pool["site"]) if run_pool is not None else pf.get("site", "")
            csite = facts.get("crude_steel_site", "")
            same = (psite == csite) if psite and csite else None
            gases = (_gases(ln["gas"], run_pool["gases"]) if run_pool is not None
                     else _gases(ln["gas"], pf.get("gases", "")))
            lines.append(Line(
                int(ln["line_no"]), ln["pool_id"], ln["project_id"], pf.get("name", ""), pf.get("technology", ""),
                pf.get("additionality", ""), pf.get("node", ""), psite,
                str(pool["period_start"]) if pool is not None else "", str(ln["period_end"]), ln["gas"],
                int(ln["reps_g"]) / G_PER_T, ln["evidence"], same,
                _text(pool["verifier"]) if pool is not None else pf.get("verifier", ""),
                _text(pool["statement_id"]) if pool is not None else pf.get("statement_id", ""), gases=gases,
                product_site=csite, raises_scrap_use=bool(pf.get("raises_scrap_use"))))
        if not facts["known"]:
            notes.append(f"certificate {cid}: product {c['product_id']} is not in this result folder's plant model; "
                         "its document shows the numbers as issued and it gets no PACT footprint")
        o = orders.loc[c["order_id"]] if c["order_id"] in orders.index else None
        basis, claimed = _ledger_cfps(c, o, facts)
        out.append(Certificate(
            certificate_id=cid, status=c["status"], method=c["method"], order_id=c["order_id"],
            customer=c["customer"], product_id=c["product_id"], tonnage_t=float(c["tonnage_t"]),
            reps_t=int(c["reps_g"]) / G_PER_T, general_cfp=float(c["general_cfp"]),
            residual_cfp=_opt(c["residual_cfp"]), allocated_cfp=_opt(c["allocated_cfp"]), alpha=float(c["alpha"]),
            gx_tonnage_t=float(c["gx_tonnage_t"]), lines=lines, product=facts,
            delivery_date=(o["delivery_date"].strftime("%Y-%m-%d") if o is not None
                           and not missing(o["delivery_date"]) else ""),
            issued_at=str(c["issued_at"]), batch_id=str(c["batch_id"]), voided_at=_text(c.get("voided_at")),
            void_reason=_text(c.get("void_reason")), digest=issue_digest.get(cid, ""),
            transfers=sorted(transfers_by.get(cid, []), key=lambda t: t["transfer_id"]),
            basis_cfp=basis, stated_claimed_cfp=claimed))
    if foreign:
        notes.append(f"{len(foreign)} certificate(s) in the ledger belong to another organization code than "
                     f"GX-{code} and are not part of this report (e.g. {foreign[0]})")
    if led.certificates and not out:
        raise InputError([Issue(led.url, None, None,
                                f"the ledger holds no certificates of {s.model.meta.organization} (GX-{code}-...); "
                                "is it the ledger of this result folder's organization?")])
    missing_orders = [c.order_id for c in out if c.order_id not in orders.index]
    if missing_orders:
        notes.append(f"{len(missing_orders)} ledger certificate(s) are for orders not in this result folder "
                     f"(e.g. {missing_orders[0]}); they are shown with the numbers as issued")
    if led.audit_problems:
        notes.append(f"the ledger audit found {len(led.audit_problems)} problem(s): " + "; ".join(led.audit_problems[:3]))
    return out


def _ledger_cfps(c: dict[str, Any], order: pd.Series | None, facts: dict[str, Any]) -> tuple[float | None, float | None]:
    """(basis CFP, claimed CFP) of a ledger certificate: its own columns when it states them (revision 0003);
    else the basis from the run's orders table (the Residual CFP as issued, for GX Allocation), and the claim
    recomputed from it with the certificate's own REPs (:attr:`Certificate.claimed_cfp`)."""
    basis = _opt(c.get("basis_cfp"))
    claimed = _opt(c.get("claimed_cfp"))
    if basis is None and c["method"] == "allocation":
        basis = _opt(c.get("residual_cfp"))
    if basis is None and order is not None and "basis_cfp" in order.index and order["product_id"] == c["product_id"]:
        basis = _opt(order["basis_cfp"])
    if basis is None and facts.get("known") and "residual_cfp" in facts:
        basis = float(facts["residual_cfp"])
    return basis, claimed


def _compare_inputs(led: Ledger, summary: dict[str, Any], notes: list[str]) -> None:
    if led.batches.empty:
        notes.append("the ledger has no batches yet")
        return
    shas = set(led.batches["input_sha256"])
    mine = summary.get("input_sha256")
    if mine and mine not in shas:
        notes.append("the ledger's batches ran on other inputs than this result folder (input SHA-256 differs); "
                     "certificates show the numbers as issued by the ledger")
