"""Certificates as documents: the content of each (one view model with its statements) and its HTML page; the
PDF is drawn from the same view model (:mod:`gxopt.report.certificate_pdf`).

- Reduction certificate (GX Mass Balance, 7.1, 7.3, 7.5): product, tonnage, the General CFP, the 7.3.3
  correction (REPs already reflected in that CFP, per tonne), the basis (General + correction), the REPs per
  tonne assigned and the CFP the buyer may claim (basis - REPs per tonne, Figure 1: 3.0 - 2.3 = 0.7), REPs by
  project and period with gas type, physical-connection evidence, verifier and statement, the statement that
  it is bound to the product and cannot be transferred to another product, and how downstream attributes may
  be passed on.
- CFP certificate (GX Allocation, 8.5): description of the product, purchase volume, the explicit statement
  that GX Allocation was used, General, Allocated and Residual CFP, the reduction achieved by the purchase.

Drafts (no ledger) carry "DRAFT — NOT ISSUED" in the title, a banner and a watermark on every PDF page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gxopt import __version__
from gxopt.report import fmt
from gxopt.report.certificate import Certificate
from gxopt.report.data import GUIDELINE, ReportData
from gxopt.report.issuer import Issuer, issuer
from gxopt.report.lens import BOUNDARY_NOTE, NOT_RECOGNISED, SCALES, STEELZERO_POSITION, certificate_lens
from gxopt.report.render import render

EVIDENCE_LEGEND = ("' > ' a step along the product's own line (material flow); ' -input-> ' a unit's output consumed "
                   "by the next unit (coke, sinter, pellets, DRI/HBI, lime); ' -utility-> ' power, steam, oxygen, "
                   "compressed air or cold blast supplied to it; by-product flows (process gases, tar, slag, waste "
                   "heat) never connect")
DISCLAIMER = ("The treatment of GX value related to GX Steel supplied under the JISF GX Steel Guidelines rests "
              "entirely with the customer; neither the Japan Iron and Steel Federation nor its member companies "
              "bear any responsibility in this regard (JISF ch. 10).")


def statements(who: Issuer, c: Certificate) -> list[tuple[str, str]]:
    """The fixed statements of the certificate, each with its clause."""
    product = f"{c.product_id}" + (f" ({c.product['name']})" if c.product.get("name") else "")
    reps = f"{c.reps_t:,.3f} t-CO2e"
    out: list[tuple[str, str]] = []
    if c.method == "allocation":
        out.append(("Method (8.5)", f"The CFP of this steel product was calculated using the GX Allocation method of "
                                    f"the {GUIDELINE} (chapter 8). The Allocated CFP is embodied directly in the "
                                    "product and disclosed by this CFP certificate; it is not a reduction "
                                    "certificate."))
        out.append(("Three CFPs (8.3.3)", "General CFP: the CFP without GX allocation. Allocated CFP: the CFP "
                                          "reflecting the GX value, stated only for customers buying GX steel. "
                                          "Residual CFP: the CFP not reflecting GX value (General CFP + the REPs "
                                          "reflected in it per tonne, 8.3.2), which non-GX steel carries (8.1, "
                                          "8.3.1)." + (" " + who.claims if who.claims else "")))
        out.append(("Bound to the product (7.5, 8.2.3)",
                    f"This CFP certificate is bound to the steel product {product} and order {c.order_id} "
                    f"({c.tonnage_t:,.3f} t) stated above. The Allocated CFP applies to this steel only and shall not "
                    "be applied to another steel product or circulated independently of it. It is valid for "
                    f"deliveries in the operational period {who.period_start} to {who.period_end} (8.2.3)."))
        out.append(("Passing on downstream (7.5)",
                    "The customer manages the GX value of this steel as an attribute of this GX Steel. To pass it on "
                    "to a secondary customer, the customer keeps traceability between this steel and its own product "
                    "and presents an attribute certificate of its own (not this certificate); the same applies further "
                    "down the value chain. The total passed on downstream shall not exceed the reduction stated here, "
                    f"{c.reduction_t:,.3f} t-CO2e."))
    else:
        out.append(("Method (7.1, 7.3)", f"REPs were assigned to this steel product by the GX Mass Balance method of "
                                         f"the {GUIDELINE} (chapter 7; ISO 22095:2020 mass balance model) from the "
                                         "organization's account of third-party verified REPs. The certificate "
                                         "states the product's General CFP and, separately, the REPs assigned."))
        out.append(("No double counting with steel without REPs (7.3.3)", correction_statement(c)))
        out.append(("Bound to the product (7.5)",
                    f"This reduction certificate is bundled with the steel product {product} of order {c.order_id} "
                    f"({c.tonnage_t:,.3f} t). It shall not be transferred to another steel product or circulated "
                    "downstream independently."))
        out.append(("Customer use (7.5)",
                    f"The customer may use the {reps} of REPs stated here to claim reductions in upstream emissions "
                    "at the organizational level (Scope 3 Category 1) and at product level for this steel product, "
                    "including CFP deductions for its own products (for example following ISO 14068-1:2023)."))
        out.append(("Passing on downstream (7.5)",
                    "The REPs stated here are managed by the customer as an attribute of this GX Steel. The customer "
                    "shall not simply transfer this certificate to the next supply chain (a secondary customer): to pass "
                    "attributes on, it keeps traceability between this GX Steel and its product and presents an "
                    "attribute certificate of its own; the same applies further down the value chain. The total of attributes transferred "
                    f"downstream shall not exceed {reps}."))
    cap = c.product.get("mb_cap_cfp") if c.product.get("known") else None
    limit = (f" and never exceed the product's scope 1+2 intensity on the same basis (scope 1 + scope 2 + the "
             f"7.3.3 correction = {cap:.4f} t-CO2e/t; never its upstream scope 3, 7.3.2)"
             if c.method == "mass_balance" and cap is not None else "")
    out.append(("Account and physical connection (6.7, 7.2, 8.2)",
                "The REPs come from the organization's account of verified REPs and never exceed its balance"
                f"{limit}. Every REP line names the project's calculation period and gas type and the process path "
                "that physically connects the project's unit to this product's last process step "
                f"({EVIDENCE_LEGEND})."))
    if c.method == "mass_balance" and who.claims:  # a run's sentence; none for a certificate served alone
        out.append(("Claims across the organization (7.3.3, 8.1)", who.claims))
    verifiers = sorted({f"{ln.verifier} ({ln.statement_id})" if ln.statement_id else ln.verifier
                        for ln in c.lines if ln.verifier})
    recorded = ("; ".join(verifiers) if verifiers else "no verifier is recorded for its REP lines")
    out.append(("Third-party verification (6.8, 7.4, 8.4)",
                ("The REPs on this certificate were verified by a third party under ISO 14064-3:2019: " + recorded
                 if c.verified else
                 "NOT all REPs on this draft are third-party verified (6.8), so it can never be issued; verifiers "
                 "recorded: " + recorded)
                + " (verifier and verification statement on each REP line, from the projects' records)."))
    out.append(("Re-checked by gxopt (not a third-party verification)",
                "gxopt re-checked the run behind this certificate with its own verification (gxopt verify) and "
                "publishes a verifier pack from which the REPs calculation, the account and the assignment can be "
                "re-performed. This re-check is the software's own, not an independent verification."))
    out.append(("Disclaimer (10)", DISCLAIMER))
    return out


def correction_statement(c: Certificate) -> str:
    """7.3.3 in words, with this certificate's numbers: General CFP + correction = basis; basis - REPs/t = claim."""
    if c.basis_cfp is None or c.rep_term is None:
        return ("The REPs already reflected in this product's General CFP are not known for this certificate (the "
                "ledger states no basis and the product is not in this result folder), so the CFP the buyer may "
                "claim is not stated here (7.3.3).")
    nums = (f"General CFP {fmt.cfp(c.general_cfp)} + correction {fmt.cfp(c.rep_term)} = basis "
            f"{fmt.cfp(c.basis_cfp)} t-CO2e/t; basis {fmt.cfp(c.basis_cfp)} - REPs {fmt.cfp(c.reps_per_t)} t-CO2e/t "
            f"= {fmt.cfp(c.claimed_cfp)} t-CO2e/t, the CFP the buyer may claim.")
    if c.rep_term > 1e-12:
        why = ("The calculation period of this product's General CFP overlaps the calculation periods of the "
               "emission reduction projects physically connected to it, so those projects' REPs are reflected in "
               "that emission intensity (7.3.3). The correction value adds them back, pro rata by the days of "
               "overlap, per tonne of the products connected to each project: the basis is the CFP on the "
               "pre-project basis, the same basis for GX Mass Balance and GX Allocation, and it is what steel of "
               "this product to which no REPs are assigned carries (its non-GX CFP). The buyer deducts the REPs "
               "per tonne from the basis, not from the General CFP, so double counting between this steel product "
               "and steel products to which no REPs are assigned is prevented (7.3.3).")
    else:
        why = ("The calculation period of this product's General CFP does not overlap any calculation period of the "
               "emission reduction projects physically connected to it, so no REPs are reflected in it: the "
               "correction value is zero and the basis is the General CFP (7.3.3). Steel of this product to which "
               "no REPs are assigned carries the same basis, so double counting between this steel product and "
               "steel products to which no REPs are assigned is prevented.")
    return f"{why} {nums}"


def view(who: Issuer, c: Certificate) -> dict[str, Any]:
    """The content of one certificate, shared by its HTML and PDF."""
    p = c.product
    if c.draft:
        banner = ("draft", "DRAFT — NOT ISSUED. This document is a draft — not issued: it was computed from a "
                           f"gxopt result folder for order {c.order_id} and is not a certificate. Certificates are "
                           "issued only by the ledger (gxopt batch)." + (f" This draft can never be issued: {c.not_certifiable_reason}."
                                               if not c.certifiable else ""))
    elif c.status == "void":
        banner = ("void", f"VOID since {c.voided_at}: {c.void_reason}. Its REPs were returned to their pools.")
    else:
        banner = ("issued", f"Issued {c.issued_at} from the ledger (batch {c.batch_id[:12]}).")
    parties = [("Certificate id", c.certificate_id), ("Status", c.status.upper() if c.status != "draft"
                                                      else "DRAFT — NOT ISSUED"),
               ("Issuer (scheme owner)", who.organization + (f" ({who.country})" if who.country else "")),
               ("Scheme", GUIDELINE), ("Customer", c.customer), ("Order", c.order_id),
               ("Delivery date", c.delivery_date or "–")]
    product = [("Product", c.product_id + (f" - {p['name']}" if p.get("name") else "")),
               ("Shipped from (site)", p.get("site") or "–"),
               ("Crude steel made at (site of the route's BOF/EAF)", p.get("crude_steel_site") or "–"),
               ("Process route", p.get("route") or "–"),
               ("Route (unit names)", p.get("route_names") or "–"),
               ("Purchased volume", f"{fmt.tonnes(c.tonnage_t)} t"),
               ("Scrap share of metallic input", fmt.pct(p.get("scrap_share"))),
               ("CFP data period", f"{p.get('cfp_period_start', '–')} to {p.get('cfp_period_end', '–')}"
                                   + _data_age(p))]
    cfp = [("General CFP (ch. 5)", f"{fmt.cfp(c.general_cfp)} t-CO2e/t"),
           ("General CFP declared in (EPD / verification, 5.1, 5.3)",
            str(p.get("cfp_reference") or "not given in products.csv (cfp_reference)"))]
    if p.get("known"):
        cfp.append(("of which scope 1 / scope 2 / upstream scope 3",
                    f"{fmt.cfp(p['scope1'])} / {fmt.cfp(p['scope2'])} / {fmt.cfp(p['scope3_upstream'])} t-CO2e/t"))
    correction = ("REPs already reflected in the General CFP (7.3.3 correction, per t)",
                  "–" if c.rep_term is None else f"+{fmt.cfp(c.rep_term)} t-CO2e/t"
                  + ("" if c.rep_term > 1e-12 else " (no connected project's calculation period overlaps the CFP "
                                                   "data period)"))
    if c.method == "allocation":
        cfp += [correction,
                ("Residual CFP (not reflecting GX value)", f"{fmt.cfp(c.residual_cfp)} t-CO2e/t"),
                ("Allocated CFP (GX steel, reflecting GX value)", f"{fmt.cfp(c.allocated_cfp)} t-CO2e/t"),
                ("GX value alpha (0 <= alpha <= 1)", f"{c.alpha:.6f}"),
                ("GX steel tonnage (alpha x volume)", f"{fmt.tonnes(c.gx_tonnage_t)} t")]
        reductions = [("Reduction achieved by the purchase", f"{fmt.reps(c.reduction_t)} t-CO2e"),
                      ("= (Residual CFP - Allocated CFP) x volume",
                       f"({fmt.cfp(c.residual_cfp)} - {fmt.cfp(c.allocated_cfp)}) x {fmt.tonnes(c.tonnage_t)} t"),
                      ("per tonne against the Residual CFP",
                       f"{fmt.cfp((c.residual_cfp or 0) - (c.allocated_cfp or 0))} t-CO2e/t"),
                      ("difference to the General CFP (General - Allocated)",
                       f"{fmt.cfp(c.general_cfp - (c.allocated_cfp or 0))} t-CO2e/t"),
                      ("REPs allocated (sum of lines)", f"{fmt.reps(c.reps_t)} t-CO2e"),
                      ("Gases included in the REPs (7.3.1, 6.5)", c.gases_included)]
    else:
        cfp += [correction,
                ("Basis CFP (General CFP + correction; what non-GX steel of this product carries)",
                 "–" if c.basis_cfp is None else
                 f"{fmt.cfp(c.basis_cfp)} t-CO2e/t = {fmt.cfp(c.general_cfp)} + {fmt.cfp(c.rep_term)}")]
        reductions = [("REPs assigned", f"{fmt.reps(c.reps_t)} t-CO2e"),
                      ("Gases included in the REPs (7.3.1, 6.5)", c.gases_included),
                      ("REPs per tonne", f"{fmt.cfp(c.reps_per_t)} t-CO2e/t"),
                      ("CFP the buyer may claim (basis - REPs per tonne, 7.3.3, 7.5)",
                       "–" if c.claimed_cfp is None else
                       f"{fmt.cfp(c.claimed_cfp)} t-CO2e/t = {fmt.cfp(c.basis_cfp)} - {fmt.cfp(c.reps_per_t)}"),
                      ("Steel covered at the full scope 1+2 intensity", f"{fmt.tonnes(c.gx_tonnage_t)} t")]
    lines = [{"no": ln.line_no, "project": ln.project_id, "name": ln.project_name, "technology": ln.technology or "–",
              "period": f"{ln.period_start or '?'} to {ln.period_end}", "gas": ln.gases_label,
              "gas_class": ln.gas, "reps": fmt.reps(ln.reps_t),
              "link": ln.link_detail, "evidence": ln.evidence, "verifier": ln.verifier or "–",
              "statement": ln.statement_id or "–", "pool": ln.pool_id} for ln in c.lines]
    integrity = []
    if c.digest:
        integrity.append(("Content digest (SHA-256, in the ledger journal)", c.digest))
    if c.batch_id:
        integrity.append(("Ledger batch", c.batch_id))
    integrity.append(("Run inputs (SHA-256)", who.input_sha256 or "–"))
    transfers = [{"id": t["transfer_id"], "from": t["from_customer"], "to": t["to_customer"],
                  "reps": fmt.reps(t["reps_t"]), "parent": t.get("parent_transfer_id") or "–",
                  "created": str(t["created_at"])[:19]} for t in c.transfers]
    lz = certificate_lens(c)
    lens_rows = []
    site_x, site_s = lz["site_intensity"]["site_intensity"], lz["site_intensity"]["site_scrap_share"]
    for sc in SCALES:
        lens_rows.append({"scale": sc.label, "formula": f"{sc.b:.2f} - {sc.m:.2f} s",
                          "threshold": lz["physical"][f"{sc.key}_threshold"],
                          "physical": lz["physical"][f"{sc.key}_met"],
                          "site": None if site_x is None or site_s is None
                          else site_x <= sc.threshold(site_s) + 1e-12})
    title = c.title + (" (DRAFT — NOT ISSUED)" if c.draft else " (VOID)" if c.status == "void" else "")
    return {"c": c, "title": title, "banner": banner, "parties": parties, "product": product, "cfp": cfp,
            "reductions": reductions, "lines": lines, "statements": statements(who, c), "lens": lz,
            "lens_rows": lens_rows, "boundary_note": BOUNDARY_NOTE, "steelzero_position": STEELZERO_POSITION,
            "not_recognised": NOT_RECOGNISED, "warnings": c.warnings, "claimed_text": _claimed_text(c, lz),
            "transfers": transfers, "integrity": integrity,
            "remaining_to_pass": (c.reduction_t if c.method == "allocation" else c.reps_t) - c.passed_on_t}


def _claimed_text(c: Certificate, lz: dict[str, Any]) -> str:
    """The lens's words on the embodied and the claimed intensity (the claimed one is never judged)."""
    site = lz["site_intensity"]
    text = (f"Embodied intensity judged on the scales: General CFP {fmt.cfp(c.general_cfp)} t-CO2e/t at scrap share "
            f"s = {fmt.pct(lz['scrap_share'])} (a proxy for the crude-steel site {c.crude_steel_site or 'unknown'})")
    if site["site_intensity"] is not None:
        text += (f"; the crude-steel site's own intensity {fmt.cfp(site['site_intensity'])} t-CO2e/t crude steel at "
                 f"s = {fmt.pct(site['site_scrap_share'])}: {site['site_rs_level_label']}")
    text += (f". Claimed CFP {fmt.cfp(c.claimed_cfp)} t-CO2e/t ({lz['claimed_basis']}): {NOT_RECOGNISED}; no "
             "threshold or level is judged on it.")
    return text


def _data_age(p: dict[str, Any]) -> str:
    """5.2.2: primary data within five years of the run's as_of date, or older with a stated justification."""
    just = p.get("data_age_justification")
    if p.get("cfp_data_usable") is False:
        return " (older than five years without a stated justification: not usable, 5.2.2)"
    if just:
        return f" (justification for the data age, 5.2.2: {just})"
    return " (within five years, 5.2.2)" if p.get("cfp_data_usable") else ""


def write_html(data: ReportData, c: Certificate, file: Path, v: dict[str, Any] | None = None) -> None:
    """Write the certificate's HTML page (self-contained)."""
    v = v or view(issuer(data), c)
    file.write_text(render("certificate.html", v=v, version=__version__, guideline=GUIDELINE,
                           source=f"{data.scenario_name} ({data.mode})", pdf=f"{c.slug}.pdf"), encoding="utf-8")

