"""Quote reservations: REPs held for a quoted order for N days, unavailable to everyone else until the
hold lapses or the order arrives (an order naming the hold in its ``hold_id`` column gets exactly the
held pool lines, up to its cap)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from gxopt.ledger.certificates import MIN_LINE_G, next_certificate_id
from gxopt.ledger.db import LedgerError, now
from gxopt.ledger.tables import G_PER_T, booked_orders, hold_lines, holds
from gxopt.quote import Quote, QuoteRequest


def today() -> dt.date:
    """The date holds are placed and lapse by (wall clock)."""
    return dt.date.today()


def lapse(conn: sa.Connection, on: dt.date | None = None) -> int:
    """Mark active holds whose last day has passed as lapsed; their REPs are free again. Returns how many.

    A hold an order was booked from (through the service) does not lapse: the order takes it at the next batch.
    """
    on = on or today()
    res = conn.execute(sa.update(holds).where(holds.c.status == "active", holds.c.expires_on < on,
                                              holds.c.hold_id.not_in(sa.select(booked_orders.c.hold_id)))
                       .values(status="lapsed"))
    return int(res.rowcount or 0)


def held_by_pool(conn: sa.Connection) -> dict[str, int]:
    """Grams held per pool by active holds."""
    q = (sa.select(hold_lines.c.pool_id, sa.func.sum(hold_lines.c.reps_g))
         .join(holds, holds.c.hold_id == hold_lines.c.hold_id).where(holds.c.status == "active")
         .group_by(hold_lines.c.pool_id))
    return {p: int(g) for p, g in conn.execute(q)}


def place(conn: sa.Connection, q: Quote, req: QuoteRequest, days: int, org_code: str,
          tonnage_t: float | None = None, created_by: str | None = None) -> str:
    """Hold the REPs of quote ``q`` (or of ``tonnage_t`` of it) for ``days`` days; return the hold id."""
    if days <= 0:
        msg = "--hold needs a positive number of days"
        raise LedgerError(msg)
    if q.gx_tonnage_t <= 0:
        msg = "nothing can be promised, so nothing can be held"
        raise LedgerError(msg)
    t = q.gx_tonnage_t if tonnage_t is None else float(tonnage_t)
    if not 0 < t <= q.gx_tonnage_t * (1 + 1e-12):
        msg = f"--tonnage must be in (0, {q.gx_tonnage_t:,.3f}], the promisable tonnage"
        raise LedgerError(msg)
    share = t / q.gx_tonnage_t
    lines = [(p["pool_id"], int(p["reps_t"] * share * G_PER_T // 1)) for p in q.pools]
    lines = [(p, g) for p, g in lines if g >= MIN_LINE_G]
    if not lines:
        msg = "the held amount rounds to nothing"
        raise LedgerError(msg)
    hold_id = next_certificate_id(conn, org_code, today().year).replace("GX-", "HOLD-", 1)
    conn.execute(sa.insert(holds).values(
        hold_id=hold_id, created_at=now(), expires_on=today() + dt.timedelta(days=days), customer=req.customer,
        product_id=req.product_id, method=req.method, delivery_date=req.delivery_date, tonnage_t=t,
        reps_g=sum(g for _, g in lines), status="active", order_id=None, created_by=created_by))
    conn.execute(sa.insert(hold_lines), [{"hold_id": hold_id, "pool_id": p, "reps_g": g} for p, g in lines])
    return hold_id


def release(conn: sa.Connection, hold_id: str) -> None:
    """Give a hold's REPs back before it lapses (not once an order was booked from it)."""
    order = conn.execute(sa.select(booked_orders.c.order_id).where(booked_orders.c.hold_id == hold_id)).scalar()
    if order is not None:
        msg = f"hold {hold_id} was booked as order {order}: it is taken up at the next batch"
        raise LedgerError(msg)
    res = conn.execute(sa.update(holds).where(holds.c.hold_id == hold_id, holds.c.status == "active")
                       .values(status="released"))
    if not res.rowcount:
        msg = f"no active hold {hold_id}"
        raise LedgerError(msg)


def claim(conn: sa.Connection, orders: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Split ``orders`` into those for the LP and those that take an active hold's lines.

    Returns (orders left for the LP, {order_id: hold lines (pool_id, reps_g)}). An order naming a hold
    that is not active, or of another product or method, is refused with a clear message.
    """
    if "hold_id" not in orders.columns:
        return orders, {}
    named = orders[orders["hold_id"].notna() & (orders["hold_id"].astype(str) != "")]
    taken: dict[str, pd.DataFrame] = {}
    for o in named.itertuples():
        h = conn.execute(sa.select(holds).where(holds.c.hold_id == o.hold_id)).mappings().first()
        if h is None or h["status"] != "active":
            state = "unknown" if h is None else h["status"]
            msg = f"order {o.order_id} names hold {o.hold_id}, which is {state}"
            raise LedgerError(msg)
        if h["product_id"] != o.product_id or h["method"] != o.method:
            msg = (f"order {o.order_id} ({o.product_id}, {o.method}) names hold {o.hold_id}, which is for "
                   f"{h['product_id']}, {h['method']}")
            raise LedgerError(msg)
        taken[o.order_id] = pd.read_sql(sa.select(hold_lines.c.pool_id, hold_lines.c.reps_g).where(
            hold_lines.c.hold_id == o.hold_id).order_by(hold_lines.c.pool_id), conn)
    return orders[~orders["order_id"].isin(list(taken))].reset_index(drop=True), taken


def convert(conn: sa.Connection, hold_id: str, order_id: str) -> None:
    """Mark a hold as turned into an order."""
    conn.execute(sa.update(holds).where(holds.c.hold_id == hold_id).values(status="converted", order_id=order_id))


def fit_to_cap(lines: pd.DataFrame, cap_t: float) -> pd.DataFrame:
    """Scale hold lines down to an order's cap (never up); whole grams, no dust lines."""
    total = int(lines["reps_g"].sum())
    cap_g = int(cap_t * G_PER_T // 1)
    if total <= cap_g:
        return lines
    scaled = np.floor(lines["reps_g"].to_numpy() * (cap_g / total)).astype(np.int64)
    out = lines.assign(reps_g=scaled)
    return out[out["reps_g"] >= MIN_LINE_G]


def book(conn: sa.Connection, hold_id: str, order_id: str, premium: float, tonnage_t: float | None,
         delivery: dt.date | None, customer: str | None, by: str) -> dict[str, object]:
    """Book an order from active hold ``hold_id``: it enters the open book and takes the hold at the next batch."""
    h = conn.execute(sa.select(holds).where(holds.c.hold_id == hold_id)).mappings().first()
    if h is None:
        msg = f"unknown hold {hold_id}"
        raise LedgerError(msg)
    if h["status"] != "active":
        msg = f"hold {hold_id} is {h['status']}, not active"
        raise LedgerError(msg)
    taken = conn.execute(sa.select(booked_orders.c.order_id).where(booked_orders.c.hold_id == hold_id)).scalar()
    if taken is not None:
        msg = f"hold {hold_id} was booked already, as order {taken}"
        raise LedgerError(msg)
    if conn.execute(sa.select(booked_orders.c.order_id).where(booked_orders.c.order_id == order_id)).first():
        msg = f"order {order_id} was booked already"
        raise LedgerError(msg)
    row = {"order_id": order_id, "customer": customer if customer is not None else h["customer"],
           "product_id": h["product_id"], "tonnage_t": float(tonnage_t or h["tonnage_t"]),
           "delivery_date": delivery or h["delivery_date"], "method": h["method"], "premium": float(premium),
           "hold_id": hold_id, "created_by": by, "created_at": now()}
    conn.execute(sa.insert(booked_orders).values(**row))
    return row
