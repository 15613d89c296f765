"""Property tests on random small scenarios (hypothesis), checked against an independent LP.

Every example is a random variant of the tiny organization of ``tests/conftest.py`` (BASE): random
production and CFP breakdowns, 1-4 projects on distinct nodes (eligible and ineligible kinds, verified
or not, on the utility node A-O2 or the non-steel node A-CHEM), 1-3 calculation periods each (some with a
net emission increase), random account use, 1-12 random orders, optional extra input, utility and
by-product edges. At most one project per node, so no 6.6 node-level group arises.

The reference optimum is computed here from the raw CSV files alone: plain ``csv`` parsing, plain-Python
eligibility (the rules of docs/file-contract.md, docs/formulation.md and the docstrings of
gxopt/eligibility.py, gxopt/reps.py and gxopt/graph.py) and an LP passed to highspy directly.
Nothing from gxopt is imported for it.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gxopt
from tests.conftest import BASE, write_scenario

SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])

ALL_NODES = [n["node_id"] for n in BASE["nodes.csv"]]  # includes the utility node A-O2 and non-steel A-CHEM
ELIGIBLE_KINDS = ("process_conversion", "fuel_conversion", "raw_material_conversion")
INELIGIBLE_KINDS = ("operational_improvement", "maintenance", "production_change", "external_certificate")
ADDITIONALITY = ("regulatory", "technology", "investment", "common_practice", "timing")
CFP_PERIODS = (("2025-04-01", "2026-03-31"), ("2025-04-01", "2026-03-31"), ("2024-04-01", "2025-03-31"),
               ("2025-01-01", "2025-12-31"), ("2024-04-01", "2026-03-31"))
DELIVERIES = ("2026-06-30", "2026-04-01", "2027-01-15", "2027-03-31", "2026-06-30", "2026-09-30", "2026-03-15",
              "2027-05-01", "2028-06-30", "2029-06-30")
PROJECT_NODES = ALL_NODES + ["A-O2", "A-O2", "A-BF", "A-BOF", "B-EAF", "B-EAF"]  # utility node more often
# products a project at a node feeds in BASE (before the optional extra utility edges): used only to bias
# the orders towards products that some pool can serve
FEEDS = {"A-BF": ["HRC", "CRC", "PLT"], "A-BOF": ["HRC", "CRC", "PLT"], "A-CC": ["HRC", "CRC", "PLT"],
         "A-O2": ["HRC", "CRC", "PLT"], "A-HSM": ["HRC", "CRC"], "A-CRM": ["CRC"], "B-PLT": ["PLT"],
         "B-EAF": ["SEC"], "B-CC": ["SEC"], "B-SEC": ["SEC"], "A-CHEM": []}
PREMIUMS = (10, 5, 1, 5, 10, 12.5, 20, 0)  # repeated values: ties between orders


# --------------------------------------------------------------------------------------------------
# random scenarios
# --------------------------------------------------------------------------------------------------

def _add_months(d: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after the month of ``d``."""
    m = d.month - 1 + months
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def _reps(b: float, q: float, e: float, u: float) -> float:
    """Signed REPs of one period: a reduction lowered by u, an increase raised by u (6.5)."""
    g = b * q - e
    return g * (1.0 - u) if g >= 0 else g * (1.0 + u)


def _net(amounts: list[float]) -> list[float]:
    """Increases netted against the same project's periods (in time order): latest earlier periods first,
    then later ones (the order documented in docs/formulation.md), by plain simulation."""
    out = [max(a, 0.0) for a in amounts]
    owed: list[float] = []
    for i, a in enumerate(amounts):
        if a < 0:
            need = -a
            for j in range(i - 1, -1, -1):
                take = min(out[j], need)
                out[j] -= take
                need -= take
            if need > 0:
                owed.append(need)
        else:
            while owed and out[i] > 0:
                take = min(out[i], owed[0])
                out[i] -= take
                owed[0] -= take
                if owed[0] <= 0:
                    owed.pop(0)
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A random, valid variant of BASE (as a spec dict for ``write_scenario``)."""
    spec = copy.deepcopy(BASE)

    # plant model: optional extra utility edges (cross-site, from the non-steel plant, a two-step path)
    if draw(st.booleans()):
        spec["edges.csv"].append({"source": "A-O2", "target": "B-EAF", "kind": "utility"})
    if draw(st.booleans()):
        spec["edges.csv"].append({"source": "A-CHEM", "target": "A-HSM", "kind": "utility"})
    if draw(st.booleans()):  # two utility steps: B-CC -> A-O2 -> A-BOF
        spec["edges.csv"].append({"source": "B-CC", "target": "A-O2", "kind": "utility"})
    if draw(st.booleans()):  # an input then a utility step: B-EAF -> A-O2 -> A-BOF
        spec["edges.csv"].append({"source": "B-EAF", "target": "A-O2", "kind": "input"})
    if draw(st.booleans()):  # a by-product: connects nothing (A-BF would otherwise reach SEC)
        spec["edges.csv"].append({"source": "A-BF", "target": "B-CC", "kind": "byproduct"})
    for p in spec["products.csv"]:
        s1 = draw(st.integers(1, 40)) * 0.05  # zero caps come from alpha_max / requested_reps_t
        s2 = draw(st.integers(0, 10)) * 0.05
        s3u = draw(st.integers(0, 12)) * 0.05
        s3a = s3u * draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]))
        start, end = draw(st.sampled_from(CFP_PERIODS))
        p.update(production_t=draw(st.integers(10, 3000)), scope1=s1, scope2=s2, scope3_upstream=s3u,
                 scope3_allocable=s3a, general_cfp=s1 + s2 + s3u, cfp_period_start=start, cfp_period_end=end)

    # scenario settings
    expiry = draw(st.sampled_from([3, 3, 1, 0]))
    spec["scenario.yaml"].update(
        as_of=draw(st.sampled_from(["2026-04-01", "2026-04-01", "2026-10-01", "2025-10-01", "2027-06-30"])),
        mass_balance={"expiry_years": expiry},
        allow_unverified=draw(st.sampled_from([False, False, True])))

    # projects: at most one per node (no 6.6 group), 1-3 non-overlapping periods of at most one year
    # Two times in three the first project is a "good" one (eligible, verified, on a busy node, periods
    # ended by as_of), so that most examples have arcs to optimize; every other draw is unconstrained
    # (scenarios without any eligible project included).
    good = draw(st.sampled_from([True, True, False]))
    first = st.sampled_from(["A-BF", "A-BOF", "A-CC", "A-O2", "B-EAF"] if good else PROJECT_NODES)
    nodes = [draw(first)]
    nodes += [n for n in draw(st.lists(st.sampled_from(PROJECT_NODES), max_size=3, unique=True)) if n not in nodes]
    projects, periods, account = [], [], []
    for i, node in enumerate(nodes):
        pid = f"P{i + 1}"
        ok = good and i == 0
        verified = True if ok else draw(st.sampled_from([True, True, True, False]))
        projects.append({
            "project_id": pid, "name": f"project {pid}", "node": node,
            "kind": draw(st.sampled_from(ELIGIBLE_KINDS if ok else ELIGIBLE_KINDS * 2 + INELIGIBLE_KINDS)),
            "additionality": draw(st.sampled_from(ADDITIONALITY if ok else ADDITIONALITY + ("",))),
            "gas": draw(st.sampled_from(["CO2", "GHG"])),
            "verified": "true" if verified else "false",
            "verifier": "V" if verified else draw(st.sampled_from(["", "V"])),
            "statement_id": f"S-{pid}" if verified else "",
        })
        start = _add_months(dt.date(2024, 4, 1), draw(st.sampled_from([0, 12] if ok else [0, 3, 6, 12, 18, 24])))
        mine = []
        for _ in range(draw(st.integers(1, 3))):
            length = draw(st.sampled_from([12, 6, 3]))
            end = _add_months(start, length) - dt.timedelta(days=1)
            b = draw(st.sampled_from([0.5, 1.0, 2.0, 1.7]))
            q = float(draw(st.integers(50, 2000)))
            e = b * q * draw(st.sampled_from([0.8, 0.5, 0.95, 1.1]))
            u = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5]))
            mine.append({"project_id": pid, "period_start": start.isoformat(), "period_end": end.isoformat(),
                         "baseline_intensity": b, "output_t": q, "project_emissions_t": e, "uncertainty": u})
            start = _add_months(end + dt.timedelta(days=1), draw(st.sampled_from([0, 0, 3])))
        netted = _net([_reps(r["baseline_intensity"], r["output_t"], r["project_emissions_t"], r["uncertainty"])
                       for r in mine])
        for r, held in zip(mine, netted):
            frac = draw(st.sampled_from([None, None, 0.0, 0.3, 0.999]))
            if frac is not None:
                account.append({"project_id": pid, "period_end": r["period_end"], "used_t": frac * held})
        periods += mine
    spec["projects.csv"] = projects
    spec["project_periods.csv"] = periods
    spec["account.csv"] = account or None

    orders = []
    for i in range(draw(st.integers(1, 12))):
        method = draw(st.sampled_from(["mass_balance", "allocation"]))
        alpha = draw(st.sampled_from(["", "", 0.5, 0.3, 1.0, 0.0])) if method == "allocation" else ""
        orders.append({
            "order_id": f"O{i + 1:02d}", "customer": f"C{i % 3}",
            "product_id": draw(st.sampled_from(FEEDS[nodes[0]] * 2 + ["HRC", "CRC", "PLT", "SEC"])),
            "tonnage_t": draw(st.integers(1, 500)),
            "delivery_date": draw(st.sampled_from(DELIVERIES)),
            "method": method, "premium": draw(st.sampled_from(PREMIUMS)), "alpha_max": alpha,
            "requested_reps_t": draw(st.sampled_from(["", "", "", 50, 5, 500, 0])),
            "gas": draw(st.sampled_from(["", "", "", "CO2", "GHG"])),
        })
    spec["orders.csv"] = orders
    return spec


# --------------------------------------------------------------------------------------------------
# the independent reference: plain csv parsing, plain-Python rules, highspy directly
# --------------------------------------------------------------------------------------------------

def _rows(file: Path) -> list[dict[str, str]]:
    if not file.is_file():
        return []
    with file.open(newline="", encoding="utf-8") as fh:
        return [{k.strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _plus_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _num(text: str) -> float | None:
    return None if text == "" else float(text)


@dataclass
class Reference:
    optimum: float
    n_arcs: int
    basis: dict[str, float]
    actual: float  # General CFPs x production less the verified REPs of ended pools no CFP contains


def reference_optimum(scen: Path) -> Reference:
    """Optimum of the allocation LP built from the raw files of ``scen`` without gxopt."""
    cfg = yaml.safe_load((scen / "scenario.yaml").read_text())
    model = (scen / cfg["model"]).resolve()
    as_of = _date(str(cfg["as_of"]))
    op_start = _date(str(cfg["operational_period"]["start"]))
    op_end = _date(str(cfg["operational_period"]["end"]))
    expiry_years = int(cfg.get("mass_balance", {}).get("expiry_years", 3))
    allow_unverified = bool(cfg.get("allow_unverified", False))

    steel = {r["node_id"]: r["steel"] == "true" for r in _rows(model / "nodes.csv")}
    feeds: dict[str, set[str]] = {}  # 6.7: what feeds a unit (inputs, utilities); never by-products
    for r in _rows(model / "edges.csv"):
        if r["kind"] in ("input", "utility"):
            feeds.setdefault(r["source"], set()).add(r["target"])
    products = {r["product_id"]: r for r in _rows(model / "products.csv")}
    route = {k: [n.strip() for n in r["route"].split(">")] for k, r in products.items()}

    def connected(node: str, k: str) -> bool:
        if node in route[k]:
            return True
        seen, todo = {node}, [node]
        while todo:
            for nxt in feeds.get(todo.pop(), ()):
                if nxt in route[k]:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    projects = {r["project_id"]: r for r in _rows(scen / "projects.csv")}
    eligible = {}
    for pid, r in projects.items():
        ok = (r["kind"] in ELIGIBLE_KINDS and r["additionality"] != "" and steel[r["node"]]
              and (r["verified"] == "true" or allow_unverified))
        eligible[pid] = ok
    conn = {(j, k): connected(projects[j]["node"], k) for j in projects for k in products}
    production = {k: float(r["production_t"]) for k, r in products.items()}
    denom = {j: sum(production[k] for k in products if conn[j, k]) for j in projects}

    used: dict[tuple[str, str], float] = {}
    for r in _rows(scen / "account.csv"):
        key = (r["project_id"], r["period_end"])
        used[key] = used.get(key, 0.0) + float(r["used_t"])

    pools = []
    rows = sorted(_rows(scen / "project_periods.csv"), key=lambda r: (r["project_id"], r["period_end"]))
    by_project: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_project.setdefault(r["project_id"], []).append(r)
    for j, mine in by_project.items():
        held = _net([_reps(float(r["baseline_intensity"]), float(r["output_t"]), float(r["project_emissions_t"]),
                           float(r["uncertainty"])) for r in mine])
        for r, reps in zip(mine, held):
            u = used.get((j, r["period_end"]), 0.0)
            pools.append({"project": j, "start": _date(r["period_start"]), "end": _date(r["period_end"]),
                          "reps": reps, "used": u, "available": max(reps - u, 0.0), "gas": projects[j]["gas"]})

    def overlap(p: dict[str, Any], k: str) -> float:
        """Share of the pool's days inside the product's CFP data period (both ends inclusive)."""
        lo = max(p["start"], _date(products[k]["cfp_period_start"]))
        hi = min(p["end"], _date(products[k]["cfp_period_end"]))
        return max((hi - lo).days + 1, 0) / ((p["end"] - p["start"]).days + 1)

    # REPs reflected in each product's CFP per tonne (7.3.3, 8.3.2) and the part of each pool added (8.1)
    term = dict.fromkeys(products, 0.0)
    for p in pools:
        j = p["project"]
        p["added"] = 0.0
        if not eligible[j]:
            continue
        for k in products:
            if conn[j, k]:
                term[k] += p["reps"] * overlap(p, k) / denom[j]
                p["added"] += p["reps"] * overlap(p, k) * production[k] / denom[j]
        p["alloc_limit"] = max(p["added"] - p["used"], 0.0)

    orders = _rows(scen / "orders.csv")
    caps, arcs = [], []  # arcs: (pool index, order index)
    for oi, o in enumerate(orders):
        k = products[o["product_id"]]
        s12 = float(k["scope1"]) + float(k["scope2"]) + term[o["product_id"]]  # 7.3.2 on the pre-project basis
        tonnage = float(o["tonnage_t"])
        delivery = _date(o["delivery_date"])
        alloc = o["method"] == "allocation"
        if alloc:
            alpha = _num(o["alpha_max"])
            per_t = (1.0 if alpha is None else alpha) * (s12 + float(k["scope3_allocable"]))
        else:
            per_t = s12
        cap = tonnage * per_t
        if o["requested_reps_t"] != "":
            cap = min(cap, float(o["requested_reps_t"]))
        caps.append(cap)
        if alloc and (not op_start <= delivery <= op_end or as_of > op_end):
            continue
        for pi, p in enumerate(pools):
            j = p["project"]
            if not (eligible[j] and p["end"] <= as_of and p["available"] > 0 and conn[j, o["product_id"]]):
                continue
            if o["gas"] and o["gas"] != p["gas"]:
                continue
            if alloc:
                if overlap(p, o["product_id"]) <= 0:  # 8.2.2 (and ch. 4: data after the project commenced)
                    continue
            else:
                expires = _plus_years(p["end"], expiry_years)
                if delivery > expires or as_of > expires:
                    continue
            arcs.append((pi, oi))
    basis = {k: float(r["general_cfp"]) + term[k] for k, r in products.items()}
    actual = sum(production[k] * float(r["general_cfp"]) for k, r in products.items()) - sum(
        p["reps"] - p["added"] for p in pools if eligible[p["project"]] and p["end"] <= as_of)
    if not arcs:
        return Reference(0.0, 0, basis, actual)

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(arcs)
    cost = np.array([float(orders[oi]["premium"]) for _, oi in arcs])
    h.addCols(n, cost, np.zeros(n), np.full(n, highspy.kHighsInf), 0, np.array([], dtype=np.int32),
              np.array([], dtype=np.int32), np.array([], dtype=float))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def row(cols: list[int], upper: float) -> None:
        if cols:
            h.addRow(-highspy.kHighsInf, upper, len(cols), np.array(cols, dtype=np.int32), np.ones(len(cols)))

    for pi, p in enumerate(pools):
        row([a for a, (q, _) in enumerate(arcs) if q == pi], p["available"])
        row([a for a, (q, oi) in enumerate(arcs) if q == pi and orders[oi]["method"] == "allocation"],
            p.get("alloc_limit", 0.0))
    for oi in range(len(orders)):
        row([a for a, (_, q) in enumerate(arcs) if q == oi], caps[oi])
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return Reference(float(h.getInfo().objective_function_value), n, basis, actual)


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


# --------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------

@SETTINGS
@given(spec=scenarios())
def test_runs_verifies_and_matches_independent_optimum(spec: dict[str, Any]) -> None:
    """(a) run succeeds and its own verify is clean; (b) optimum = independent LP; (d) bounds hold."""
    with tempfile.TemporaryDirectory() as tmp:
        scen = write_scenario(Path(tmp), spec)
        r = gxopt.run(scen)  # raises VerificationError when gxopt's own verify finds a violation
        assert r.violations == []
        ref = reference_optimum(scen)

    # (b) first stage objective and realised value both equal the independent optimum
    stage_value = r.summary["solver"]["stage_objectives"]["value"]
    realised = float((r.orders["premium"] * r.orders["reps_t"]).sum())
    assert _close(stage_value, ref.optimum), (stage_value, ref.optimum)
    assert _close(realised, ref.optimum), (realised, ref.optimum)

    # (d) no account overdrawn, no order above its cap, alpha within [0, 1]
    p, o = r.pools, r.orders
    tol = 1e-6
    assert (p["used_t"] <= p["reps_t"] + tol * np.maximum(1.0, p["reps_t"])).all()
    assert (p["used_run_t"] >= -tol).all()
    assert (o["reps_t"] <= o["cap_t"] + tol * np.maximum(1.0, o["cap_t"])).all()
    assert ((o["alpha"] >= -tol) & (o["alpha"] <= 1 + tol)).all()
    assert (r.allocations["reps_t"] > 0).all()
    drawn = r.allocations.groupby("pool_id")["reps_t"].sum()
    avail = p.set_index("pool_id")["available_t"]
    for pid, x in drawn.items():
        assert x <= avail[pid] + tol * max(1.0, avail[pid])

    # (e) one basis and no double counting across both methods: buyers' claims >= actual emissions
    pr = r.products.set_index("product_id")
    for k, b in ref.basis.items():
        assert _close(pr.at[k, "non_gx_cfp"], b), (k, pr.at[k, "non_gx_cfp"], b)
    claims = sum(pr.at[k, "non_gx_cfp"] * pr.at[k, "production_t"] for k in ref.basis) - float(o["reps_t"].sum())
    claims -= float(p.loc[p["eligible"] & p["ended"], "used_before_t"].sum())
    assert claims >= ref.actual - 1e-6 * max(1.0, abs(ref.actual)), (claims, ref.actual)
    assert _close(r.summary["claims"]["claims_t"], claims, 1e-9)


def _shuffle_csv(file: Path, rng: random.Random) -> None:
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    idx = list(frame.index)
    rng.shuffle(idx)
    frame.loc[idx].to_csv(file, index=False)


def _allocation_rows(r: gxopt.RunResult) -> list[tuple[str, str, float]]:
    a = r.allocations
    return list(zip(a["order_id"], a["pool_id"], a["reps_t"].astype(float)))


@SETTINGS
@given(spec=scenarios(), rng=st.randoms(use_true_random=False))
def test_row_order_of_inputs_does_not_change_the_allocation(spec: dict[str, Any], rng: random.Random) -> None:
    """(c) shuffling the rows of orders.csv and projects.csv gives the identical allocation."""
    with tempfile.TemporaryDirectory() as tmp:
        a = write_scenario(Path(tmp) / "a", spec)
        b = write_scenario(Path(tmp) / "b", spec)
        for name in ("orders.csv", "projects.csv"):
            _shuffle_csv(b / name, rng)
        first, second = _allocation_rows(gxopt.run(a)), _allocation_rows(gxopt.run(b))
    assert [(o, p) for o, p, _ in first] == [(o, p) for o, p, _ in second]
    for (_, _, x), (_, _, y) in zip(first, second):
        assert x == pytest.approx(y, rel=0, abs=1e-9)


# --------------------------------------------------------------------------------------------------
# regression: no eligible project connected to any product
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [{"verified": "false", "verifier": "", "statement_id": ""},
                                    {"kind": "maintenance"}], ids=["all unverified", "all ineligible kind"])
def test_run_with_no_eligible_connected_project(spec, make, change) -> None:  # type: ignore[no-untyped-def]
    """Nothing to allocate is a normal outcome (a TypeError in product_cfps before be7a276)."""
    for p in spec["projects.csv"]:
        p.update(change)
    r = gxopt.run(make(spec))
    assert r.orders["reps_t"].sum() == 0
    assert (r.orders["status"] == "ineligible").all()
    assert r.summary["solver"]["stage_objectives"]["value"] == 0
