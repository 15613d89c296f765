"""Re-verifications that lower a pool below what it has issued: the shortfall netted against the project's other pools.

Chapter 6 includes increases: a calculation period with a net emission increase is a negative amount netted
against the same project's other periods (:func:`gxopt.reps.compute_pools`), so a newly verified period can
lower the REPs of the project's earlier pools, possibly below what those pools have already put on issued
certificates. The ledger never lets a balance go negative (CHECK constraints), so the REPs missing on such a
pool are taken from the project's other pools here. This module only plans (pure, in grams);
:func:`gxopt.ledger.batch._credit` journals the plan or refuses the batch.

The rule, per project, over its ledger pools that this batch credits (certifiable and ended):

1. A pool's target is its verified REPs (``verified_g``). Its *floor* is what the pool can no longer give
   back: ``used_g`` (issued - reversed: on certificates, or used before the ledger) + ``expired_g``.
2. A pool whose verified REPs are below its floor is *clamped*: its target is the floor, i.e. an adjust
   down to exactly zero remaining. Its *shortfall* is ``used_g - verified_g`` when positive (REPs on
   certificates beyond its new REPs); REPs that merely expired unused are not owed by anybody.
3. The other pools can give what they would have left at their verified REPs, less what active quote
   holds reserve on them: ``verified_g - floor - held_g``.
4. Shortfalls are covered pool by pool in time order. Each is taken from the project's other pools in the
   netting order of :func:`gxopt.reps.net_increases`: first its latest earlier pools (most recent first),
   then its later pools in time order, each up to what it can give.
5. If the project's pools together cannot cover its shortfalls (the REPs already on issued certificates
   exceed the project's new net total), nothing is planned: the batch is refused as a whole.

The plan is a function of the current balances only, so rerunning a batch with the same inputs changes
nothing, and voiding a certificate of a clamped pool gives the netted REPs back to the pools they were
taken from (most recently taken from first: the reverse of the order above).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

RULE = "net increase netted against the project's other periods (6: increases included)"


@dataclass
class Account:
    """One ledger pool of a project as the netting sees it (grams)."""

    pool_id: str
    period_end: dt.date
    verified_g: int  # the pool's REPs as verified now (what it is credited to before netting)
    booked_g: int  # credited + adjusted so far
    used_g: int  # issued - reversed: on certificates or used before the ledger
    expired_g: int
    remaining_g: int
    held_g: int = 0  # reserved by active quote holds
    taken_g: dict[str, int] = field(default_factory=dict)  # already netted away from this pool, per clamped pool
    recorded_g: int | None = None  # the pool's REPs as last recorded in the journal (credit or adjust)

    @property
    def floor_g(self) -> int:
        """The lowest the pool can be booked at: it then has exactly zero remaining."""
        return self.used_g + self.expired_g


@dataclass
class Plan:
    """Target booking per pool, the takes (giver, clamped pool) -> grams in netting order, what is left uncovered."""

    target_g: dict[str, int]
    takes: dict[tuple[str, str], int]
    shortfall_g: dict[str, int]  # per clamped pool: REPs on certificates beyond its verified REPs
    uncovered_g: int
    blocked_by_holds_g: int  # what holds kept from being taken (only reported)


def netting_order(accounts: list[Account], k: int) -> list[Account]:
    """The pools a shortfall of ``accounts[k]`` is taken from: latest earlier first, then later in time order."""
    return accounts[:k][::-1] + accounts[k + 1:]


def plan(accounts: list[Account]) -> Plan:
    """The netting of one project's pools (see the module docstring for the rule)."""
    acc = sorted(accounts, key=lambda a: (a.period_end, a.pool_id))
    target: dict[str, int] = {}
    give: dict[str, int] = {}
    shortfall: dict[str, int] = {}
    held = 0
    for a in acc:
        if a.verified_g < a.floor_g:
            target[a.pool_id] = a.floor_g
            give[a.pool_id] = 0
            if a.verified_g < a.used_g:
                shortfall[a.pool_id] = a.used_g - a.verified_g
        else:
            target[a.pool_id] = a.verified_g
            free = a.verified_g - a.floor_g
            give[a.pool_id] = max(0, free - a.held_g)
            held += min(free, a.held_g)
    takes: dict[tuple[str, str], int] = {}
    uncovered = 0
    for k, a in enumerate(acc):
        need = shortfall.get(a.pool_id, 0)
        for g in netting_order(acc, k):
            if need <= 0:
                break
            take = min(give[g.pool_id], need)
            if take > 0:
                takes[(g.pool_id, a.pool_id)] = take
                give[g.pool_id] -= take
                target[g.pool_id] -= take
                need -= take
        uncovered += need
    return Plan(target, takes, shortfall, uncovered, held if uncovered else 0)
