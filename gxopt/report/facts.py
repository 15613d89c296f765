"""Static facts of products and projects for the documents: from a result folder's inputs (the plant model and
the projects) and its products table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from gxopt.report.fmt import missing, text
from gxopt.scenario import Scenario

# Optional columns of the plant model's products.csv for the SteelZero lens: the site-level intensity of the site
# where the product's crude steel is made (t-CO2e per t crude steel, cradle-to-crude-steel, e.g. as certified
# under ResponsibleSteel) and that site's scrap share (0..1; the product's scrap share when not given).
SITE_INTENSITY_COLUMNS = ("crude_steel_intensity", "crude_steel_scrap_share")


def product_facts(product_id: str, s: Scenario, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Static facts of a product for the documents (inputs and result products table)."""
    res = tables["products"].set_index("product_id")
    raw = s.model.products.set_index("product_id")
    nodes = s.model.nodes.set_index("node_id")
    if product_id not in raw.index:
        return {"product_id": product_id, "known": False, "name": "", "site": "", "crude_steel_site": "",
                "route": "", "route_names": ""}
    r = raw.loc[product_id]
    route = [n.strip() for n in str(r["route"]).split(">")]
    node_names = nodes["name"] if "name" in nodes.columns else pd.Series(dtype=object)
    facts = {
        "product_id": product_id, "known": True, "name": text(r.get("name")), "site": text(r["site"]),
        "route": " > ".join(route),
        "route_names": " > ".join(text(node_names.get(n)) or n for n in route),
        "production_t": float(r["production_t"]), "general_cfp": float(r["general_cfp"]),
        "scope1": float(r["scope1"]), "scope2": float(r["scope2"]), "scope3_upstream": float(r["scope3_upstream"]),
        "scope3_allocable": float(r["scope3_allocable"]), "scrap_share": float(r["scrap_share"]),
        "cfp_period_start": r["cfp_period_start"].strftime("%Y-%m-%d"),
        "cfp_period_end": r["cfp_period_end"].strftime("%Y-%m-%d"),
    }
    for extra in ("cpc", "primary_data_share", "exempted_emissions_percent", "fossil_carbon_content",
                  "cfp_reference", "description", *SITE_INTENSITY_COLUMNS):
        facts[extra] = None if extra not in raw.columns or missing(r.get(extra)) else r.get(extra)
    if product_id in res.index:
        p = res.loc[product_id]
        facts.update({k: float(p[k]) for k in ("residual_cfp", "non_gx_cfp", "mb_cap_cfp", "subject_cfp",
                                               "non_allocable") if k in p.index and not missing(p[k])})
        facts["rep_term"] = float(p["rep_term"]) if "rep_term" in p.index and not missing(p["rep_term"]) else 0.0
        facts["cfp_data_usable"] = None if missing(p.get("cfp_data_usable")) else bool(p["cfp_data_usable"])
        facts["crude_steel_site"] = text(p.get("crude_steel_site"))
    else:
        facts["crude_steel_site"] = ""
    facts["data_age_justification"] = (None if "data_age_justification" not in raw.columns
                                       or missing(r.get("data_age_justification"))
                                       else str(r["data_age_justification"]))
    return facts


def product_facts_once(s: Scenario, tables: dict[str, pd.DataFrame]) -> Callable[[str], dict[str, Any]]:
    """:func:`product_facts` of each product computed once (for documents of many orders; the dicts are shared,
    read only)."""
    found: dict[str, dict[str, Any]] = {}

    def facts(product_id: str) -> dict[str, Any]:
        if product_id not in found:
            found[product_id] = product_facts(product_id, s, tables)
        return found[product_id]
    return facts


def raises_scrap_use(name: str, technology: str, kind: str, process: str) -> bool:
    """Whether a project raises the use of scrap (a constrained resource for SteelZero): its name or technology
    mentions scrap, or it is a process conversion at an electric arc furnace."""
    words = f"{name} {technology}".lower()
    return "scrap" in words or (kind == "process_conversion" and process.lower() == "eaf")


def project_facts(s: Scenario) -> dict[str, dict[str, Any]]:
    """Per project: name, technology, additionality, node, site, verifier, statement, gases, whether it raises
    scrap use."""
    nodes = s.model.nodes.drop_duplicates("node_id").set_index("node_id")
    out = {}
    for p in s.projects.itertuples():
        node = p.node
        site = text(nodes["site"].get(node)) if node in nodes.index else ""
        process = text(nodes["process"].get(node)) if node in nodes.index and "process" in nodes.columns else ""
        out[p.project_id] = {
            "name": text(p.name), "technology": text(getattr(p, "technology", "")),
            "additionality": text(p.additionality), "node": text(node), "site": site,
            "verifier": text(p.verifier), "statement_id": text(p.statement_id),
            "gases": text(getattr(p, "gases", "")),
            "raises_scrap_use": raises_scrap_use(text(p.name), text(getattr(p, "technology", "")),
                                                 text(p.kind), process),
        }
    return out


def gases_included(gas: Any, gases: Any) -> str:
    """The gases included (``gases`` of the run's tables); CO2 for the CO2 class when none are listed."""
    listed = ";".join(g.strip() for g in text(gases).split(";") if g.strip())
    return listed or ("CO2" if text(gas) == "CO2" else "")
