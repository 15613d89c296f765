"""The ledger as the report reads it (read only): its tables, and its certificates of this organization as
documents with the numbers as issued."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gxopt.errors import InputError, Issue
from gxopt.report.certificate import Certificate, Line
from gxopt.report.facts import gases_included, product_facts_once, project_facts
from gxopt.report.fmt import missing, opt_float, text
from gxopt.scenario import Scenario
from gxopt.settings import organization_code

MAX_IDS_IN_QUERY = 900  # more certificate ids are read whole and picked in Python (bound-parameter limits)


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


def read_ledger(url: str) -> Ledger:
    """Read the ledger at ``url`` (SQLAlchemy Core selects only); refuse a URL that holds no gxopt ledger."""
    _check_is_ledger(url)
    from gxopt.ledger import journal as jr
    from gxopt.ledger.audit import audit
    from gxopt.ledger.db import connect
    from gxopt.ledger.tables import G_PER_T, batches, journal, pool_balance

    try:
        engine = connect(url)
        with engine.connect() as conn:
            lp, crows, lrows, tr = _certificate_tables(conn)
            bal = _frame(conn, pool_balance, pool_balance.c.pool_id)
            jrows = _rows(conn, sa.select(journal).order_by(journal.c.seq))
            bt = _frame(conn, batches, batches.c.started_at)
            seq, head_hash = jr.head(conn)
            problems = audit(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError([Issue(_safe_url(url), None, None,
                                f"cannot read the ledger: {str(exc).splitlines()[0]}")]) from None
    j = pd.DataFrame(jrows, columns=[c.name for c in journal.columns])
    j["amount_t"] = j["amount_g"].astype("float64") / G_PER_T
    return Ledger(_safe_url(url), lp, bal, j, jrows, crows, lrows, tr, bt, {"seq": seq, "hash": head_hash}, problems)


def certificate_source(conn: sa.Connection, url: str, only: set[str] | None = None) -> Ledger:
    """Only what :func:`ledger_certificates` reads, on an open connection: pools, certificates and their lines,
    the issue entries (for the digests) and the attribute transfers - no balances, batches or audit (the service
    reads this whenever the ledger changed). ``only``: the rows of these certificates alone (one PDF, or the
    certificates a batch added), read by id when they are few."""
    from gxopt.ledger.tables import journal

    ids = sorted(only) if only is not None and len(only) <= MAX_IDS_IN_QUERY else None
    lp, crows, lrows, tr = _certificate_tables(conn, ids)
    issues = _rows(conn, _of(journal, sa.select(journal).where(journal.c.kind == "issue").order_by(journal.c.seq),
                             ids))
    empty = pd.DataFrame()
    return Ledger(_safe_url(url), lp, empty, empty, issues, crows, lrows, tr, empty, {}, [])


def _rows(conn: sa.Connection, q: sa.Select[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(q).mappings()]


def _of(table: sa.Table, q: sa.Select[Any], ids: list[str] | None) -> sa.Select[Any]:
    """``q``, of the certificates ``ids`` only when given."""
    return q if ids is None else q.where(table.c.certificate_id.in_(ids))


def _frame(conn: sa.Connection, table: sa.Table, *order: sa.ColumnElement[Any],
           ids: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(_rows(conn, _of(table, sa.select(table).order_by(*order), ids)),
                        columns=[c.name for c in table.columns])


def _certificate_tables(conn: sa.Connection, ids: list[str] | None = None,
                        ) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]], pd.DataFrame]:
    """(pools, certificate rows, certificate line rows, attribute transfers with reps_t), each in a fixed order;
    of the certificates ``ids`` only, if given."""
    from gxopt.ledger.tables import G_PER_T, attribute_transfers, certificate_lines, certificates, pools

    lp = _frame(conn, pools, pools.c.pool_id)
    crows = _rows(conn, _of(certificates, sa.select(certificates).order_by(certificates.c.certificate_id), ids))
    lrows = _rows(conn, _of(certificate_lines, sa.select(certificate_lines).order_by(
        certificate_lines.c.certificate_id, certificate_lines.c.line_no), ids))
    tr = _frame(conn, attribute_transfers, attribute_transfers.c.transfer_id, ids=ids)
    tr["reps_t"] = tr["reps_g"].astype("float64") / G_PER_T
    return lp, crows, lrows, tr


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
                        notes: list[str], only: set[str] | None = None) -> list[Certificate]:
    """The ledger's certificates of this organization (``only`` these ids, if given), as documents, with the
    numbers as issued."""
    from gxopt.ledger.tables import G_PER_T

    code = organization_code(s.model.meta)
    projects = project_facts(s)
    # rows as dicts: read once per certificate line (a pandas .loc is ~100 us; a ledger has 100,000s of lines)
    pools = led.pools.set_index("pool_id").to_dict("index") if len(led.pools) else {}
    run_pools = tables["pools"].drop_duplicates("pool_id").set_index("pool_id").to_dict("index")
    orders = tables["orders"].drop_duplicates("order_id").set_index("order_id").to_dict("index")
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
    facts_of = product_facts_once(s, tables)
    for c in led.certificates:
        cid = c["certificate_id"]
        if only is not None and cid not in only:
            continue
        if not cid.startswith(f"GX-{code}-"):
            foreign.append(cid)
            continue
        facts = facts_of(c["product_id"])
        lines = []
        for ln in lines_by.get(cid, []):
            pf = projects.get(ln["project_id"], {})
            pool = pools.get(ln["pool_id"])
            run_pool = run_pools.get(ln["pool_id"])
            # the same rule as the run's allocations.csv same_site: the pool's site against the site where the
            # product's crude steel is made (the run's products table), so draft and ledger reports agree
            psite = text(run_pool["site"]) if run_pool is not None else pf.get("site", "")
            csite = facts.get("crude_steel_site", "")
            same = (psite == csite) if psite and csite else None
            gases = (gases_included(ln["gas"], run_pool["gases"]) if run_pool is not None
                     else gases_included(ln["gas"], pf.get("gases", "")))
            lines.append(Line(
                int(ln["line_no"]), ln["pool_id"], ln["project_id"], pf.get("name", ""), pf.get("technology", ""),
                pf.get("additionality", ""), pf.get("node", ""), psite,
                str(pool["period_start"]) if pool is not None else "", str(ln["period_end"]), ln["gas"],
                int(ln["reps_g"]) / G_PER_T, ln["evidence"], same,
                text(pool["verifier"]) if pool is not None else pf.get("verifier", ""),
                text(pool["statement_id"]) if pool is not None else pf.get("statement_id", ""), gases=gases,
                product_site=csite, raises_scrap_use=bool(pf.get("raises_scrap_use"))))
        if not facts["known"]:
            notes.append(f"certificate {cid}: product {c['product_id']} is not in this result folder's plant model; "
                         "its document shows the numbers as issued and it gets no PACT footprint")
        o = orders.get(c["order_id"])
        basis, claimed = _ledger_cfps(c, o, facts)
        out.append(Certificate(
            certificate_id=cid, status=c["status"], method=c["method"], order_id=c["order_id"],
            customer=c["customer"], product_id=c["product_id"], tonnage_t=float(c["tonnage_t"]),
            reps_t=int(c["reps_g"]) / G_PER_T, general_cfp=float(c["general_cfp"]),
            residual_cfp=opt_float(c["residual_cfp"]), allocated_cfp=opt_float(c["allocated_cfp"]),
            alpha=float(c["alpha"]),
            gx_tonnage_t=float(c["gx_tonnage_t"]), lines=lines, product=facts,
            delivery_date=(o["delivery_date"].strftime("%Y-%m-%d") if o is not None
                           and not missing(o["delivery_date"]) else ""),
            issued_at=str(c["issued_at"]), batch_id=str(c["batch_id"]), voided_at=text(c.get("voided_at")),
            void_reason=text(c.get("void_reason")), digest=issue_digest.get(cid, ""),
            transfers=sorted(transfers_by.get(cid, []), key=lambda t: t["transfer_id"]),
            basis_cfp=basis, stated_claimed_cfp=claimed))
    if foreign:
        notes.append(f"{len(foreign)} certificate(s) in the ledger belong to another organization code than "
                     f"GX-{code} and are not part of this report (e.g. {foreign[0]})")
    if led.certificates and not out:
        raise InputError([Issue(led.url, None, None,
                                f"the ledger holds no certificates of {s.model.meta.organization} (GX-{code}-...); "
                                "is it the ledger of this result folder's organization?")])
    missing_orders = [c.order_id for c in out if c.order_id not in orders]
    if missing_orders:
        notes.append(f"{len(missing_orders)} ledger certificate(s) are for orders not in this result folder "
                     f"(e.g. {missing_orders[0]}); they are shown with the numbers as issued")
    if led.audit_problems:
        notes.append(f"the ledger audit found {len(led.audit_problems)} problem(s): " + "; ".join(led.audit_problems[:3]))
    return out


def _ledger_cfps(c: dict[str, Any], order: dict[str, Any] | None, facts: dict[str, Any],
                 ) -> tuple[float | None, float | None]:
    """(basis CFP, claimed CFP) of a ledger certificate: its own columns when it states them (revision 0003);
    else the basis from the run's orders table (the Residual CFP as issued, for GX Allocation), and the claim
    recomputed from it with the certificate's own REPs (:attr:`Certificate.claimed_cfp`)."""
    basis = opt_float(c.get("basis_cfp"))
    claimed = opt_float(c.get("claimed_cfp"))
    if basis is None and c["method"] == "allocation":
        basis = opt_float(c.get("residual_cfp"))
    if basis is None and order is not None and "basis_cfp" in order and order["product_id"] == c["product_id"]:
        basis = opt_float(order["basis_cfp"])
    if basis is None and facts.get("known") and "residual_cfp" in facts:
        basis = float(facts["residual_cfp"])
    return basis, claimed


def compare_inputs(led: Ledger, summary: dict[str, Any], notes: list[str]) -> None:
    """Note when the ledger has no batches, or its batches ran on other inputs than the result folder."""
    if led.batches.empty:
        notes.append("the ledger has no batches yet")
        return
    shas = set(led.batches["input_sha256"])
    mine = summary.get("input_sha256")
    if mine and mine not in shas:
        notes.append("the ledger's batches ran on other inputs than this result folder (input SHA-256 differs); "
                     "certificates show the numbers as issued by the ledger")
