"""Ledger rules in process: credit, issue, idempotent rerun, void, transfers, DB-enforced balances, audit."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gxopt.cli import app
from gxopt.ledger import certificates as certs
from gxopt.ledger.audit import audit
from gxopt.ledger.batch import batch
from gxopt.ledger.db import LedgerError, connect, writer
from gxopt.ledger.tables import certificate_lines, certificates, journal, pool_balance
from tests.conftest import REPO
from tests.ledger_support import db_url  # noqa: F401  (fixture)

SCEN = REPO / "scenarios" / "jp-steel-both-methods"
FY26 = REPO / "scenarios" / "jp-steel-fy2026"


def snapshot(url: str) -> dict[str, object]:
    """Everything that matters in a ledger, comparable across runs (no ids that depend on time)."""
    with connect(url).connect() as c:
        certs_ = sorted((r.order_id, r.method, r.reps_g, r.status) for r in c.execute(sa.select(certificates)))
        lines = sorted((r.pool_id, r.reps_g) for r in c.execute(sa.select(certificate_lines)))
        bal = sorted(tuple(r) for r in c.execute(sa.select(pool_balance)))
        n = c.execute(sa.select(sa.func.count()).select_from(journal)).scalar_one()
    return {"certificates": certs_, "lines": lines, "balances": bal, "journal_entries": n}


def test_batch_issues_and_rerun_issues_nothing(db_url: str) -> None:  # noqa: F811
    first = batch(SCEN, db_url)
    assert first["certificates_issued"] > 0 and first["pools_credited"] == 3
    before = snapshot(db_url)
    second = batch(SCEN, db_url)
    assert second["certificates_issued"] == 0 and second["pools_credited"] == 0
    after = snapshot(db_url)
    assert after["certificates"] == before["certificates"] and after["balances"] == before["balances"]
    with connect(db_url).connect() as c:
        assert audit(c) == []
        ids = [r.certificate_id for r in c.execute(sa.select(certificates.c.certificate_id))]
    assert len(set(ids)) == len(ids) and all(i.startswith("GX-KSC-2026-") for i in ids)


def test_certificates_match_the_engine_and_never_exceed_pools(db_url: str) -> None:  # noqa: F811
    import gxopt

    batch(SCEN, db_url)
    run = gxopt.run(SCEN).orders.set_index("order_id")
    with connect(db_url).connect() as c:
        for r in c.execute(sa.select(certificates)):
            assert r.reps_g / 1e6 == pytest.approx(run.at[r.order_id, "reps_t"], abs=1e-5)
            assert r.method == run.at[r.order_id, "method"]
        for b in c.execute(sa.select(pool_balance)):
            assert b.remaining_g >= 0
            assert b.credited_g + b.adjusted_g == b.issued_g - b.reversed_g + b.expired_g + b.remaining_g


def test_account_csv_use_enters_the_ledger_once(db_url: str) -> None:  # noqa: F811
    batch(FY26, db_url)
    with connect(db_url).connect() as c:
        legacy = c.execute(sa.select(sa.func.sum(journal.c.amount_g)).where(
            journal.c.kind == "issue", journal.c.certificate_id.is_(None))).scalar_one()
    assert legacy == pytest.approx((140_000 + 30_000 + 85_000) * 1e6, abs=3)


def test_void_returns_reps_and_frees_the_order(db_url: str) -> None:  # noqa: F811
    batch(SCEN, db_url)
    with connect(db_url).connect() as c:
        cert = c.execute(sa.select(certificates).order_by(certificates.c.certificate_id)).first()
    with writer(connect(db_url), "test") as c:
        grams = certs.void(c, cert.certificate_id, "customer cancelled")
    assert grams == cert.reps_g
    with pytest.raises(LedgerError, match="already void"), writer(connect(db_url), "test") as c:
        certs.void(c, cert.certificate_id, "again")
    again = batch(SCEN, db_url)  # the freed REPs and the freed order meet again
    assert again["certificates_issued"] >= 1
    with connect(db_url).connect() as c:
        assert audit(c) == []
        active = c.execute(sa.select(sa.func.count()).select_from(certificates).where(
            certificates.c.order_id == cert.order_id, certificates.c.status == "issued")).scalar_one()
    assert active <= 1


def test_attribute_transfers_never_exceed_the_certificate(db_url: str) -> None:  # noqa: F811
    batch(SCEN, db_url)
    with connect(db_url).connect() as c:
        cert = c.execute(sa.select(certificates).order_by(certificates.c.certificate_id)).first()
    total = cert.reps_g / 1e6
    eng = connect(db_url)
    with writer(eng, "t") as c:
        t1 = certs.transfer(c, cert.certificate_id, "Tier2 A", total * 0.6)
    with writer(eng, "t") as c:
        certs.transfer(c, cert.certificate_id, "Tier2 B", total * 0.4)
    with pytest.raises(LedgerError, match="would exceed"), writer(eng, "t") as c:
        certs.transfer(c, cert.certificate_id, "Tier2 C", 0.001)
    with writer(eng, "t") as c:  # chains: Tier2 A passes on part of what it received
        certs.transfer(c, cert.certificate_id, "Tier3 X", total * 0.5, from_transfer=t1)
    with pytest.raises(LedgerError, match="would exceed"), writer(eng, "t") as c:
        certs.transfer(c, cert.certificate_id, "Tier3 Y", total * 0.2, from_transfer=t1)
    with pytest.raises(LedgerError, match="cannot be voided"), writer(eng, "t") as c:
        certs.void(c, cert.certificate_id, "no")
    with eng.connect() as c:
        assert audit(c) == []


def test_database_itself_refuses_a_negative_balance(db_url: str) -> None:  # noqa: F811
    batch(SCEN, db_url)
    eng = connect(db_url)
    with eng.connect() as c:
        pool = c.execute(sa.select(pool_balance).where(pool_balance.c.remaining_g >= 0)).first()
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as c:  # bypassing Python altogether
        c.execute(sa.update(pool_balance).where(pool_balance.c.pool_id == pool.pool_id).values(
            issued_g=pool_balance.c.issued_g + pool.remaining_g + 1,
            remaining_g=pool_balance.c.remaining_g - pool.remaining_g - 1))
    from gxopt.ledger import journal as jr

    with pytest.raises(LedgerError, match="never go negative"), writer(eng, "t") as c:
        jr.append(c, "issue", pool.remaining_g + 1, pool_id=pool.pool_id)
    with eng.connect() as c:
        assert snapshot(db_url)["balances"] == sorted(tuple(r) for r in c.execute(sa.select(pool_balance)))


@pytest.mark.parametrize("tamper", ["edit_amount", "delete_middle", "delete_last", "edit_certificate",
                                    "edit_balance"])
def test_tampering_is_detected(db_url: str, tamper: str) -> None:  # noqa: F811
    batch(SCEN, db_url)
    eng = connect(db_url)
    with eng.begin() as c:
        seqs = [r.seq for r in c.execute(sa.select(journal.c.seq).order_by(journal.c.seq))]
        if tamper == "edit_amount":
            c.execute(sa.update(journal).where(journal.c.seq == seqs[2]).values(amount_g=journal.c.amount_g + 1))
        elif tamper == "delete_middle":
            c.execute(sa.delete(journal).where(journal.c.seq == seqs[len(seqs) // 2]))
        elif tamper == "delete_last":
            c.execute(sa.delete(journal).where(journal.c.seq == seqs[-1]))
        elif tamper == "edit_certificate":
            c.execute(sa.update(certificates).where(certificates.c.certificate_id == "GX-KSC-2026-000001").values(
                product_id="ANOTHER-PRODUCT"))
        else:
            c.exec_driver_sql("UPDATE pool_balance SET credited_g = credited_g + 5, remaining_g = remaining_g + 5 "
                              "WHERE pool_id = (SELECT MIN(pool_id) FROM pool_balance)")
    with eng.connect() as c:
        problems = audit(c)
    assert problems
    if tamper == "edit_amount":
        assert f"seq {seqs[2]}" in problems[0]
    res = CliRunner().invoke(app, ["ledger", "verify", "--db", db_url])
    assert res.exit_code == 6
    assert "Traceback" not in res.output


def test_export_for_the_verifier(db_url: str, tmp_path) -> None:  # noqa: F811, ANN001
    import pandas as pd

    batch(SCEN, db_url)
    res = CliRunner().invoke(app, ["ledger", "export", "--db", db_url, "--out", str(tmp_path / "exp")])
    assert res.exit_code == 0, res.output
    b = pd.read_csv(tmp_path / "exp" / "balances.csv")
    assert b["reconciles"].all()
    assert (b["credited_t"] - (b["issued_t"] - b["reversed_t"] + b["expired_t"] + b["remaining_t"])).abs().max() < 1e-6
    c = pd.read_csv(tmp_path / "exp" / "certificates.csv")
    lines = pd.read_csv(tmp_path / "exp" / "certificate_lines.csv")
    assert set(c.columns) >= {"certificate_id", "order_id", "method", "product_id", "tonnage_t", "reps_t", "status"}
    assert set(lines.columns) >= {"certificate_id", "project_id", "period_end", "reps_t"}
    per_cert = lines.groupby("certificate_id")["reps_t"].sum()
    assert (per_cert - c.set_index("certificate_id")["reps_t"]).abs().max() < 1e-6
    j = pd.read_csv(tmp_path / "exp" / "journal.csv")
    assert list(j["seq"]) == sorted(j["seq"]) and j["hash"].is_unique
    assert json.loads((tmp_path / "exp" / "summary.json").read_text())["audit_problems"] == []


def test_expiry_writes_off_what_is_left(db_url: str, tmp_path) -> None:  # noqa: F811, ANN001
    import shutil

    import yaml

    copy = tmp_path / "scen"
    shutil.copytree(SCEN, copy)
    cfg = yaml.safe_load((copy / "scenario.yaml").read_text())
    cfg["model"] = str(REPO / "models" / "jp-steel")
    cfg["mass_balance"] = {"expiry_years": 0}  # pools lapse the day after their period ends
    (copy / "scenario.yaml").write_text(yaml.safe_dump(cfg))
    s = batch(copy, db_url)
    assert s["certificates_issued"] == 0 and s["expired_t"] > 0
    with connect(db_url).connect() as c:
        assert all(r.remaining_g == 0 for r in c.execute(sa.select(pool_balance)))
        assert audit(c) == []


def test_re_verification_adjusts_but_never_below_issued(db_url: str, tmp_path) -> None:  # noqa: F811, ANN001
    import shutil

    import pandas as pd
    import yaml

    batch(SCEN, db_url)
    copy = tmp_path / "scen"
    shutil.copytree(SCEN, copy)
    cfg = yaml.safe_load((copy / "scenario.yaml").read_text())
    cfg["model"] = str(REPO / "models" / "jp-steel")
    (copy / "scenario.yaml").write_text(yaml.safe_dump(cfg))
    per = pd.read_csv(copy / "project_periods.csv", dtype=str, keep_default_na=False)
    per["uncertainty"] = "0.5"  # re-verification halves every pool, below what is already issued
    per.to_csv(copy / "project_periods.csv", index=False)
    before = snapshot(db_url)
    # every project has a single pool here: nothing can absorb the shortfall, so the batch is refused
    with pytest.raises(LedgerError, match=r"(?s)project HG-BF1-HBI.*cannot absorb.*gxopt ledger void"):
        batch(copy, db_url)
    assert snapshot(db_url) == before  # refused whole


def test_what_if_scenarios_never_issue(db_url: str, tmp_path) -> None:  # noqa: F811, ANN001
    import shutil

    import yaml

    copy = tmp_path / "scen"
    shutil.copytree(SCEN, copy)
    cfg = yaml.safe_load((copy / "scenario.yaml").read_text())
    cfg["model"] = str(REPO / "models" / "jp-steel")
    cfg["allow_unverified"] = True
    (copy / "scenario.yaml").write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["batch", str(copy), "--db", db_url, "-q"])
    assert res.exit_code == 2 and "what-if" in res.output


def test_migrations_match_the_table_definitions(db_url: str) -> None:  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gxopt.ledger.tables import metadata

    with connect(db_url).connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
    assert diff == []


def test_quote_holds_reserve_reps_until_taken_or_lapsed(db_url: str, spec, make) -> None:  # noqa: F811, ANN001
    """A held quote is unavailable to others; an order naming the hold gets exactly its lines; lapsing frees it."""
    import datetime as dt

    from gxopt.ledger import holds
    from gxopt.ledger.tables import holds as holds_table
    from tests.test_lp_families import order

    # HRC's cap per tonne: scope 1+2 1.5 + the HBI REPs already in its CFP, 200 t / 2000 t connected = 1.6
    spec["orders.csv"] = [order("M1", "HRC", 50)]  # takes 80 of the 200 t-CO2e HBI pool
    folder = make(spec)
    batch(folder, db_url)
    res = CliRunner().invoke(app, ["quote", str(folder), "--product", "HRC", "--delivery", "2026-07-01", "--db",
                                   db_url, "--hold", "7", "--tonnage", "40", "--json"])
    assert res.exit_code == 0, res.output
    hold_id = json.loads(res.output)["hold_id"]
    assert json.loads(res.output)["gx_tonnage_t"] == pytest.approx(120 / 1.6)
    # others now see 40 t x 1.6 = 64 t-CO2e less
    res2 = CliRunner().invoke(app, ["quote", str(folder), "--product", "HRC", "--delivery", "2026-07-01", "--db",
                                    db_url, "--json"])
    assert json.loads(res2.output)["gx_tonnage_t"] == pytest.approx((120 - 64) / 1.6, rel=1e-6)
    # a new order takes up the hold, another new order competes for the rest
    spec["orders.csv"] = [order("M1", "HRC", 50), order("H1", "HRC", 40, premium=1, hold_id=hold_id),
                          order("X1", "HRC", 1000, premium=99)]
    folder2 = make(spec)
    s = batch(folder2, db_url)
    assert s["holds_converted"] == 1
    with connect(db_url).connect() as c:
        got = {r.order_id: r.reps_g for r in c.execute(sa.select(certificates))}
        h = c.execute(sa.select(holds_table)).mappings().first()
        assert audit(c) == []
    assert got["H1"] == pytest.approx(64e6, abs=2)  # the held 64 t-CO2e despite its low premium
    assert got["X1"] == pytest.approx(56e6, abs=2)  # the rest
    assert h["status"] == "converted" and h["order_id"] == "H1"
    # lapsing: a fresh hold whose last day has passed frees its REPs
    with writer(connect(db_url), "t") as c:
        c.execute(sa.insert(holds_table).values(
            hold_id="HOLD-OLD", created_at="2026-01-01", expires_on=dt.date(2026, 1, 8), customer=None,
            product_id="HRC", method="mass_balance", delivery_date=dt.date(2026, 7, 1), tonnage_t=1.0, reps_g=10**6,
            status="active", order_id=None))
        assert holds.lapse(c) == 1


@pytest.mark.parametrize("url", ["nonsense", "sqlite:////nonexistent/dir/x.db",
                                 "postgresql+psycopg://postgres@127.0.0.1:1/none"])
def test_unreachable_or_bad_database_url_is_a_clear_input_error(url: str) -> None:
    res = CliRunner().invoke(app, ["ledger", "verify", "--db", url])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and ("database" in res.output)


def test_bulk_issue_in_chunks_is_the_same_ledger(db_url: str, tmp_path, monkeypatch) -> None:  # noqa: F811, ANN001
    """Certificates are written in bulk chunks; any chunk size gives the same certificates, lines and chain."""
    import gxopt.ledger.batch as batch_mod
    from tests.ledger_support import fresh_db

    def content(url: str) -> tuple[list[tuple], list[tuple]]:
        with connect(url).connect() as c:
            assert audit(c) == []
            certs = [(r.certificate_id, r.order_id, r.reps_g, r.tonnage_t) for r in
                     c.execute(sa.select(certificates).order_by(certificates.c.certificate_id))]
            kinds = [(r.kind, r.pool_id, r.amount_g, r.certificate_id) for r in
                     c.execute(sa.select(journal).order_by(journal.c.seq))]
        return certs, kinds

    batch(SCEN, db_url)
    whole = content(db_url)
    monkeypatch.setattr(batch_mod, "CHUNK", 3)
    other = fresh_db("sqlite", tmp_path / "chunks")
    (tmp_path / "chunks").mkdir()
    url = next(other)
    batch(SCEN, url)
    assert content(url) == whole and len(whole[0]) > 6  # several chunks
    next(other, None)
