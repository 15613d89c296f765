"""Seeded generator of synthetic organizations and order books for benchmarks (and a CI smoke test).

``generate(folder, orders=10_000, products=40, projects=10, seed=0)`` writes ``folder/model`` and
``folder/scenario`` in the gxopt file contract and returns the scenario folder.

Each site is one line BF > BOF > CC > HSM > CRM > CGL of ``material`` edges (plus slabs shipped from
every site's caster to the next site's hot strip mill) and a power plant feeding BOF, HSM and CRM
through ``utility`` edges. There are no feeder units (coke ovens, sinter plants), so no ``input``
edges, and no ``byproduct`` edges.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

STAGES = ("BF", "BOF", "CC", "HSM", "CRM", "CGL")


def generate(folder: str | Path, orders: int = 10_000, products: int = 40, projects: int = 10,
             sites: int | None = None, seed: int = 0, premiums: int = 12, supply: float = 1.0) -> Path:
    """Write a synthetic model and scenario of the given size; return the scenario folder.

    ``premiums`` distinct premium levels (contract tiers); 0 = every order line its own premium (the
    case where no two orders are interchangeable). ``supply`` scales every project's output, so the REPs
    (by default well below what the orders could take) can cover a given share of the demand.
    """
    rng = np.random.default_rng(seed)
    sites = sites or max(3, -(-projects // 5))  # one project per unit: no 6.6 groups in generated data
    root = Path(folder)
    model, scen = root / "model", root / "scenario"
    model.mkdir(parents=True, exist_ok=True)
    scen.mkdir(parents=True, exist_ok=True)
    site_names = [f"S{i}" for i in range(sites)]
    nodes = [(f"{s}-{st}", s, st.lower(), "true") for s in site_names for st in STAGES]
    nodes += [(f"{s}-PWR", s, "power_plant", "true") for s in site_names]
    edges = [(f"{s}-{a}", f"{s}-{b}", "material") for s in site_names for a, b in zip(STAGES, STAGES[1:])]
    edges += [(f"{s}-PWR", f"{s}-{st}", "utility") for s in site_names for st in ("BOF", "HSM", "CRM")]
    edges += [(f"{site_names[i]}-CC", f"{site_names[(i + 1) % sites]}-HSM", "material") for i in range(sites)]
    pd.DataFrame(nodes, columns=["node_id", "site", "process", "steel"]).to_csv(model / "nodes.csv", index=False)
    pd.DataFrame(edges, columns=["source", "target", "kind"]).to_csv(model / "edges.csv", index=False)
    (model / "model.yaml").write_text(yaml.safe_dump({"organization": f"Synthetic Steel {seed}"}))

    rows = []
    for k in range(products):
        s = site_names[k % sites]
        src = site_names[(k % sites - 1) % sites] if k % 5 == 0 else s  # slabs from the previous site
        depth = 3 + k % 3
        chain = [f"{src}-BF", f"{src}-BOF", f"{src}-CC"] + [f"{s}-{st}" for st in STAGES[3:depth + 1]]
        s1 = round(rng.uniform(1.4, 1.8), 3)
        s2 = round(rng.uniform(0.0, 0.1), 3)
        s3 = round(rng.uniform(0.45, 0.6), 3)
        rows.append({"product_id": f"P{k:04d}", "site": s, "route": ">".join(chain),
                     "production_t": float(rng.integers(100, 3000) * 1000), "general_cfp": round(s1 + s2 + s3, 3),
                     "scope1": s1, "scope2": s2, "scope3_upstream": s3, "scope3_allocable": round(s3 * 0.2, 3),
                     "scrap_share": 0.1, "cfp_period_start": "2025-04-01", "cfp_period_end": "2026-03-31"})
    prod = pd.DataFrame(rows)
    prod.to_csv(model / "products.csv", index=False)

    proj, per = [], []
    for j in range(projects):
        s = site_names[j % sites]
        node = f"{s}-{['BF', 'BOF', 'PWR', 'HSM', 'CRM'][(j // sites) % 5]}"
        proj.append({"project_id": f"J{j:03d}", "name": f"Project {j}", "node": node,
                     "kind": "raw_material_conversion", "additionality": "investment",
                     "gas": "CO2" if j % 3 else "GHG", "verified": "true", "verifier": "V",
                     "statement_id": f"VS-{j}"})
        for start, end in (("2024-04-01", "2025-03-31"), ("2025-04-01", "2026-03-31")):
            q = float(rng.integers(1000, 4000) * 1000) * supply
            b = 1.8
            per.append({"project_id": f"J{j:03d}", "period_start": start, "period_end": end,
                        "baseline_intensity": b, "output_t": q,
                        "project_emissions_t": round(b * q * (1 - rng.uniform(0.01, 0.05))),
                        "uncertainty": 0.05})
    pd.DataFrame(proj).to_csv(scen / "projects.csv", index=False)
    pd.DataFrame(per).to_csv(scen / "project_periods.csv", index=False)

    n = orders
    method = np.where(rng.random(n) < 0.25, "allocation", "mass_balance")
    pid = rng.integers(0, products, n)
    post = (pid % 2) == 1  # GX Allocation orders only on odd products (the former cfp_basis post_project)
    method = np.where(post, method, "mass_balance")
    day = pd.Timestamp("2026-04-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    o = pd.DataFrame({
        "order_id": [f"O{i:07d}" for i in range(n)], "customer": [f"C{c:03d}" for c in rng.integers(0, 200, n)],
        "product_id": prod["product_id"].to_numpy()[pid], "tonnage_t": rng.integers(10, 5000, n).astype(float),
        "delivery_date": day.strftime("%Y-%m-%d"), "method": method,
        "premium": (rng.choice(np.round(np.linspace(20.0, 120.0, premiums), 2), n) if premiums
                    else np.round(rng.uniform(20.0, 120.0, n), 4)),
        "alpha_max": np.where(method == "allocation", "1", ""), "requested_reps_t": "", "gas": "",
    })
    o.to_csv(scen / "orders.csv", index=False)
    (scen / "scenario.yaml").write_text(yaml.safe_dump({
        "model": "../model", "as_of": "2026-04-01",
        "operational_period": {"start": "2026-04-01", "end": "2027-03-31"},
        "mass_balance": {"expiry_years": 3}, "name": f"synthetic-{n}"}, sort_keys=False))
    return scen


def main() -> None:
    """``python benchmarks/generate.py OUT --orders N``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--products", type=int, default=40)
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(generate(a.out, a.orders, a.products, a.projects, seed=a.seed))


if __name__ == "__main__":
    main()
