"""Accounting fidelity of the ledger: no attributes from CFP certificates (7.5, 8.5); re-verifications that
lower a pool below what it has issued are netted against the project's other pools or refused whole (6);
certificates state basis and claimed CFP (migration 0003, digests of older certificates unchanged)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gxopt.cli import app
from gxopt.ledger import certificates as certs
from gxopt.ledger import netting
from gxopt.ledger.audit import audit
from gxopt.ledger.batch import batch
from gxopt.ledger.db import LedgerError, connect, writer
from gxopt.ledger.tables import attribute_transfers, certificate_lines, certificates, journal, pool_balance
from tests.ledger_support import db_url  # noqa: F401  (fixture)
from tests.test_lp_families import order

G = 1_000_000
OLD = "HBI@2025-03-31"  # the tiny scenario's HBI project, given two calculation periods of 200 t-CO2e each
NEW = "HBI@2026-03-31"


def two_period_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """HBI with an earlier period (FY2024) and the base one (FY2025); orders that need 300 of its 400 t-CO2e."""
    spec["project_periods.csv"] = [
        {"project_id": "HBI", "period_start": "2024-04-01", "period_end": "2025-03-31", "baseline_intensity": 2.0,
         "output_t": 1000, "project_emissions_t": 1800, "uncertainty": 0.0},
        *spec["project_periods.csv"]]
    spec["orders.csv"] = [order("O1", "HRC", 100), order("O2", "HRC", 100)]
    return spec


def journal_rows(url: str) -> list[tuple[Any, ...]]:
    with connect(url).connect() as c:
        return [tuple(r) for r in c.execute(sa.select(journal).order_by(journal.c.seq))]


def ledger_state(url: str) -> dict[str, Any]:
    """Every row that matters, to compare byte for byte."""
    with connect(url).connect() as c:
        return {"journal": [tuple(r) for r in c.execute(sa.select(journal).order_by(journal.c.seq))],
                "balances": sorted(tuple(r) for r in c.execute(sa.select(pool_balance))),
                "certificates": sorted(tuple(r) for r in c.execute(sa.select(certificates))),
                "transfers": sorted(tuple(r) for r in c.execute(sa.select(attribute_transfers)))}


def balances(url: str) -> dict[str, Any]:
    with connect(url).connect() as c:
        return {r.pool_id: r for r in c.execute(sa.select(pool_balance))}


def assert_sound(url: str) -> None:
    """Never negative, every pool reconciles, the audit and ``gxopt ledger verify`` pass."""
    for b in balances(url).values():
        assert b.remaining_g >= 0
        assert b.credited_g + b.adjusted_g - b.issued_g + b.reversed_g - b.expired_g == b.remaining_g
    with connect(url).connect() as c:
        assert audit(c) == []
    res = CliRunner().invoke(app, ["ledger", "verify", "--db", url])
    assert res.exit_code == 0, res.output


def reverify(folder: Path, pool_id: str, reps_t: float) -> None:
    """A re-verification of one HBI period: higher actual emissions, so a smaller (never negative) reduction."""
    per = pd.read_csv(folder / "project_periods.csv", dtype=str, keep_default_na=False)
    row = (per["project_id"] + "@" + per["period_end"]) == pool_id
    assert row.sum() == 1 and reps_t >= 0
    per.loc[row, "project_emissions_t"] = repr(2.0 * 1000 - reps_t)  # baseline 2.0 t/t x 1000 t - emissions
    per.to_csv(folder / "project_periods.csv", index=False)


def adjusts(url: str, batch_id: str) -> list[Any]:
    with connect(url).connect() as c:
        return list(c.execute(sa.select(journal).where(journal.c.kind == "adjust", journal.c.batch_id == batch_id)
                              .order_by(journal.c.seq)))


# ------------------------------------------------------------------------------ A. no attributes from CFP certs


def test_cfp_certificates_pass_no_attributes_on(db_url: str, spec, make) -> None:  # noqa: F811, ANN001
    spec["orders.csv"] = [order("MB", "HRC", 20), order("AL", "HRC", 20, method="allocation")]
    batch(make(spec), db_url)
    with connect(db_url).connect() as c:
        by_method = {r.method: r for r in c.execute(sa.select(certificates))}
    alloc, mb = by_method["allocation"], by_method["mass_balance"]
    before = ledger_state(db_url)
    res = CliRunner().invoke(app, ["attribute", "transfer", alloc.certificate_id, "--to", "Tier2 X", "--reps", "1",
                                   "--db", db_url])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    expected = (f"{alloc.certificate_id} is a CFP certificate (GX Allocation): its Allocated CFP is embodied in the "
                "product, not a reduction certificate, so no attributes can be passed on (7.5, 8.5)")
    assert expected in res.output  # one plain line
    assert ledger_state(db_url) == before  # journal, transfers, everything unchanged
    with pytest.raises(LedgerError, match=r"CFP certificate \(GX Allocation\).*\(7\.5, 8\.5\)"), \
            writer(connect(db_url), "t") as c:
        certs.transfer(c, alloc.certificate_id, "Tier2 X", 0.5)
    assert ledger_state(db_url) == before
    assert_sound(db_url)
    # reduction certificates (GX Mass Balance) still pass attributes on
    res = CliRunner().invoke(app, ["attribute", "transfer", mb.certificate_id, "--to", "Tier2 Y", "--reps", "1",
                                   "--db", db_url])
    assert res.exit_code == 0, res.output
    assert f"recorded attribute transfer {mb.certificate_id}-A001" in res.output
    assert len(journal_rows(db_url)) == len(before["journal"]) + 1
    assert_sound(db_url)


# --------------------------------------------------------------------------- B. the netting rule, in isolation


def acc(pool: str, end: str, verified: float, used: float = 0, expired: float = 0, held: float = 0) -> netting.Account:
    booked = max(verified, used + expired)
    return netting.Account(pool, dt.date.fromisoformat(end), int(verified * G), int(booked * G), int(used * G),
                           int(expired * G), int((booked - used - expired) * G), int(held * G))


def test_netting_order_latest_earlier_first_then_later_in_time_order() -> None:
    pools = [acc("P@2021", "2021-03-31", 50), acc("P@2022", "2022-03-31", 30),
             acc("P@2023", "2023-03-31", 100, used=100), acc("P@2024", "2024-03-31", 40),
             acc("P@2025", "2025-03-31", 40)]
    pools[2].verified_g = 10 * G  # re-verified down to 10, with 100 on certificates: 90 short
    p = netting.plan(pools)
    assert p.shortfall_g == {"P@2023": 90 * G} and p.uncovered_g == 0
    assert list(p.takes.items()) == [(("P@2022", "P@2023"), 30 * G), (("P@2021", "P@2023"), 50 * G),
                                     (("P@2024", "P@2023"), 10 * G)]
    assert p.target_g == {"P@2021": 0, "P@2022": 0, "P@2023": 100 * G, "P@2024": 30 * G, "P@2025": 40 * G}
    # the project's booking is its new net total (10 + 50 + 30 + 40 + 40)
    assert sum(p.target_g.values()) == sum(a.verified_g for a in pools)


def test_netting_never_takes_held_or_used_reps_and_refuses_what_cannot_be_absorbed() -> None:
    pools = [acc("Q@2024", "2024-03-31", 60, used=20, held=25), acc("Q@2025", "2025-03-31", 50, used=50)]
    pools[1].verified_g = 30 * G  # 20 short; Q@2024 can give 60 - 20 used - 25 held = 15
    p = netting.plan(pools)
    assert p.takes == {("Q@2024", "Q@2025"): 15 * G}
    assert p.uncovered_g == 5 * G and p.blocked_by_holds_g == 25 * G
    # REPs that merely expired unused are owed by nobody: clamped to zero remaining, nothing taken
    expired = acc("E@2022", "2022-03-31", 10, used=4, expired=6)
    expired.verified_g = 5 * G
    p = netting.plan([expired, acc("E@2025", "2025-03-31", 10)])
    assert p.takes == {} and p.uncovered_g == 0
    assert p.target_g == {"E@2022": 10 * G, "E@2025": 10 * G}  # E@2022 stays at zero remaining


# ------------------------------------------------------------------------- B. re-verifications in the batch


def first_batch(url: str, spec, make) -> tuple[Path, dict[str, Any], str, str]:  # noqa: ANN001
    """Credit and issue; return the folder, the balances, the HBI pool with the most issued and the other one."""
    folder = make(two_period_spec(spec))
    s = batch(folder, url)
    assert s["pools_credited"] == 3 and s["certificates_issued"] == 2
    b = balances(url)
    issued = {p: b[p].issued_g for p in (OLD, NEW)}
    assert sum(issued.values()) > 200 * G  # (2 x 100 t x 1.5 t-CO2e/t) more than one period holds
    short = max(issued, key=lambda p: (issued[p], p))
    other = NEW if short == OLD else OLD
    assert b[short].issued_g > 0 and b[other].remaining_g >= 2 * G
    return folder, b, short, other


def grams(reps_t: float) -> int:
    return int(reps_t * G // 1)


def test_re_verification_below_issued_is_netted_against_the_projects_other_period(
        db_url: str, spec, make) -> None:  # noqa: F811, ANN001
    folder, b, short, other = first_batch(db_url, spec, make)
    took = b[other].remaining_g // 2 // G * G  # whole tonnes, less than the other period has left: absorbed
    reverify(folder, short, (b[short].issued_g - took) / G)
    s = batch(folder, db_url)
    assert s["certificates_issued"] == 0 and s["pools_adjusted"] == 2
    entries = adjusts(db_url, s["batch_id"])
    assert len(entries) == 2
    by_pool = {e.pool_id: e for e in entries}
    assert set(by_pool) == {short, other}
    verified = grams(json.loads(by_pool[short].meta)["reps_t"])
    assert abs(verified - (b[short].issued_g - took)) <= 2
    shortfall = b[short].issued_g - verified
    # the short pool: down to exactly zero remaining (a zero-amount record when it had nothing left)
    assert by_pool[short].amount_g == -b[short].remaining_g
    assert "zero remaining" in by_pool[short].reason
    assert grams(json.loads(by_pool[short].meta)["shortfall_t"]) == pytest.approx(shortfall, abs=1)
    # the other period gives the rest, as its own entry naming the pool and the rule
    assert by_pool[other].amount_g == -shortfall
    assert f"pool {short}" in by_pool[other].reason
    assert "net increase netted against the project's other periods (6: increases included)" in by_pool[other].reason
    after = balances(db_url)
    assert after[short].remaining_g == 0 and after[other].remaining_g == b[other].remaining_g - shortfall
    # the project's booking is its new net total; what was issued is untouched
    total_now = sum(after[p].credited_g + after[p].adjusted_g for p in (OLD, NEW))
    assert total_now == verified + b[other].credited_g
    assert [after[p].issued_g for p in (OLD, NEW)] == [b[p].issued_g for p in (OLD, NEW)]
    assert_sound(db_url)
    # rerunning the same batch journals nothing
    before = journal_rows(db_url)
    again = batch(folder, db_url)
    assert again["pools_adjusted"] == 0 and again["certificates_issued"] == 0
    assert journal_rows(db_url) == before
    # voiding a certificate on the short pool gives the netted REPs back to the other period
    with connect(db_url).connect() as c:
        cid = c.execute(sa.select(certificate_lines.c.certificate_id).where(
            certificate_lines.c.pool_id == short).order_by(certificate_lines.c.certificate_id)).scalar()
        freed = c.execute(sa.select(sa.func.sum(certificate_lines.c.reps_g)).where(
            certificate_lines.c.certificate_id == cid, certificate_lines.c.pool_id == short)).scalar_one()
    with writer(connect(db_url), "t") as c:
        certs.void(c, cid, "re-verification: certificate to be re-issued")
    s3 = batch(folder, db_url)  # the freed order is served again, after the netting is recomputed
    back = [e for e in adjusts(db_url, s3["batch_id"]) if e.pool_id == other]
    assert back and sum(e.amount_g for e in back) == min(shortfall, int(freed))
    assert "returned" in back[0].reason and f"pool {short}" in back[0].reason
    final = balances(db_url)
    assert sum(final[p].credited_g + final[p].adjusted_g for p in (OLD, NEW)) == total_now
    assert_sound(db_url)


def test_re_verification_beyond_the_project_is_refused_whole(db_url: str, spec, make) -> None:  # noqa: F811, ANN001
    folder, b, short, other = first_batch(db_url, spec, make)
    reverify(folder, short, 0.0)  # the project's net total is now the other period's 200, below what was issued
    excess = f"{(b[OLD].issued_g + b[NEW].issued_g - b[other].credited_g) / G:,.6f} t-CO2e"
    before = ledger_state(db_url)
    with pytest.raises(LedgerError) as exc:
        batch(folder, db_url)
    msg = str(exc.value)
    assert "project HBI" in msg and f"shortfall of {excess}" in msg and "gxopt ledger void" in msg
    with connect(db_url).connect() as c:
        ids = sorted({r.certificate_id for r in c.execute(sa.select(certificate_lines).where(
            certificate_lines.c.project_id == "HBI"))})
    assert ids and all(i in msg for i in ids)
    assert ledger_state(db_url) == before  # byte for byte: nothing was written
    res = CliRunner().invoke(app, ["batch", str(folder), "--db", db_url, "-q"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    flat = " ".join(res.output.split())
    assert "project HBI" in flat and f"shortfall of {excess}" in flat and "gxopt ledger void" in flat
    assert ledger_state(db_url) == before
    assert_sound(db_url)


# ------------------------------------------------------------------- C. basis and claimed CFP on certificates


def old_digest(cert: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """The certificate digest as written before revision 0003 (frozen copy)."""
    fields = ("certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_g", "general_cfp",
              "residual_cfp", "allocated_cfp", "alpha", "gx_tonnage_t", "batch_id", "issued_at")
    body = {"certificate": {k: cert.get(k) for k in fields},
            "lines": [{k: ln.get(k) for k in certs.LINE_FIELDS} for ln in sorted(lines, key=lambda x: x["line_no"])]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def test_digest_of_a_certificate_without_the_new_fields_is_unchanged() -> None:
    cert = {"certificate_id": "GX-X-2026-000001", "order_id": "O", "method": "mass_balance", "customer": "C",
            "product_id": "HRC", "tonnage_t": 10.0, "reps_g": 15 * G, "general_cfp": 2.0, "residual_cfp": None,
            "allocated_cfp": None, "alpha": 1.0, "gx_tonnage_t": 10.0, "batch_id": "b", "issued_at": "t"}
    lines = [{"line_no": 1, "pool_id": "P@2026-03-31", "project_id": "P", "period_end": dt.date(2026, 3, 31),
              "gas": "CO2", "reps_g": 15 * G, "evidence": "P>HRC"}]
    assert certs.digest(cert, lines) == old_digest(cert, lines)
    assert certs.digest(cert | {"basis_cfp": None, "claimed_cfp": None}, lines) == old_digest(cert, lines)
    assert certs.digest(cert | {"basis_cfp": 2.0, "claimed_cfp": 0.5}, lines) != old_digest(cert, lines)


def test_certificates_carry_basis_and_claimed_cfp(db_url: str, spec, make) -> None:  # noqa: F811, ANN001
    import gxopt

    spec["orders.csv"] = [order("MB", "HRC", 20), order("AL", "HRC", 20, method="allocation")]
    folder = make(spec)
    batch(folder, db_url)
    run = gxopt.run(folder).orders.set_index("order_id")
    with connect(db_url).connect() as c:
        rows = {r.order_id: r for r in c.execute(sa.select(certificates))}
    for oid, r in rows.items():
        for col in ("basis_cfp", "claimed_cfp"):
            if col in run.columns:  # the engine states them: the certificate carries them as issued
                assert getattr(r, col) == pytest.approx(float(run.at[oid, col]))
            else:  # an older engine: NULL, and the digest is the one of before
                assert getattr(r, col) is None
    # issuing by hand from an order dict with and without the keys (older callers)
    o = run.loc["MB"].to_dict() | {"order_id": "MB-2"}
    line = pd.DataFrame([{"pool_id": "HBI@2026-03-31", "project_id": "HBI", "period_end": "2026-03-31", "gas": "CO2",
                          "reps_g": G, "evidence": "HBI"}])
    with writer(connect(db_url), "t") as c:
        with_cfps = certs.issue(c, org_code="TS", year=2026, batch_id="manual", lines=line,
                                order=o | {"basis_cfp": 2.0, "claimed_cfp": 1.95})
        without = certs.issue(c, org_code="TS", year=2026, batch_id="manual", lines=line,
                              order={k: v for k, v in o.items() if k not in certs.OPTIONAL_CERT_FIELDS}
                              | {"order_id": "MB-3"})
    with connect(db_url).connect() as c:
        got = {r.certificate_id: r for r in c.execute(sa.select(certificates))}
    assert (got[with_cfps].basis_cfp, got[with_cfps].claimed_cfp) == (2.0, 1.95)
    assert (got[without].basis_cfp, got[without].claimed_cfp) == (None, None)
    assert_sound(db_url)
    res = CliRunner().invoke(app, ["ledger", "export", "--db", db_url, "--out", str(folder.parent / "exp")])
    assert res.exit_code == 0, res.output
    exported = pd.read_csv(folder.parent / "exp" / "certificates.csv").set_index("certificate_id")
    assert exported.at[with_cfps, "claimed_cfp"] == pytest.approx(1.95)


def test_a_ledger_at_revision_0002_upgrades_and_keeps_its_digests(db_url: str) -> None:  # noqa: F811
    from alembic import command

    from gxopt.ledger import journal as jr
    from gxopt.ledger.db import _alembic_config

    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        command.upgrade(_alembic_config(c), "0002")
    with engine.begin() as c:  # a certificate as issued before revision 0003 (no basis/claimed columns)
        assert "basis_cfp" not in {col["name"] for col in sa.inspect(c).get_columns("certificates")}
        c.execute(sa.text("INSERT INTO pools (pool_id, project_id, period_start, period_end, gas, expires) "
                          "VALUES ('P@2026-03-31', 'P', '2025-04-01', '2026-03-31', 'CO2', '2029-03-31')"))
        c.execute(sa.insert(pool_balance).values(pool_id="P@2026-03-31", credited_g=0, adjusted_g=0, issued_g=0,
                                                 reversed_g=0, expired_g=0, remaining_g=0))
        jr.append(c, "credit", 100 * G, pool_id="P@2026-03-31", meta={"reps_t": 100.0})
        cert = {"certificate_id": "GX-OLD-2026-000001", "order_id": "O", "method": "mass_balance", "customer": "C",
                "product_id": "HRC", "tonnage_t": 10.0, "reps_g": 15 * G, "general_cfp": 2.0, "residual_cfp": None,
                "allocated_cfp": None, "alpha": 1.0, "gx_tonnage_t": 10.0, "batch_id": "b",
                "issued_at": "2026-04-01T00:00:00+00:00"}
        ln = {"certificate_id": cert["certificate_id"], "line_no": 1, "pool_id": "P@2026-03-31", "project_id": "P",
              "period_end": dt.date(2026, 3, 31), "gas": "CO2", "reps_g": 15 * G, "evidence": "P>HRC"}
        old = sa.table("certificates", *(sa.column(k) for k in [*cert, "status"]))
        c.execute(sa.insert(old).values(**cert, status="issued"))
        c.execute(sa.insert(certificate_lines).values(**ln))
        jr.append(c, "issue", 15 * G, pool_id="P@2026-03-31", certificate_id=cert["certificate_id"],
                  meta={"order_id": "O", "line_no": 1, "certificate_digest": old_digest(cert, [ln])})
    engine.dispose()
    with connect(db_url).connect() as c:  # connect() migrates to the newest revision
        from alembic.script import ScriptDirectory

        newest = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]
        assert newest >= "0004" and c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == newest
        row = c.execute(sa.select(certificates)).mappings().one()
        assert row["basis_cfp"] is None and row["claimed_cfp"] is None
        assert audit(c) == []  # its digest still matches
    res = CliRunner().invoke(app, ["ledger", "verify", "--db", db_url])
    assert res.exit_code == 0, res.output


def test_recheck_hashes_equal_the_ledgers(db_url: str) -> None:  # noqa: F811
    """The verifier's stdlib recheck/ computes every journal hash and certificate digest as the ledger does."""
    from gxopt.report.recheck import ledger as recheck
    from tests.conftest import REPO

    batch(REPO / "scenarios" / "jisf-figure1", db_url)
    with connect(db_url).connect() as c:
        rows = [dict(r) for r in c.execute(sa.select(journal).order_by(journal.c.seq)).mappings()]
        cert_rows = [dict(r) for r in c.execute(sa.select(certificates)).mappings()]
        line_rows = [dict(r) for r in c.execute(sa.select(certificate_lines)).mappings()]
    assert rows and cert_rows

    def as_exported(r: dict[str, Any]) -> dict[str, Any]:  # the export writes dates as ISO text
        return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()}

    rows, cert_rows, line_rows = ([as_exported(r) for r in t] for t in (rows, cert_rows, line_rows))
    for r in rows:
        assert recheck.entry_hash(r["prev_hash"], r) == r["hash"]
    for cert in cert_rows:
        mine = [ln for ln in line_rows if ln["certificate_id"] == cert["certificate_id"]]
        assert recheck.certificate_digest(cert, mine) == certs.digest(cert, mine)
