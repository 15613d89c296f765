"""The crude-steel site (SteelZero's site-level link), the gases included in REPs, and the buyer warning
for an Allocated CFP above the General CFP."""

from __future__ import annotations

import pytest

import gxopt
from gxopt.errors import InputError
from gxopt.quote import QuoteRequest, Quoter
from tests.conftest import REPO


@pytest.fixture(scope="module")
def fy26():  # type: ignore[no-untyped-def]
    return gxopt.run(REPO / "scenarios" / "jp-steel-fy2026")


def test_same_site_means_where_the_crude_steel_is_made(fy26) -> None:  # type: ignore[no-untyped-def]
    """NH-CR-N1 is rolled at Higashi from Nishi No.1 BF-BOF slabs: its crude steel is Nishi steel, so a line from
    the Higashi power plant is not from its own site, although Higashi ships it."""
    pr = fy26.products.set_index("product_id")
    assert pr.at["NH-CR-N1", "site"] == "Higashi Works"
    assert pr.at["NH-CR-N1", "crude_steel_site"] == "Nishi Works"
    assert pr.at["HG-CR-B1", "crude_steel_site"] == "Higashi Works"
    al = fy26.allocations
    nh = al[(al["product_id"] == "NH-CR-N1") & (al["project_id"] == "HG-PP-BIOMASS")]
    assert len(nh) and not nh["same_site"].any()
    hg = al[al["product_id"].str.startswith("HG-") & al["project_id"].str.startswith("HG-")]
    assert hg["same_site"].all()


def test_a_route_without_steelmaking_takes_its_first_unit(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["nodes.csv"].append({"node_id": "B-RR", "site": "B", "process": "re_rolling", "steel": "true"})
    spec["nodes.csv"].append({"node_id": "A-SLAB", "site": "A", "process": "slab_yard", "steel": "true"})
    spec["edges.csv"].append({"source": "A-SLAB", "target": "B-RR", "kind": "material"})
    spec["products.csv"].append(dict(spec["products.csv"][0], product_id="RR", site="B", route="A-SLAB>B-RR"))
    r = gxopt.run(make(spec))
    pr = r.products.set_index("product_id")
    assert pr.at["RR", "crude_steel_site"] == "A"
    assert pr.at["SEC", "crude_steel_site"] == "B"


def test_gases_are_listed_and_carried_to_the_lines(fy26) -> None:  # type: ignore[no-untyped-def]
    p = fy26.pools.set_index("project_id")
    assert set(p.loc["MN-EAF-CONV", "gases"]) == {"CO2;CH4;N2O"}
    assert set(p.loc["HG-BF1-HBI", "gases"]) == {"CO2"}
    al = fy26.allocations
    assert (al.loc[al["project_id"] == "MN-EAF-CONV", "gases"] == "CO2;CH4;N2O").all()


@pytest.mark.parametrize("gas, gases, rule", [("CO2", "CO2;CH4", "CO2 only"), ("GHG", "CO2;XYZ", "once"),
                                              ("GHG", "CO2;CO2", "once")])
def test_gases_must_be_known_and_agree_with_gas(spec, make, gas, gases, rule) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"][0].update(gas=gas, gases=gases)
    spec["projects.csv"][1]["gases"] = ""
    with pytest.raises(InputError) as e:
        gxopt.load(make(spec))
    [issue] = e.value.issues
    assert issue.file.endswith("projects.csv") and issue.row == 2 and issue.column == "gases" and rule in issue.rule


def test_allocated_cfp_above_general_cfp_is_flagged_and_warned(spec, make) -> None:  # type: ignore[no-untyped-def]
    """HRC: General 2.0, basis 2.1 (HBI 200 t over 2000 t connected), subject 1.4 + 0.1 + 0.1 + 0.1 = 1.7,
    non-allocable 0.4: at alpha 0.05 the Allocated CFP is 1.7 x 0.95 + 0.4 = 2.015 > 2.0."""
    spec["orders.csv"][0].update(method="allocation", alpha_max=0.05)
    r = gxopt.run(make(spec))
    o = r.orders.iloc[0]
    assert o["allocated_cfp"] == pytest.approx(2.015)
    assert bool(o["allocated_above_general"])
    q = Quoter(r).quote(QuoteRequest("HRC", "allocation", o["delivery_date"].date(), alpha=0.05))
    assert q.warnings and "ABOVE the product's General CFP" in q.warnings[0]
    assert not Quoter(r).quote(QuoteRequest("HRC", "allocation", o["delivery_date"].date(), alpha=0.5)).warnings
