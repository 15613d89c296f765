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

from gxopt.eligibility import order_caps
from gxopt.io import input_digest
from gxopt.ledger import certificates as certs
from gxopt.ledger import holds, netting
from gxopt.ledger import journal as jr
from gxopt.ledger.db import LedgerError, connect, now, writer
from gxopt.ledger.tables import (G_PER_T, batches, booked_orders, certificate_lines, certificates, journal,
                                 pool_balance, pools)
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
    clock = {"start": time.perf_counter()}
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
        scenario, open_orders, held = open_book(conn, s, pools_now)
        say(f"allocate {len(open_orders)} open orders")
        clock["run"] = time.perf_counter()
        result = run(scenario)
        clock["issue"] = time.perf_counter()
        _fault("after_solve")

        say("issue certificates")
        lines = certs.to_grams(result.allocations, certs.remaining_by_pool(conn))
        issued = _issue_run(conn, result.orders, lines, org, year, batch_id)
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
        done = time.perf_counter()
        summary["timings_s"] = {"before_run": clock["run"] - clock["start"], "run": clock["issue"] - clock["run"],
                                "issue": done - clock["issue"]}
        conn.execute(sa.insert(batches).values(
            batch_id=batch_id, scenario=str(Path(scenario_path)), as_of=s.settings.as_of,
            input_sha256=input_digest(s), started_at=started, finished_at=now(),
            summary=json.dumps(summary, sort_keys=True)))
        _fault("before_commit")
    return summary


CHUNK = 20_000  # certificates written per bulk statement


def _issue_run(conn: sa.Connection, orders: pd.DataFrame, lines: pd.DataFrame, org: str, year: int,
               batch_id: str) -> list[str]:
    """One certificate per order with lines, in order id order, written in bulk chunks.

    A run's orders and allocation lines come sorted by order id already; they are sorted only if not.
    """
    if not lines["order_id"].is_monotonic_increasing:
        lines = lines.sort_values("order_id", kind="stable")
    line_order = lines["order_id"].to_numpy(object)
    cols = ["order_id", "method", "customer", "product_id", "tonnage_t", "general_cfp", "residual_cfp",
            "allocated_cfp", "alpha", "gx_tonnage_t", *certs.OPTIONAL_CERT_FIELDS]
    sel = orders[orders["order_id"].isin(np.unique(line_order))]
    if not sel["order_id"].is_monotonic_increasing:
        sel = sel.sort_values("order_id")
    rows = [dict(zip(cols, v)) for v in zip(*(sel[c].to_numpy(object) for c in cols))]
    cuts = sorted(set(range(0, len(rows), CHUNK)) | {len(rows) // 2, len(rows)})
    issued: list[str] = []
    for a, b in zip(cuts, cuts[1:]):
        if a == len(rows) // 2:
            _fault("mid_issue")
        part = rows[a:b]
        lo = np.searchsorted(line_order, part[0]["order_id"], side="left")
        hi = np.searchsorted(line_order, part[-1]["order_id"], side="right")
        issued += certs.issue_many(conn, org_code=org, year=year, batch_id=batch_id, orders=part,
                                   lines=lines.iloc[lo:hi])
    return issued


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


def open_book(conn: sa.Connection, s: Scenario, pools_now: pd.DataFrame,
              ) -> tuple[Scenario, pd.DataFrame, dict[str, pd.DataFrame]]:
    """The book as the ledger sees it: (the scenario whose orders go to the LP, every open order, the hold lines
    of the orders that take up a hold). Batches, quotes against the ledger and the service all start here."""
    view = ledger_view(conn, s, pools_now)
    lp_orders, held = holds.claim(conn, view.orders)
    return dataclasses.replace(view, orders=lp_orders), view.orders, held


def booked(conn: sa.Connection, columns: pd.Index) -> pd.DataFrame:
    """Orders booked through the service (from holds), typed like the scenario's orders."""
    rows = [dict(r) for r in conn.execute(sa.select(booked_orders).order_by(booked_orders.c.order_id)).mappings()]
    frame = pd.DataFrame(rows, columns=[c.name for c in booked_orders.columns])
    out = pd.DataFrame({
        "order_id": frame["order_id"].astype(object), "customer": frame["customer"].astype(object),
        "product_id": frame["product_id"].astype(object), "tonnage_t": frame["tonnage_t"].astype(float),
        "delivery_date": pd.to_datetime(frame["delivery_date"]).astype("datetime64[ns]"),
        "method": frame["method"].astype(object), "premium": frame["premium"].astype(float),
        "alpha_max": np.nan, "requested_reps_t": np.nan, "gas": None, "hold_id": frame["hold_id"].astype(object),
        "src_line": 0})
    return out[list(columns)]


def ledger_view(conn: sa.Connection, s: Scenario, pools_now: pd.DataFrame) -> Scenario:
    """The scenario as the ledger sees it now: the scenario's orders and those booked through the service, of
    which only orders without an issued certificate are open; each pool has exactly its ledger balance left (a
    pool not in the ledger has nothing to give)."""
    extra = booked(conn, s.orders.columns)
    clash = sorted(set(extra["order_id"]) & set(s.orders["order_id"]))
    if clash:
        msg = (f"order id(s) {', '.join(clash[:10])} were booked through the service and also appear in the scenario's "
               "orders: give the scenario's orders other ids")
        raise LedgerError(msg)
    orders = pd.concat([s.orders, extra], ignore_index=True) if len(extra) else s.orders
    certified = {r.order_id for r in conn.execute(sa.select(certificates.c.order_id).where(
        certificates.c.status == "issued"))}
    open_orders = orders[~orders["order_id"].isin(certified)].reset_index(drop=True)
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

    A re-verification changes a pool's booking (credited + adjusted) to its newly verified REPs by an
    ``adjust`` entry, but a balance never goes below zero. Since increases are included (6), a newly
    verified period with a net increase lowers the project's earlier pools, possibly below what they have
    already issued. Then (the rule of :mod:`gxopt.ledger.netting`, per project):

    - that pool is adjusted down to exactly zero remaining (never below), and the rest of its shortfall
      (REPs on its certificates beyond its new REPs) is taken from the same project's other pools'
      remaining balances (less what active quote holds reserve), in the netting order of
      :func:`gxopt.reps.net_increases`: first its latest earlier pools, most recent first, then its
      later pools in time order; each take is its own ``adjust`` entry whose reason names the pool it
      covers and the rule ("net increase netted against the project's other periods (6: increases
      included)");
    - if the project's remaining balances together cannot absorb the shortfall (REPs already on issued
      certificates exceed the project's new net total), the batch is refused as a whole with a
      :class:`LedgerError` naming the project, the shortfall and the certificates holding its REPs;
      nothing is written (the batch is one transaction).

    The netting is recomputed from the balances every batch: a rerun with the same inputs journals
    nothing, and a void on a netted pool gives the taken REPs back to the pools they came from.
    """
    known = {r.pool_id: r for r in conn.execute(sa.select(pool_balance))}
    credited = 0
    ready = pools_now[pools_now["certifiable"] & pools_now["ended"]]
    for p in ready.itertuples():
        if p.pool_id in known:
            continue
        grams = _grams(p.reps_t)
        verifier, statement = projects.at[p.project_id, "verifier"], projects.at[p.project_id, "statement_id"]
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
    entries, refusals = [], []
    for project_id, rows in ready.groupby("project_id", sort=True):
        accounts = _accounts(conn, rows)
        p_ = netting.plan(list(accounts.values()))
        if p_.uncovered_g > 0:
            refusals.append(_refusal(conn, project_id, rows, accounts, p_))
            continue
        entries += _adjust_entries(rows, accounts, p_)
    if refusals:
        raise LedgerError("\n".join(refusals))
    # per pool every intermediate balance stays >= its final one (>= 0): raises first, then cuts
    for pool_id, amount, reason, meta in sorted(entries, key=lambda e: e[1] < 0):
        jr.append(conn, "adjust", amount, pool_id=pool_id, batch_id=batch_id, reason=reason, meta=meta)
    return credited, len({e[0] for e in entries})


def _grams(reps_t: float) -> int:
    """Whole grams of a pool's REPs, rounded down (conservative)."""
    return int(reps_t * G_PER_T // 1)


def _accounts(conn: sa.Connection, rows: pd.DataFrame) -> dict[str, netting.Account]:
    """The ledger accounts of one project's ready pools, with what netting has already taken from each."""
    ids = list(rows["pool_id"])
    bal = {r.pool_id: r for r in conn.execute(sa.select(pool_balance).where(pool_balance.c.pool_id.in_(ids)))}
    held = holds.held_by_pool(conn)
    taken: dict[str, dict[str, int]] = {}
    recorded: dict[str, int] = {}
    for e in conn.execute(sa.select(journal.c.pool_id, journal.c.kind, journal.c.amount_g, journal.c.meta).where(
            journal.c.kind.in_(("credit", "adjust")), journal.c.pool_id.in_(ids)).order_by(journal.c.seq)):
        meta = json.loads(e.meta)
        if "reps_t" in meta:
            recorded[e.pool_id] = _grams(float(meta["reps_t"]))
        src = meta.get("netted_for")
        if src:
            t = taken.setdefault(e.pool_id, {})
            t[src] = t.get(src, 0) - int(e.amount_g)
    return {p.pool_id: netting.Account(
        pool_id=p.pool_id, period_end=p.period_end.date(), verified_g=_grams(p.reps_t),
        booked_g=int(bal[p.pool_id].credited_g + bal[p.pool_id].adjusted_g),
        used_g=int(bal[p.pool_id].issued_g - bal[p.pool_id].reversed_g), expired_g=int(bal[p.pool_id].expired_g),
        remaining_g=int(bal[p.pool_id].remaining_g), held_g=held.get(p.pool_id, 0),
        taken_g={k: v for k, v in taken.get(p.pool_id, {}).items() if v}, recorded_g=recorded.get(p.pool_id))
        for p in rows.itertuples()}


def _t(grams: int) -> str:
    return f"{grams / G_PER_T:,.6f} t-CO2e"


def _adjust_entries(rows: pd.DataFrame, accounts: dict[str, netting.Account],
                    plan: netting.Plan) -> list[tuple[str, int, str, dict[str, Any]]]:
    """The ``adjust`` entries that bring one project's pools to the plan: (pool_id, grams, reason, meta).

    Per pool: one entry per clamped pool whose netted take from it changes (naming that pool and the rule),
    and one entry for the rest (its own re-verification; for a clamped pool: down to zero remaining, which
    is a zero-amount entry recording the new REPs when the pool had nothing left).
    """
    reps_t = dict(zip(rows["pool_id"], rows["reps_t"], strict=True))
    order = sorted(accounts.values(), key=lambda a: (a.period_end, a.pool_id))
    out: list[tuple[str, int, str, dict[str, Any]]] = []
    rest: list[tuple[str, int, str, dict[str, Any]]] = []
    for a in order:
        new_takes = {src: g for (giver, src), g in plan.takes.items() if giver == a.pool_id}
        netted = 0
        for src in list(new_takes) + [s for s in a.taken_g if s not in new_takes]:
            change = new_takes.get(src, 0) - a.taken_g.get(src, 0)
            if not change:
                continue
            why = (f"covers the shortfall of pool {src}" if change > 0
                   else f"returned: pool {src} needs {_t(-change)} less")
            out.append((a.pool_id, -change, f"{netting.RULE}: {why}",
                        {"netted_for": src, "taken_t": new_takes.get(src, 0) / G_PER_T,
                         "reps_t": float(reps_t[a.pool_id])}))
            netted -= change
        left = plan.target_g[a.pool_id] - a.booked_g - netted
        if not left and a.recorded_g == a.verified_g:
            continue  # nothing changed (a changed verification is journaled even when the booking stays)
        meta: dict[str, Any] = {"reps_t": float(reps_t[a.pool_id])}
        if plan.target_g[a.pool_id] == a.floor_g and a.verified_g < a.floor_g:
            short = plan.shortfall_g.get(a.pool_id, 0)
            meta |= {"issued_t": a.used_g / G_PER_T, "shortfall_t": short / G_PER_T,
                     "netted_to": {g: v / G_PER_T for (g, src), v in plan.takes.items() if src == a.pool_id}}
            reason = (f"re-verification: the pool's REPs ({_t(a.verified_g)}) are below what it has already issued "
                      f"({_t(a.used_g)}) or written off: "
                      + ("adjusted down to zero remaining, never below" if left else "it stays at zero remaining"))
            if short:
                reason += f"; its shortfall of {_t(short)} is a {netting.RULE}"
            rest.append((a.pool_id, left, reason, meta))
        elif a.recorded_g == a.verified_g:  # was held above its REPs for its certificates; no longer needed
            rest.append((a.pool_id, left, f"back to its verified REPs ({_t(a.verified_g)}): its certificates no "
                         f"longer need more than that (the {netting.RULE} is released)", meta))
        else:
            rest.append((a.pool_id, left, "re-verification changed the pool's REPs", meta))
    # story order: a clamped pool's own entry first, then the takes covering it, then the plain adjusts
    clamped = [e for e in rest if "shortfall_t" in e[3]]
    pos = {a.pool_id: i for i, a in enumerate(order)}
    out.sort(key=lambda e: pos.get(e[3]["netted_for"], len(pos)))
    return clamped + out + [e for e in rest if "shortfall_t" not in e[3]]


def _refusal(conn: sa.Connection, project_id: str, rows: pd.DataFrame, accounts: dict[str, netting.Account],
             plan: netting.Plan) -> str:
    """Why the batch cannot absorb a project's shortfall, and what the operator can do about it."""
    total = sum(a.verified_g for a in accounts.values())
    used = sum(a.used_g for a in accounts.values())
    q = (sa.select(certificates.c.certificate_id).distinct()
         .join(certificate_lines, certificate_lines.c.certificate_id == certificates.c.certificate_id)
         .where(certificates.c.status == "issued", certificate_lines.c.project_id == project_id)
         .order_by(certificates.c.certificate_id))
    ids = [r.certificate_id for r in conn.execute(q)]
    shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "") if ids else "none"
    held = (f" ({_t(plan.blocked_by_holds_g)} of its remaining balances is reserved by quote holds and was not "
            "taken)") if plan.blocked_by_holds_g else ""
    return (f"re-verification of project {project_id}: its new net total of REPs is {_t(total)}, but {_t(used)} "
            f"of its REPs are already on issued certificates (or were used before the ledger); its other periods' "
            f"remaining balances cannot absorb a shortfall of {_t(plan.uncovered_g)} "
            f"(6: increases included){held}. Certificates holding its REPs: {shown}. Void certificates holding at "
            f"least {_t(plan.uncovered_g)} of them (gxopt ledger void CERTIFICATE --reason ... --db ...), then "
            "re-run the batch. Nothing was written.")


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
