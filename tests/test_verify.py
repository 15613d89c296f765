"""The independent verify really catches broken results: each rule is fed a tampered result table."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pandas as pd
import pytest

import gxopt
from gxopt.verify import verify
from tests.conftest import REPO


@pytest.fixture(scope="module")
def good() -> gxopt.RunResult:
    return gxopt.run(REPO / "scenarios" / "jp-steel-fy2026")


def tampered(r: gxopt.RunResult, table: str, edit: Callable[[pd.DataFrame], None]):  # type: ignore[no-untyped-def]
    frame = getattr(r.results, table).copy()
    edit(frame)
    return dataclasses.replace(r.results, **{table: frame})


CASES = {
    "overdrawn pool": ("allocations", lambda a: a.__setitem__("reps_t", a["reps_t"] * 1.5), "pool account exceeded"),
    "order over cap": ("allocations", lambda a: a.__setitem__(
        "reps_t", a["reps_t"].where(a.index != a.index[0], a["reps_t"] * 50)), "order cap exceeded"),
    "ineligible pool": ("allocations", lambda a: a.__setitem__("pool_id", a["pool_id"].where(
        a.index != a.index[0], "HG-OXY-NFC@2026-03-31")), "ineligible pool"),
    "broken evidence": ("allocations", lambda a: a.__setitem__("evidence", a["evidence"].where(
        a.index != a.index[0], "HG_BF1 > NS_PM")), "physical connection"),
    "wrong alpha": ("orders", lambda o: o.__setitem__("alpha", o["alpha"] + 0.01), "reported alpha differs"),
    "wrong allocated cfp": ("orders", lambda o: o.__setitem__("allocated_cfp", o["allocated_cfp"] - 0.1),
                            "do not follow 8.1.1"),
    "remaining does not reconcile": ("pools", lambda p: p.__setitem__("remaining_t", p["remaining_t"] + 1),
                                     "does not reconcile"),
}


def test_good_result_verifies(good) -> None:  # type: ignore[no-untyped-def]
    assert verify(good.scenario, good.results, good.summary["solver"]["stage_objectives"]) == []


@pytest.mark.parametrize("case", list(CASES))
def test_tampered_result_is_caught(good, case: str) -> None:  # type: ignore[no-untyped-def]
    table, edit, text = CASES[case]
    bad = tampered(good, table, edit)
    problems = verify(good.scenario, bad)
    assert any(text in p for p in problems), problems


def test_lost_objective_is_caught(good) -> None:  # type: ignore[no-untyped-def]
    stages = dict(good.summary["solver"]["stage_objectives"])
    stages["value"] *= 1.01
    assert any("first-stage optimum" in p for p in verify(good.scenario, good.results, stages))


def test_gas_and_expiry_rules_are_caught(good) -> None:  # type: ignore[no-untyped-def]
    s = good.scenario
    orders = s.orders.copy()
    served = good.allocations["order_id"].iloc[0]
    pool_gas = good.allocations["gas"].iloc[0]
    orders.loc[orders["order_id"] == served, "gas"] = "GHG" if pool_gas == "CO2" else "CO2"
    orders.loc[orders["order_id"] == served, "delivery_date"] = pd.Timestamp("2035-01-01")
    problems = verify(dataclasses.replace(s, orders=orders), good.results)
    assert any("gas type" in p for p in problems)
    assert any("expired" in p or "operational period" in p for p in problems)


def test_violations_are_named_rules_with_clause_and_ids(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """verify returns named rules; where a rule re-does an LP family it carries that family's name."""
    import dataclasses

    from gxopt.lp.program import FAMILIES
    from gxopt.verify import RULE_OF, verify

    families = set(FAMILIES)
    own = {"pool_reps", "cfps", "claims", "certifiable"}
    assert {r for _, r in RULE_OF} <= families | own
    r = gxopt.run(REPO / "scenarios" / "jisf-case-study")
    pools = r.results.pools.copy()
    pools["reps_t"] = pools["reps_t"] / 2  # the account is now overdrawn, and the pools hold too little
    [*found] = verify(r.scenario, dataclasses.replace(r.results, pools=pools))
    [over] = [v for v in found if "pool account exceeded" in v]
    assert (over.rule, over.clause, over.ids) == ("pool_account", "7.3.1", ("P1@2025-03-31",))
    assert "pool_reps" in {v.rule for v in found}
