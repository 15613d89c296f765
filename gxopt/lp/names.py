"""Registry of every LP component: stable names used by the build, the results and the docs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gxopt.eligibility import Eligibility


@dataclass(frozen=True)
class Component:
    """One family of the LP."""

    name: str
    kind: str
    index: str
    unit: str
    meaning: str
    clause: str


COMPONENTS = (
    Component("reps", "var >= 0", "ARCS (pool, class of interchangeable orders)", "t-CO2e",
              "REPs drawn from a pool for an order; exists only where eligible", "6.7, 7.2.3"),
    Component("pool_account", "con <=", "POOLS", "t-CO2e",
              "sum of REPs drawn from a pool (both methods) <= its REPs less earlier use", "7.2.1, 7.3.1, 8.2.1"),
    Component("order_cap", "con <=", "ORDERS (classes)", "t-CO2e",
              "REPs of a class <= sum over its orders of tonnage x per-tonne cap (scope 1+2 + REPs reflected in the CFP for MB; alpha_max x subject CFP for "
              "allocation), and <= requested_reps_t", "7.3.2, 8.1.1, 8.3.2"),
    Component("allocation_conservation", "con <=", "POOLS with allocation arcs", "t-CO2e",
              "REPs moved by GX Allocation from a pool <= the part of it added to residual CFPs, so total "
              "emissions never fall", "8.1, 8.3.1"),
    Component("objective_fix", "con", "STAGES", "-",
              "keeps each earlier objective stage at its optimum while later stages break ties", "-"),
)

STAGES = (
    ("value", "max", "sum of premium x REPs delivered"),
    ("volume", "max", "REPs delivered (no REP left idle that an order could take at equal value)"),
    ("expiry", "min", "REPs x days to the pool's expiry: pools that expire sooner first"),
    ("site", "max", "REPs from the site where the product's crude steel is made (SteelZero site-level link)"),
    ("order", "min", "REPs x class rank (by its earliest delivery, then order id): deterministic ties"),
)


def stage_costs(elig: Eligibility) -> dict[str, np.ndarray]:
    """Coefficient of every arc in every stage of :data:`STAGES` (both LP paths use these)."""
    arcs = elig.arcs
    return {
        "value": arcs["premium"].to_numpy(float),
        "volume": np.ones(len(arcs)),
        "expiry": arcs["expiry_days"].to_numpy(float),
        "site": arcs["same_site"].to_numpy(float),
        "order": arcs["weight"].to_numpy(float) / max(len(elig.classes), 1),
    }
