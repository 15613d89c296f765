"""Shared fixtures: a tiny, hand-checkable scenario written to disk from Python dicts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

# A two-site organization small enough to solve by hand:
#   site A: A-BF > A-BOF > A-CC > A-HSM > A-CRM   (cold-rolled sheet)  and  A-HSM (hot-rolled coil)
#   site B: B-EAF > B-CC > B-SEC                   (sections)
#   A-CC ships slabs to B-PLT (plate mill at site B): inter-site material route A-BF > A-BOF > A-CC > B-PLT
#   A-O2 (oxygen plant) supplies A-BOF by a utility edge; A-CHEM is a non-steel chemical plant.
# CFPs are FY2025 data (2025-04..2026-03), except CRC's FY2024 CFP, which predates both projects (pre-project).
BASE: dict[str, Any] = {
    "model.yaml": {"organization": "Tiny Steel"},
    "nodes.csv": [
        {"node_id": n, "site": n.split("-")[0], "process": p, "steel": "true"}
        for n, p in [("A-BF", "blast_furnace"), ("A-BOF", "bof"), ("A-CC", "continuous_casting"),
                     ("A-HSM", "hot_strip_mill"), ("A-CRM", "cold_rolling_mill"), ("A-O2", "oxygen_plant"),
                     ("B-EAF", "eaf"), ("B-CC", "continuous_casting"), ("B-SEC", "section_mill"),
                     ("B-PLT", "plate_mill")]
    ] + [{"node_id": "A-CHEM", "site": "A", "process": "chemical_plant", "steel": "false"}],
    "edges.csv": [
        {"source": s, "target": t, "kind": k} for s, t, k in [
            ("A-BF", "A-BOF", "material"), ("A-BOF", "A-CC", "material"), ("A-CC", "A-HSM", "material"),
            ("A-HSM", "A-CRM", "material"), ("A-CC", "B-PLT", "material"), ("A-O2", "A-BOF", "utility"),
            ("B-EAF", "B-CC", "material"), ("B-CC", "B-SEC", "material")]
    ],
    "products.csv": [
        {"product_id": "HRC", "site": "A", "route": "A-BF>A-BOF>A-CC>A-HSM", "production_t": 1000,
         "general_cfp": 2.0, "scope1": 1.4, "scope2": 0.1, "scope3_upstream": 0.5, "scope3_allocable": 0.1,
         "scrap_share": 0.1, "cfp_period_start": "2025-04-01",
         "cfp_period_end": "2026-03-31"},
        {"product_id": "CRC", "site": "A", "route": "A-BF>A-BOF>A-CC>A-HSM>A-CRM", "production_t": 500,
         "general_cfp": 2.2, "scope1": 1.5, "scope2": 0.2, "scope3_upstream": 0.5, "scope3_allocable": 0.1,
         "scrap_share": 0.1, "cfp_period_start": "2024-04-01",
         "cfp_period_end": "2025-03-31"},
        {"product_id": "PLT", "site": "B", "route": "A-BF>A-BOF>A-CC>B-PLT", "production_t": 500,
         "general_cfp": 2.1, "scope1": 1.5, "scope2": 0.1, "scope3_upstream": 0.5, "scope3_allocable": 0.0,
         "scrap_share": 0.1, "cfp_period_start": "2025-04-01",
         "cfp_period_end": "2026-03-31"},
        {"product_id": "SEC", "site": "B", "route": "B-EAF>B-CC>B-SEC", "production_t": 400,
         "general_cfp": 0.5, "scope1": 0.1, "scope2": 0.3, "scope3_upstream": 0.1, "scope3_allocable": 0.05,
         "scrap_share": 0.95, "cfp_period_start": "2025-04-01",
         "cfp_period_end": "2026-03-31"},
    ],
    "scenario.yaml": {"model": "../model", "as_of": "2026-04-01",
                      "operational_period": {"start": "2026-04-01", "end": "2027-03-31"},
                      "mass_balance": {"expiry_years": 3}},
    "projects.csv": [
        {"project_id": "HBI", "name": "HBI charging", "node": "A-BF", "kind": "raw_material_conversion",
         "additionality": "investment", "gas": "CO2", "verified": "true", "verifier": "V", "statement_id": "S1"},
        {"project_id": "EAF", "name": "EAF power", "node": "B-EAF", "kind": "process_conversion",
         "additionality": "technology", "gas": "GHG", "verified": "true", "verifier": "V", "statement_id": "S2"},
    ],
    "project_periods.csv": [
        {"project_id": "HBI", "period_start": "2025-04-01", "period_end": "2026-03-31", "baseline_intensity": 2.0,
         "output_t": 1000, "project_emissions_t": 1800, "uncertainty": 0.0},
        {"project_id": "EAF", "period_start": "2025-04-01", "period_end": "2026-03-31", "baseline_intensity": 0.5,
         "output_t": 400, "project_emissions_t": 150, "uncertainty": 0.0},
    ],
    "orders.csv": [
        {"order_id": "O1", "customer": "C1", "product_id": "HRC", "tonnage_t": 100, "delivery_date": "2026-06-30",
         "method": "mass_balance", "premium": 10, "alpha_max": "", "requested_reps_t": "", "gas": ""},
    ],
}


def write_scenario(root: Path, spec: dict[str, Any]) -> Path:
    """Write ``spec`` as ``root/model`` and ``root/scenario``; return the scenario folder."""
    model, scen = root / "model", root / "scenario"
    model.mkdir(parents=True, exist_ok=True)
    scen.mkdir(parents=True, exist_ok=True)
    for name, content in spec.items():
        folder = model if name in ("model.yaml", "nodes.csv", "edges.csv", "products.csv") else scen
        if content is None:
            continue
        if name.endswith(".yaml"):
            (folder / name).write_text(yaml.safe_dump(content, sort_keys=False))
        else:
            frame = pd.DataFrame(content)
            (folder / name).write_text(frame.to_csv(index=False))
    return scen


@pytest.fixture
def spec() -> dict[str, Any]:
    """A fresh deep copy of the tiny scenario spec, to be changed by a test."""
    return copy.deepcopy(BASE)


@pytest.fixture
def make(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``make(spec) -> scenario folder``."""
    counter = {"n": 0}

    def _make(s: dict[str, Any]) -> Path:
        counter["n"] += 1
        return write_scenario(tmp_path / f"s{counter['n']}", s)

    return _make
