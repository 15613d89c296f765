"""The nightly batch: credit newly verified pools, expire lapsed REPs, allocate every open order, issue.

Everything happens in one write transaction under the ledger lock, so a batch killed at any instant
leaves the ledger exactly as before it started, and two batches never interleave. Orders that already
hold an issued certificate are skipped: rerunning the same batch issues nothing new.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from gxopt.io import input_digest
from gxopt.ledger import certificates as certs
from gxopt.eligibility import order_caps
from gxopt.ledger import holds
from gxopt.ledger import journal as jr
from gxopt.ledger.db import LedgerError, connect, now, writer
from gxopt.ledger.tables import G_PER_T, batches, certificates, pool_balance, pools
from gxopt.pipeline import load, run
from gxopt.reps import compute_pools
from gxopt.results import order_cfps
from gxopt.scenario import Scenario
from gxopt.settings import organization_code

FAULT_ENV = "GXOPT_FAULT_AT"
PAUSE_ENV = "GXOPT_PAUSE_AT"


def _fault(point: str) -> None:
    """Test hooks: ``GXOPT_FAULT_AT=<point>`` kills this process with SIGKILL at that point;
    ``GXOPT_PAUSE_AT=<point>:<seconds>`` sleeps there (to hold the lock in concurrency tests)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV, "")
    if pause.startswith(point + ":"):
        time.sleep(float(pause.split(":", 1)[1]))


def batch(scenario_path: str | Path, url: str, *, wait: float = 60.0,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the nightly batch of ``scenario_path`` against the ledger at ``url``; return its summary."""
    say = progress or (lambda _m: None)
    say("read and validate")
    s = load(scenario_path)
    if s.settings.allow_unverified:
        msg = "a what-if scenario (allow_unverified: true) can never issue certificates (6.8)"
        raise LedgerError(msg)
    pools_now = compute_pools(s)
    engine = connect(url, wait=wait)
    batch_id = uuid.uuid4().hex
    started = now()
    org = organization_code(s.model.meta)
    year = s.settings.as_of.year
    as_of = pd.Timestamp(s.settings.as_of)
    say("waiting for the ledger lock")
    with writer(engine, f"batch {s.name}") as conn:
        say("credit newly verified pools")
        credited, adjusted = _credit(conn, pools_now, s.projects.set_index("project_id"), batch_id)
        _fault("after_credit")
        say("expire lapsed REPs")
        expired = _expire(conn, as_of, batch_id)
        _fault("after_expire")

        lapsed = holds.lapse(conn)
        scenario = ledger_view(conn, s, pools_now)
        lp_orders, held = holds.claim(conn, scenario.orders)
        open_orders = scenario.orders
        scenario = dataclasses.replace(scenario, orders=lp_orders)
        say(f"allocate {len(open_orders)} open orders")
        result = run(scenario)
        _fault("after_solve")

        say("issue certificates")
        issued = []
        orders = result.orders.set_index("order_id")
        lines = certs.to_grams(result.allocations, certs.remaining_by_pool(conn))
        for n, (order_id, rows) in enumerate(lines.groupby("order_id", sort=True)):
            o = orders.loc[order_id].to_dict() | {"order_id": order_id}
            issued.append(certs.issue(conn, org_code=org, year=year, batch_id=batch_id, order=o, lines=rows))
            if n == len(lines["order_id"].unique()) // 2:
                _fault("mid_issue")
        issued += _issue_held(conn, open_orders, held, result, org, year, batch_id)
        summary = {
            "batch_id": batch_id, "scenario": s.name, "as_of": str(s.settings.as_of),
            "pools_credited": credited, "pools_adjusted": adjusted, "expired_t": expired / G_PER_T,
            "holds_lapsed": lapsed, "holds_converted": len(held),
            "open_orders": int(len(open_orders)), "certificates_issued": len(issued),
            "reps_issued_t": float(lines["reps_g"].sum()) / G_PER_T if len(lines) else 0.0,
            "first_certificate": issued[0] if issued else None, "last_certificate": issued[-1] if issued else None,
            "value": float(result.orders["value"].sum()),
        }
        summary["journal_head"] = jr.head(conn)[1]
        conn.execute(sa.insert(batches).values(
            batch_id=batch_id, scenario=str(Path(scenario_path)), as_of=s.settings.as_of,
            input_sha256=input_digest(s), started_at=started, finished_at=now(),
            summary=json.dumps(summary, sort_keys=True)))
        _fault("before_commit")
    return summary


def _issue_held(conn: sa.Connection, open_orders: pd.DataFrame, held: dict[str, pd.DataFrame], result: Any,
                org: str, year: int, batch_id: str) -> list[str]:
    """Certificates for orders that take up a hold: exactly the held pool lines, up to the order's cap."""
    issued = []
    prod = result.eligibility.products.set_index("product_id")
    pools_ = result.eligibility.pools.set_index("pool_id")
    evidence = result.eligibility.connections.set_index(["project_id", "product_id"])["evidence"]
    for order_id, hl in sorted(held.items()):
        row = open_orders[open_orders["order_id"] == order_id]
        *_, cap = order_caps(row, prod)
        lines = holds.fit_to_cap(hl, float(cap[0]))
        o = row.iloc[0].to_dict()
        reps_t = lines["reps_g"].sum() / G_PER_T
        cfps = order_cfps(prod, prod.index.get_indexer([o["product_id"]]), np.array([o["method"] == "allocation"]),
                          np.array([reps_t]), np.array([float(o["tonnage_t"])]))
        o |= {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in cfps.items()}
        lines = lines.assign(
            project_id=lines["pool_id"].map(pools_["project_id"]), period_end=lines["pool_id"].map(pools_["period_end"]),
            gas=lines["pool_id"].map(pools_["gas"]))
        lines["evidence"] = [evidence.get((j, o["product_id"]), "") for j in lines["project_id"]]
        issued.append(certs.issue(conn, org_code=org, year=year, batch_id=batch_id, order=o, lines=lines))
        holds.convert(conn, str(o["hold_id"]), order_id)
    return issued


def ledger_view(conn: sa.Connection, s: Scenario, pools_now: pd.DataFrame) -> Scenario:
    """The scenario as the ledger sees it now: only orders without an issued certificate are open, and
    each pool has exactly its ledger balance left (a pool not in the ledger has nothing to give)."""
    certified = {r.order_id for r in conn.execute(sa.select(certificates.c.order_id).where(
        certificates.c.status == "issued"))}
    open_orders = s.orders[~s.orders["order_id"].isin(certified)].reset_index(drop=True)
    remaining = certs.remaining_by_pool(conn)
    for pool_id, grams in holds.held_by_pool(conn).items():  # held REPs are nobody else's
        remaining[pool_id] = max(0, remaining.get(pool_id, 0) - grams)
    reps = pools_now.set_index("pool_id")["reps_t"]
    in_ledger = [p for p in remaining if p in reps.index]
    account = pd.DataFrame({
        "project_id": [p.rsplit("@", 1)[0] for p in in_ledger],
        "period_end": pd.to_datetime([p.rsplit("@", 1)[1] for p in in_ledger]).astype("datetime64[ns]"),
        "used_t": [max(0.0, float(reps[p]) - remaining[p] / G_PER_T) for p in in_ledger],
        "src_line": 0})
    not_credited = pools_now.loc[~pools_now["pool_id"].isin(remaining), ["project_id", "period_end", "reps_t"]]
    account = pd.concat([account, not_credited.rename(columns={"reps_t": "used_t"}).assign(src_line=0)],
                        ignore_index=True)
    return dataclasses.replace(s, orders=open_orders, account=account)


def _credit(conn: sa.Connection, pools_now: pd.DataFrame, projects: pd.DataFrame, batch_id: str) -> tuple[int, int]:
    """Credit every certifiable, ended pool not yet in the ledger; adjust those whose verified REPs changed.

    A pool entering the ledger brings its earlier use from ``account.csv`` with it (one ``issue`` entry
    marked legacy, rounded up); after that the ledger, not account.csv, is the account.
    """
    known = {r.pool_id: r for r in conn.execute(sa.select(pool_balance))}
    credited = adjusted = 0
    ready = pools_now[pools_now["certifiable"] & pools_now["ended"]]
    for p in ready.itertuples():
        grams = int(p.reps_t * G_PER_T // 1)
        verifier, statement = projects.at[p.project_id, "verifier"], projects.at[p.project_id, "statement_id"]
        if p.pool_id not in known:
            conn.execute(sa.insert(pools).values(
                pool_id=p.pool_id, project_id=p.project_id, period_start=p.period_start.date(),
                period_end=p.period_end.date(), gas=p.gas, verifier=verifier, statement_id=statement,
                expires=p.mb_expires.date()))
            conn.execute(sa.insert(pool_balance).values(pool_id=p.pool_id, credited_g=0, adjusted_g=0, issued_g=0,
                                                        reversed_g=0, expired_g=0, remaining_g=0))
            jr.append(conn, "credit", grams, pool_id=p.pool_id, batch_id=batch_id,
                      meta={"project_id": p.project_id, "period_start": str(p.period_start.date()),
                            "period_end": str(p.period_end.date()), "gas": p.gas, "reps_t": p.reps_t,
                            "verifier": verifier, "statement_id": statement})
            before = float(p.used_t)
            if before > 0:  # use recorded in account.csv before this pool entered the ledger
                jr.append(conn, "issue", int(-(-before * G_PER_T // 1)), pool_id=p.pool_id, batch_id=batch_id,
                          reason="used before the ledger (account.csv)", meta={"legacy": True, "used_t": before})
            credited += 1
        else:
            b = known[p.pool_id]
            delta = grams - int(b.credited_g + b.adjusted_g)
            if delta:
                jr.append(conn, "adjust", delta, pool_id=p.pool_id, batch_id=batch_id,
                          reason="re-verification changed the pool's REPs", meta={"reps_t": p.reps_t})
                adjusted += 1
    return credited, adjusted


def _expire(conn: sa.Connection, as_of: pd.Timestamp, batch_id: str) -> int:
    """Write off what is left of every pool whose validity ended before ``as_of`` (7.2.2)."""
    q = sa.select(pools.c.pool_id, pools.c.expires, pool_balance.c.remaining_g).join(
        pool_balance, pools.c.pool_id == pool_balance.c.pool_id).where(
        pools.c.expires < as_of.date(), pool_balance.c.remaining_g > 0)
    total = 0
    for r in conn.execute(q).all():
        jr.append(conn, "expire", int(r.remaining_g), pool_id=r.pool_id, batch_id=batch_id,
                  reason=f"validity ended {r.expires} (7.2.2)")
        total += int(r.remaining_g)
    return total
