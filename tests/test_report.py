"""The report (gxopt.report): certificates as documents (HTML + PDF), disclosures, SteelZero lens, PACT export,
plots and the verifier pack, on shipped scenarios in draft mode and from a ledger.

The numbers are the engine's (issue "Accounting fidelity"): one basis per product for both methods (General
CFP + the REPs already reflected in it, the 7.3.3 correction), the CFP each buyer may claim, signed period
REPs with netting, the buyers' claims against actual emissions."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pypdf
import pytest

import gxopt
from gxopt.errors import InputError, OutputError
from gxopt.report import build_report
from gxopt.report.lens import assess, thresholds
from tests.conftest import REPO

# WBCSD PACT required fields (wbcsd/data-exchange-protocol spec/v2 2.3.x and spec/v3 3.0.x; domain-facts.md 9)
PACT_V2_FOOTPRINT = ("id", "specVersion", "version", "created", "status", "comment", "companyName", "companyIds",
                     "productDescription", "productIds", "productCategoryCpc", "productNameCompany", "pcf")
PACT_V2_PCF = ("declaredUnit", "unitaryProductAmount", "referencePeriodStart", "referencePeriodEnd",
               "pCfExcludingBiogenic", "fossilGhgEmissions", "fossilCarbonContent", "biogenicCarbonContent",
               "characterizationFactors", "ipccCharacterizationFactorsSources", "crossSectoralStandardsUsed",
               "boundaryProcessesDescription", "exemptedEmissionsPercent", "exemptedEmissionsDescription",
               "packagingEmissionsIncluded")
PACT_V3_FOOTPRINT = ("id", "specVersion", "created", "status", "companyName", "companyIds", "productDescription",
                     "productIds", "productNameCompany", "pcf")
PACT_V3_PCF = ("declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit", "referencePeriodStart",
               "referencePeriodEnd", "pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions",
               "fossilCarbonContent", "ipccCharacterizationFactors", "crossSectoralStandards",
               "exemptedEmissionsPercent")
GEOGRAPHY = ("geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision")
DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


def html_of(file: Path) -> tuple[str, list[str]]:
    p = _Text()
    p.feed(file.read_text(encoding="utf-8"))
    return squash(" ".join(p.parts)), p.links


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def pdf_text(file: Path) -> str:
    return squash(" ".join(page.extract_text() for page in pypdf.PdfReader(file).pages))


def _run_and_report(factory: pytest.TempPathFactory, name: str) -> tuple[Path, Path]:
    root = factory.mktemp(name)
    gxopt.run(REPO / "scenarios" / name, out=root / "result")
    return root / "result", build_report(root / "result", root / "report")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _run_and_report(tmp_path_factory, "jisf-case-study")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _run_and_report(tmp_path_factory, "jp-steel-both-methods")


@pytest.fixture(scope="module")
def fy26(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _run_and_report(tmp_path_factory, "jp-steel-fy2026")


@pytest.fixture(scope="module")
def figure1(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _run_and_report(tmp_path_factory, "jisf-figure1")


def case_as_mass_balance(root: Path) -> Path:
    """The 8.1.1 case study (General CFP 2.5 after the project, 0.5 Mt REPs) with its three orders under GX Mass
    Balance: the Figure 1 view on a post-project CFP."""
    dst = root / "case-mb"
    shutil.copytree(REPO / "scenarios" / "jisf-case-study", dst)
    o = pd.read_csv(dst / "orders.csv", dtype=str, keep_default_na=False)
    o["method"], o["alpha_max"] = "mass_balance", ""
    o.to_csv(dst / "orders.csv", index=False)
    y = (dst / "scenario.yaml").read_text()
    y = re.sub(r"(?m)^model:.*$", f"model: {REPO / 'models' / 'jisf-case-study'}", y)
    (dst / "scenario.yaml").write_text(y)
    return dst


@pytest.fixture(scope="module")
def case_mb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("case-mb")
    gxopt.run(case_as_mass_balance(root), out=root / "result")
    return root / "result", build_report(root / "result", root / "report")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A ledger after one batch, one void and one attribute transfer; the result folder of the same scenario."""
    from gxopt.ledger import certificates as certs
    from gxopt.ledger.db import connect, dispose_all, writer
    from tests.ledger_support import batched

    root = tmp_path_factory.mktemp("ledger")
    scen = REPO / "scenarios" / "jp-steel-both-methods"
    url = batched(root, scen)
    with writer(connect(url), "test") as conn:
        ids = sorted(r[0] for r in conn.exec_driver_sql("select certificate_id from certificates"))
        mb = sorted(r[0] for r in conn.exec_driver_sql(
            "select certificate_id from certificates where method = 'mass_balance'"))
        certs.void(conn, next(i for i in ids if i != mb[0]), "order cancelled")
        certs.transfer(conn, mb[0], "Second Tier Co", 100.0)
    gxopt.run(scen, out=root / "result")
    report = build_report(root / "result", root / "report", db_url=url)
    yield root / "result", report, url, ids, mb[0]
    dispose_all()


# ------------------------------------------------------------------------------------------ index, links


@pytest.mark.parametrize("which", ["case", "ledger"])
def test_index_is_offline_and_every_link_resolves(which: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(which)[1]
    index = report / "index.html"
    _, links = html_of(index)
    imgs = [x for x in links if x.startswith("data:image/png;base64,")]
    assert len(imgs) >= 3  # plots embedded: index.html works on its own
    for page in [index, *sorted(report.rglob("*.html"))]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", text), f"{page} loads from the network"
        for link in html_of(page)[1]:
            if link.startswith(("data:", "#")):
                continue
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), f"{page.name}: broken link {link}"
    info = json.loads((report / "report.json").read_text())
    assert info["kind"] == "gxopt report"
    for f in info["files"]:
        assert (report / f).is_file(), f
    for png in (report / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------- certificates


def _required(c: pd.Series, lines: pd.DataFrame, draft: bool) -> list[str]:
    items = [c["certificate_id"], c["product_id"], c["customer"], c["order_id"], f"{c['tonnage_t']:,.3f} t",
             f"{c['general_cfp']:.4f}", f"{c['reps_t']:,.3f}",
             "shall not be transferred to another steel product" if c["method"] == "mass_balance"
             else "shall not be applied to another steel product",
             "secondary customer", "attribute certificate of its own", "crude steel at site level", "only a proxy"]
    items.append(c["gases"])  # the gases included (7.3.1, 6.5), never the class alone
    for ln in lines.itertuples():
        items += [ln.project_id, ln.period_end, ln.gases, ln.evidence, ln.verifier, ln.statement_id,
                  f"{ln.reps_t:,.3f}"]
    if c["method"] == "allocation":
        items += ["calculated using the GX Allocation method", "General CFP", "Residual CFP", "Allocated CFP",
                  f"{c['residual_cfp']:.4f}", f"{c['allocated_cfp']:.4f}", "Reduction achieved by the purchase",
                  f"{c['reduction_achieved_t']:,.3f} t-CO2e"]
    else:  # 7.3.3: General CFP + correction = basis; basis - REPs per tonne = what the buyer may claim
        items += ["Reduction Certificate", "GX Mass Balance", "Scope 3 Category 1", "7.3.3 correction",
                  f"General CFP {c['general_cfp']:.4f} + correction {c['rep_term']:.4f} = basis {c['basis_cfp']:.4f}",
                  f"{c['claimed_cfp']:.4f} t-CO2e/t = {c['basis_cfp']:.4f} - {c['reps_per_t']:.4f}",
                  "double counting between this steel product and steel products to which no REPs are assigned"]
    items += ["DRAFT — NOT ISSUED", "draft — not issued"] if draft else ["Issued"]
    return items


@pytest.mark.parametrize("which", ["case", "both"])
def test_draft_certificates_html_and_pdf_carry_every_required_item(which: str, request: pytest.FixtureRequest) -> None:
    result, report = request.getfixturevalue(which)
    orders = pd.read_csv(result / "orders.csv")
    served = orders[orders["reps_t"] > 0]
    certs = pd.read_csv(report / "certificates" / "certificates.csv")
    lines = pd.read_csv(report / "certificates" / "certificate_lines.csv", keep_default_na=False)
    assert sorted(certs["order_id"]) == sorted(served["order_id"])  # one draft per served order
    assert set(certs["status"]) == {"draft"}
    for c in certs.itertuples():
        row = certs.set_index("certificate_id").loc[c.certificate_id].copy()
        row["certificate_id"] = c.certificate_id
        want = _required(row, lines[lines["certificate_id"] == c.certificate_id], draft=True)
        html, _ = html_of(report / "certificates" / f"{c.certificate_id}.html")
        pdf = pdf_text(report / "certificates" / f"{c.certificate_id}.pdf")
        for item in want:
            assert squash(str(item)) in html, f"{c.certificate_id}.html lacks {item!r}"
            assert squash(str(item)) in pdf, f"{c.certificate_id}.pdf lacks {item!r}"
    if which == "both":
        assert set(certs["method"]) == {"mass_balance", "allocation"}
    by_order = orders.set_index("order_id")  # the certificates state the run's numbers, never older ones
    for c in certs.itertuples():
        o = by_order.loc[c.order_id]
        assert (c.basis_cfp, c.rep_term, c.claimed_cfp) == pytest.approx((o.basis_cfp, o.rep_term, o.claimed_cfp))


def test_what_if_drafts_are_never_certifiable(make, spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A draft of a what-if run (allow_unverified: true, or a patched run) is never certifiable, even when every
    line comes from a third-party verified pool, and says why; a plain run's drafts from verified pools are.
    recheck/ agrees (a draft's certifiable flag: verified lines, and not a what-if)."""
    from gxopt.whatif import whatif

    plain = make(spec)
    spec["scenario.yaml"]["allow_unverified"] = True
    gxopt.run(plain, out=tmp_path / "plain")
    gxopt.run(make(spec), out=tmp_path / "unverified")
    whatif(plain, {"orders": {"scale": [{"column": "premium", "factor": 2}]}}, tmp_path / "patched")
    for name, certifiable, why in (("plain", True, ""), ("unverified", False, "allow_unverified: true"),
                                   ("patched", False, "its inputs are the base patched by <patch>")):
        orders = pd.read_csv(tmp_path / name / "orders.csv")
        assert orders.loc[orders["reps_t"] > 0, "certifiable"].all(), name  # every line from a verified pool
        report = build_report(tmp_path / name, tmp_path / f"{name}-report")
        certs = json.loads((report / "certificates" / "certificates.json").read_text())["certificates"]
        assert [c["order_id"] for c in certs] == ["O1"]
        assert certs[0]["certifiable"] is certifiable and certs[0]["verified"] is True, name
        html, _ = html_of(report / "certificates" / "DRAFT-O1.html")
        assert "The REPs on this certificate were verified by a third party" in html
        notes = json.loads((report / "report.json").read_text())["notes"]
        if certifiable:
            assert "can never be issued" not in html and not any("what-if" in n for n in notes)
        else:
            assert "This draft can never be issued: what-if run: " in html and why in html, name
            assert any(n.startswith("what-if run: ") and why in n and "none of these drafts can ever be issued" in n
                       for n in notes), notes
        out = _run_recheck(report / "verifier-pack")
        assert out.returncode == 0, out.stdout + out.stderr


def test_case_study_certificate_numbers_and_figure3(case: tuple[Path, Path]) -> None:
    certs = pd.read_csv(case[1] / "certificates" / "certificates.csv").set_index("order_id")
    a = certs.loc["A-001"]  # 8.1.1: Residual 3.0, Allocated 0.7, 230,000 t-CO2e on 100,000 t
    assert (a["general_cfp"], a["residual_cfp"], a["allocated_cfp"]) == pytest.approx((2.5, 3.0, 0.7))
    assert a["reduction_achieved_t"] == pytest.approx(230_000)
    assert a["type"] == "CFP certificate"
    # Figure 3: 2.5 Mt of General CFP x production, 3.0 Mt on the basis, buyers claim 2.5 Mt = actual
    fig = pd.read_csv(case[1] / "plots" / "emissions-figure3.csv").iloc[0]
    assert fig["general_t"] == pytest.approx(2_500_000) and fig["basis_t"] == pytest.approx(3_000_000)
    assert fig["claims_t"] == pytest.approx(2_500_000) and fig["actual_t"] == pytest.approx(2_500_000)
    assert fig["gx_steel_t"] + fig["non_gx_steel_t"] == pytest.approx(fig["claims_t"])
    assert "after_allocation_t" not in fig.index
    cfps = pd.read_csv(case[1] / "disclosures" / "three-cfps.csv").iloc[0]
    assert (cfps["general_cfp"], cfps["correction_7_3_3"], cfps["residual_cfp"], cfps["non_gx_cfp"],
            cfps["allocated_cfp_lowest_possible"]) == pytest.approx((2.5, 0.5, 3.0, 3.0, 0.7))
    assert "cfp_basis" not in cfps.index


def test_ledger_certificates_are_the_ledgers_own(ledger) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from gxopt.ledger.db import connect
    from gxopt.ledger.tables import certificate_lines, certificates, pools

    result, report, url, ids, mb_first = ledger
    with connect(url).connect() as conn:
        db = {r.certificate_id: r for r in conn.execute(sa.select(certificates))}
        dbl = pd.DataFrame([dict(r) for r in conn.execute(sa.select(certificate_lines)).mappings()])
        dbp = {r.pool_id: r for r in conn.execute(sa.select(pools))}
    certs = pd.read_csv(report / "certificates" / "certificates.csv")
    lines = pd.read_csv(report / "certificates" / "certificate_lines.csv", keep_default_na=False)
    assert sorted(certs["certificate_id"]) == sorted(db)  # one document per certificate in the ledger
    for cid, r in db.items():
        assert (report / "certificates" / f"{cid}.html").is_file() and (report / "certificates" / f"{cid}.pdf").is_file()
        mine = certs.set_index("certificate_id").loc[cid]
        assert mine["reps_t"] == pytest.approx(r.reps_g / 1e6, abs=1e-9)
        assert mine["status"] == r.status
        assert r.basis_cfp is not None and r.claimed_cfp is not None  # stated since ledger revision 0003
        assert (mine["basis_cfp"], mine["claimed_cfp"]) == pytest.approx((r.basis_cfp, r.claimed_cfp), abs=1e-6)
        pdf = pdf_text(report / "certificates" / f"{cid}.pdf")
        html, _ = html_of(report / "certificates" / f"{cid}.html")
        for ln in dbl[dbl["certificate_id"] == cid].itertuples():
            pool = dbp[ln.pool_id]  # verifier and statement come from the ledger's pools table
            for item in (pool.verifier, pool.statement_id, ln.evidence, str(ln.period_end), f"{ln.reps_g / 1e6:,.3f}"):
                assert squash(item) in pdf and squash(item) in html, f"{cid} lacks {item!r}"
        assert "DRAFT" not in pdf
        if r.status == "issued":
            row = mine.copy()
            row["certificate_id"] = cid
            for item in _required(row, lines[lines["certificate_id"] == cid], draft=False):
                assert squash(str(item)) in pdf, f"{cid}.pdf lacks {item!r}"
            assert (report / "pact" / "v3.0" / f"{cid}.json").is_file()
            assert r.batch_id in html
        else:
            assert "VOID" in pdf and "order cancelled" in pdf
            assert not (report / "pact" / "v3.0" / f"{cid}.json").exists()  # no footprint for a void certificate
    first = pdf_text(report / "certificates" / f"{mb_first}.pdf")
    assert "Second Tier Co" in first and "Attribute certificates passed downstream" in first


# ------------------------------------------------------------------------------------------------- PACT


def _is_dec(v: object) -> bool:
    return isinstance(v, str) and bool(DECIMAL.match(v))


@pytest.mark.parametrize("which", ["both", "ledger"])
def test_pact_footprints_have_every_required_field_with_units(which: str, request: pytest.FixtureRequest) -> None:
    report = request.getfixturevalue(which)[1]
    certs = pd.read_csv(report / "certificates" / "certificates.csv").set_index("certificate_id")
    active = certs[certs["status"] != "void"]
    assert len(active) and all((report / "pact" / v / f"{cid}.json").is_file()
                               for cid in active.index for v in ("v2.3", "v3.0"))
    for cid, c in active.iterrows():
        # the CFP on the footprint: Allocated CFP under GX Allocation; under GX Mass Balance the basis CFP
        # (General + 7.3.3 correction: no certificate lowers a PCF), in kg CO2e per kg = numerically t-CO2e per t
        want = c["allocated_cfp"] if c["method"] == "allocation" else c["basis_cfp"]
        v2 = json.loads((report / "pact" / "v2.3" / f"{cid}.json").read_text())
        v3 = json.loads((report / "pact" / "v3.0" / f"{cid}.json").read_text())
        for doc, fp, pcf_keys in ((v2, PACT_V2_FOOTPRINT, PACT_V2_PCF), (v3, PACT_V3_FOOTPRINT, PACT_V3_PCF)):
            for k in fp:
                assert k in doc, f"{cid} {doc['specVersion']}: missing {k}"
            for k in pcf_keys:
                assert k in doc["pcf"], f"{cid} {doc['specVersion']}: missing pcf.{k}"
            assert any(g in doc["pcf"] for g in GEOGRAPHY)
            assert uuid.UUID(doc["id"]).version == 4
            assert UTC.match(doc["created"]) and doc["status"] == "Active"
            assert doc["companyIds"] and all(x.startswith("urn:") for x in doc["companyIds"])
            assert doc["productIds"] and all(x.startswith("urn:") for x in doc["productIds"])
            assert isinstance(doc["productNameCompany"], str) and doc["productNameCompany"]
            assert UTC.match(doc["pcf"]["referencePeriodStart"]) and UTC.match(doc["pcf"]["referencePeriodEnd"])
            assert doc["pcf"]["referencePeriodStart"] < doc["pcf"]["referencePeriodEnd"]
            assert "kg CO2e per kg" in doc["comment"]
            ext = doc["extensions"][0]
            assert {"specVersion", "dataSchema", "data"} <= set(ext)
            d = ext["data"]
            assert d["certificateId"] == cid
            assert d["method"] == ("GX Allocation" if c["method"] == "allocation" else "GX Mass Balance")
            assert d["generalCfp"] == pytest.approx(c["general_cfp"], abs=1e-6)
            assert d["repsT"] == pytest.approx(c["reps_t"], abs=1e-6)
            assert sum(x["repsT"] for x in d["repLines"]) == pytest.approx(c["reps_t"], abs=1e-3)
            assert d["basisCfp"] == pytest.approx(c["basis_cfp"], abs=1e-6)
            assert d["repTerm"] == pytest.approx(c["rep_term"], abs=1e-6)
            assert d["claimedCfp"] == pytest.approx(c["claimed_cfp"], abs=1e-6)
            if c["method"] == "allocation":
                assert d["pcfValueIs"] == "allocatedCfp"
                assert d["residualCfp"] == pytest.approx(c["residual_cfp"], abs=1e-6)
                assert d["allocatedCfp"] == pytest.approx(c["allocated_cfp"], abs=1e-6)
                assert d["claimedCfp"] == pytest.approx(c["allocated_cfp"], abs=1e-6)
            else:
                assert d["pcfValueIs"] == "basisCfp"
                assert d["repsPerTonne"] == pytest.approx(c["reps_per_t"], abs=1e-6)
                assert d["claimedCfp"] == pytest.approx(c["basis_cfp"] - c["reps_per_t"], abs=1e-6)
                assert float(Decimal(doc["pcf"]["fossilGhgEmissions"])) >= c["general_cfp"] - 1e-9
        p2, p3 = v2["pcf"], v3["pcf"]
        assert v2["specVersion"] == "2.3.0" and v3["specVersion"] == "3.0.0"
        assert isinstance(v2["version"], int) and isinstance(v2["productCategoryCpc"], str)
        assert p2["declaredUnit"] == "kilogram" and p2["unitaryProductAmount"] == "1"
        assert p3["declaredUnitOfMeasurement"] == "kilogram" and p3["declaredUnitAmount"] == "1"
        assert p3["productMassPerDeclaredUnit"] == "1"
        for k in ("pCfExcludingBiogenic", "fossilGhgEmissions", "fossilCarbonContent", "biogenicCarbonContent"):
            assert _is_dec(p2[k]), k
        for k in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions",
                  "fossilCarbonContent", "exemptedEmissionsPercent"):
            assert _is_dec(p3[k]), k
        assert float(Decimal(p2["pCfExcludingBiogenic"])) == pytest.approx(want, abs=1e-6)
        assert float(Decimal(p3["pcfExcludingBiogenicUptake"])) == pytest.approx(want, abs=1e-6)
        assert isinstance(p2["exemptedEmissionsPercent"], (int, float)) and 0 <= p2["exemptedEmissionsPercent"] <= 5
        assert p2["characterizationFactors"] in ("AR5", "AR6") and p2["ipccCharacterizationFactorsSources"] == ["AR6"]
        assert p3["ipccCharacterizationFactors"] == ["AR6"]
        assert p2["crossSectoralStandardsUsed"] and set(p2["crossSectoralStandardsUsed"]) <= {
            "GHG Protocol Product standard", "ISO Standard 14067", "ISO Standard 14044"}
        assert p3["crossSectoralStandards"] and p2["packagingEmissionsIncluded"] is False
        assert isinstance(p2["primaryDataShare"], (int, float)) and _is_dec(p3["primaryDataShare"])
    listing = json.loads((report / "pact" / "footprints-v3.0.json").read_text())
    assert len(listing["data"]) == len(active)


# ------------------------------------------------------------------------------------------ SteelZero lens


def test_lens_thresholds_numerically() -> None:
    t = thresholds(0.2)
    assert t["rs_level_1"] == pytest.approx(2.34)  # 2.80 - 2.30 x 0.2
    assert t["rs_level_2"] == pytest.approx(1.67)
    assert t["steelzero_lower_emission"] == pytest.approx(1.67)  # = ResponsibleSteel level 2
    assert t["rs_level_3"] == pytest.approx(1.00)
    assert t["rs_level_4"] == pytest.approx(0.33)
    assert t["iea_near_zero"] == pytest.approx(0.33)
    assert thresholds(1.0)["steelzero_lower_emission"] == pytest.approx(0.35)
    assert thresholds(1.0)["iea_near_zero"] == pytest.approx(0.05)
    a = assess(1.60, 0.2)
    assert a["rs_level"] == 2 and a["steelzero_lower_emission_met"] and not a["iea_near_zero_met"]
    assert assess(2.5, 0.1)["rs_level"] == 1 and assess(3.0, 0.0)["rs_level"] == 0
    assert assess(0.3, 0.2)["iea_near_zero_met"] and assess(0.3, 0.2)["rs_level"] == 4
    assert assess(1.0, None)["rs_level"] is None  # no scrap share: not assessable, never guessed


def test_lens_tables_follow_the_scales(both: tuple[Path, Path]) -> None:
    result, report = both
    products = pd.read_csv(result / "products.csv").set_index("product_id")
    lp = pd.read_csv(report / "lens" / "products.csv").set_index("product_id")
    for pid, p in lp.iterrows():
        s = products.at[pid, "scrap_share"]
        assert p["steelzero_lower_emission_threshold"] == pytest.approx(2.00 - 1.65 * s, abs=1e-6)
        assert p["iea_near_zero_threshold"] == pytest.approx(0.40 - 0.35 * s, abs=1e-6)
        assert p["rs_level_1_threshold"] == pytest.approx(2.80 - 2.30 * s, abs=1e-6)
        assert str(p["steelzero_lower_emission_met"]).lower() == str(p["general_cfp"] <= 2.00 - 1.65 * s).lower()
    assert lp["non_gx_cfp"].to_dict() == pytest.approx(products["non_gx_cfp"].to_dict())
    lc = pd.read_csv(report / "lens" / "certificates.csv")
    orders = pd.read_csv(result / "orders.csv").set_index("order_id")  # the claimed intensity is the buyer's
    claimed = lc["certificate_id"].str.removeprefix("DRAFT-").map(orders["claimed_cfp"])
    assert lc["claimed_cfp"].tolist() == pytest.approx(claimed.tolist())
    assert {"item_cfp_per_tonne", "item_scrap_share", "item_calculation_standard", "item_technology",
            "item_attribution", "item_same_site"} <= set(lc.columns)
    lines = pd.read_csv(report / "lens" / "lines.csv")
    assert set(lines["link"]) <= {"same site", "pooled across sites"}
    assert set(lines["connection"]) <= {"material route", "input supply", "utility supply", "input and utility supply"}
    assert (lines.loc[lines["evidence"].str.contains("-utility->"), "connection"] != "material route").all()
    al = pd.read_csv(result / "allocations.csv")  # the site link per line is the result's same_site
    draft = lines.assign(order_id=lines["certificate_id"].str.removeprefix("DRAFT-"))
    merged = draft.merge(al, on=["order_id", "pool_id"])
    assert len(merged) == len(al)
    assert ((merged["link"] == "same site") == merged["same_site"]).all()
    html, _ = html_of(report / "lens" / "steelzero-lens.html")
    assert "crude steel at site level" in html and "only a proxy" in html and "never changes an allocation" in html


# --------------------------------------------------------------------------------------- disclosures


def test_disclosures_6_2_3_8_3_3_and_9(both: tuple[Path, Path]) -> None:
    result, report = both
    pools = pd.read_csv(result / "pools.csv")
    proj = pd.read_csv(report / "disclosures" / "projects.csv", keep_default_na=False)
    eligible = pools[pools["eligible"] & pools["ended"]]  # 6.2.3: periods ended by as_of
    assert sorted(proj["pool_id"]) == sorted(eligible["pool_id"])
    for col in ("name", "location_site", "location_node", "technology", "additionality_test", "additionality_passed",
                "period_start", "period_end", "reps_t"):
        assert col in proj.columns
    got = proj.set_index("pool_id")
    e = eligible.set_index("pool_id")
    assert got["reps_t"].to_dict() == pytest.approx(e["reps_t"].to_dict(), abs=1e-6)
    assert got["period_reps_t"].to_dict() == pytest.approx(e["period_reps_t"].to_dict(), abs=1e-6)
    assert got["netted_t"].to_dict() == pytest.approx(e["netted_t"].to_dict(), abs=1e-6)
    cfps = pd.read_csv(report / "disclosures" / "three-cfps.csv")
    assert "cfp_basis" not in cfps.columns
    products = pd.read_csv(result / "products.csv").set_index("product_id")
    for r in cfps.itertuples():
        assert r.general_cfp == pytest.approx(products.at[r.product_id, "general_cfp"])
        assert r.residual_cfp == pytest.approx(products.at[r.product_id, "residual_cfp"])
        assert r.correction_7_3_3 == pytest.approx(products.at[r.product_id, "rep_term"])
        assert r.non_gx_cfp == pytest.approx(products.at[r.product_id, "non_gx_cfp"])
    notice = json.loads((report / "disclosures" / "three-cfps.json").read_text())["notice_7_3_3"]
    reflected = products[products["rep_term"] > 0]
    assert len(reflected) and sorted(n["product_id"] for n in notice) == sorted(reflected.index)
    for n in notice:  # every product whose CFP reflects REPs: its correction and its non-GX CFP
        assert (n["correction"], n["non_gx_cfp"]) == pytest.approx(
            (reflected.at[n["product_id"], "rep_term"], reflected.at[n["product_id"], "non_gx_cfp"]))
    served = cfps[cfps["allocation_certificates"] > 0]
    assert len(served) and served["allocated_cfp_min"].notna().all()
    assert (served["allocated_cfp_min"] <= served["residual_cfp"] + 1e-9).all()
    html, _ = html_of(report / "disclosures" / "three-cfps.html")
    assert "General CFP" in html and "Residual CFP" in html and "Allocated CFP" in html and "7.3.3" in html
    first = notice[0]
    assert f"{first['product_id']} {first['general_cfp']:.4f} + {first['correction']:.4f} = {first['non_gx_cfp']:.4f}" in html
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    assert scheme["scheme_owner"] == "Kaigan Steel Corporation"
    for key in ("usage_methods", "international_standards", "data_quality", "organizational_scope",
                "verification", "reduction_periods", "projects"):
        assert scheme[key], key
    assert any("ISO 14064-3" in s for r in scheme["international_standards"] for s in r["standards"])
    assert scheme["verification"]["verifiers"][0]["statement_ids"]


# ----------------------------------------------------------------------------------------- verifier pack


def _run_recheck(pack: Path) -> subprocess.CompletedProcess[str]:
    """The pack's recheck/ as a verifier runs it: ``python3 recheck`` in the pack (no gxopt, no site-packages)."""
    return subprocess.run([sys.executable, "-I", "-S", "recheck"], capture_output=True, text=True,
                          cwd=pack, timeout=60, check=False)


@pytest.mark.parametrize("which", ["both", "ledger"])
def test_verifier_pack_recomputes_every_pool_without_gxopt(which: str, request: pytest.FixtureRequest,
                                                           tmp_path: Path) -> None:
    result, report = request.getfixturevalue(which)[:2]
    pack = report / "verifier-pack"
    pools = pd.read_csv(result / "pools.csv").set_index("pool_id")
    products = pd.read_csv(result / "products.csv").set_index("product_id")
    pc = pd.read_csv(pack / "calculations" / "product_checks.csv").set_index("product_id")
    assert pc["ok"].all() and pc["rep_term_recomputed"].to_dict() == pytest.approx(products["rep_term"].to_dict(),
                                                                                   abs=1e-6)
    claims = pd.read_csv(pack / "calculations" / "claims.csv").set_index("item")
    assert claims.at["TOTAL", "claims_t"] == pytest.approx(
        json.loads((result / "summary.json").read_text())["claims"]["claims_t"], abs=1e-3)
    calc = pd.read_csv(pack / "calculations" / "rep_calculation.csv").set_index("pool_id")
    assert sorted(calc.index) == sorted(pools.index)
    for pid, r in calc.iterrows():  # each step, then the REPs equal pools.csv
        assert r["baseline_emissions_t"] == pytest.approx(r["baseline_intensity"] * r["output_t"])
        assert r["gross_reduction_t"] == pytest.approx(r["baseline_emissions_t"] - r["project_emissions_t"])
        u = r["uncertainty_applied"] if r["gross_reduction_t"] >= 0 else -r["uncertainty_applied"]
        assert r["period_reps_t"] == pytest.approx(r["gross_reduction_t"] * (1 - u) * r["share"], abs=1e-5)
        assert r["reps_t"] == pytest.approx(r["period_reps_t"] + r["netted_t"], abs=1e-5)
        assert r["reps_t"] == pytest.approx(pools.at[pid, "reps_t"], abs=1e-5), pid
    use = pd.read_csv(pack / "calculations" / "pool_use.csv").set_index("pool_id")
    assert use["remaining_t"].to_dict() == pytest.approx(pools["remaining_t"].to_dict(), abs=1e-5)
    assert use["reconciles"].all() and not use["overdrawn"].any()
    assert pd.read_csv(pack / "calculations" / "connection_checks.csv")["valid"].all()
    assert json.loads((pack / "calculations" / "verify.json").read_text())["ok"]
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    ok = _run_recheck(copy)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all checks passed" in ok.stdout
    # tampering with an input is caught
    periods = copy / "inputs" / "scenario" / "project_periods.csv"
    rows = periods.read_text().splitlines()
    head = rows[0].split(",")
    first = rows[1].split(",")
    first[head.index("project_emissions_t")] = str(float(first[head.index("project_emissions_t")]) - 1000)
    periods.write_text("\n".join([rows[0], ",".join(first), *rows[2:]]) + "\n")
    bad = _run_recheck(copy)
    assert bad.returncode == 1 and "FAIL reps" in bad.stdout
    with zipfile.ZipFile(report / "verifier-pack.zip") as z:
        names = {n.split("/", 1)[1] for n in z.namelist()}
    assert names == {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()}


def test_ledger_pack_has_the_hash_chained_journal(ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from gxopt.ledger.db import connect
    from gxopt.ledger.tables import journal

    report = ledger[1]
    pack = report / "verifier-pack"
    certs = [json.loads(x) for x in (pack / "ledger" / "certificates.jsonl").read_text().splitlines()]
    assert all(c["basis_cfp"] is not None for c in certs)  # digests with the basis and claimed CFP re-checked
    with connect(ledger[2]).connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(journal)).scalar_one()
        head = conn.execute(sa.select(journal.c.hash).order_by(journal.c.seq.desc()).limit(1)).scalar_one()
    rows = [json.loads(x) for x in (pack / "ledger" / "journal.jsonl").read_text().splitlines()]
    assert len(rows) == n and rows[-1]["hash"] == head
    assert json.loads((pack / "ledger" / "head.json").read_text())["hash"] == head
    assert {"credit", "issue", "reverse", "attribute"} <= {r["kind"] for r in rows}
    bal = pd.read_csv(pack / "ledger" / "balances.csv")
    assert bal["reconciles"].all()
    results = json.loads((pack / "recheck_results.json").read_text())
    assert results["checks"]["ledger"]["ok"] and results["ok"]
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    j = copy / "ledger" / "journal.jsonl"
    lines = j.read_text().splitlines()
    e = json.loads(lines[3])
    e["amount_g"] += 1  # an edited journal row breaks the chain
    lines[3] = json.dumps(e, sort_keys=True)
    j.write_text("\n".join(lines) + "\n")
    out = _run_recheck(copy)
    assert out.returncode == 1 and "content does not match its hash" in out.stdout
    assert (report / "plots" / "pool-timeline.png").is_file()


# ------------------------------------------------------------- the basis, the correction and the claims


def test_mass_balance_certificate_states_basis_correction_and_claim(case_mb: tuple[Path, Path]) -> None:
    """The case study under GX Mass Balance (Figure 1 on a post-project CFP): General CFP 2.5, the 7.3.3
    correction 0.5 (the 0.5 Mt already in the CFP / 1 Mt), basis 3.0, REPs 2.3 per tonne, claimable 0.7."""
    result, report = case_mb
    certs = pd.read_csv(report / "certificates" / "certificates.csv").set_index("order_id")
    a = certs.loc["A-001"]
    assert a["type"] == "reduction certificate"
    assert (a["general_cfp"], a["rep_term"], a["basis_cfp"], a["reps_per_t"], a["claimed_cfp"]) == \
        pytest.approx((2.5, 0.5, 3.0, 2.3, 0.7))
    html, _ = html_of(report / "certificates" / "DRAFT-A-001.html")
    pdf = pdf_text(report / "certificates" / "DRAFT-A-001.pdf")
    for text in (html, pdf):
        assert "General CFP (ch. 5) 2.5000 t-CO2e/t" in text
        assert "7.3.3 correction, per t) +0.5000 t-CO2e/t" in text
        assert "3.0000 t-CO2e/t = 2.5000 + 0.5000" in text
        assert "REPs per tonne 2.3000 t-CO2e/t" in text
        assert "0.7000 t-CO2e/t = 3.0000 - 2.3000" in text
        assert ("General CFP 2.5000 + correction 0.5000 = basis 3.0000 t-CO2e/t; basis 3.0000 - REPs 2.3000 "
                "t-CO2e/t = 0.7000 t-CO2e/t, the CFP the buyer may claim") in text
        assert "reflected in that emission intensity" in text  # 7.3.3 in the guideline's words
        assert "double counting between this steel product and steel products to which no REPs are assigned" in text
        assert "General CFP less REPs" not in text  # the old claim (2.5 - 2.3 = 0.2) is gone
        assert "0.2000 t-CO2e/t" not in text
    v3 = json.loads((report / "pact" / "v3.0" / "DRAFT-A-001.json").read_text())
    assert v3["pcf"]["pcfExcludingBiogenicUptake"] == "3"  # the basis: no certificate lowers a PCF
    d = v3["extensions"][0]["data"]
    assert (d["basisCfp"], d["repTerm"], d["repsPerTonne"], d["claimedCfp"]) == pytest.approx((3.0, 0.5, 2.3, 0.7))
    lens = pd.read_csv(report / "lens" / "certificates.csv").set_index("certificate_id")
    assert lens.at["DRAFT-A-001", "claimed_cfp"] == pytest.approx(0.7)


def test_claims_against_actual_emissions_replace_after_allocation(fy26: tuple[Path, Path]) -> None:
    result, report = fy26
    c = json.loads((result / "summary.json").read_text())["claims"]
    index, _ = html_of(report / "index.html")
    assert f"Buyers may claim {c['claims_t']:,.0f} t-CO2e in total" in index
    assert f"actual emissions are {c['actual_emissions_t']:,.0f} t-CO2e" in index
    assert "no emission is counted twice" in index and f"{c['claims_margin_t']:,.0f}" in index
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    assert scheme["claims"]["claims_t"] == pytest.approx(c["claims_t"]) and scheme["claims"]["no_double_counting"]
    info = json.loads((report / "report.json").read_text())
    assert info["claims"]["claims_margin_t"] == pytest.approx(c["claims_margin_t"])
    for page in report.rglob("*.html"):  # the old organization total is gone everywhere
        text = page.read_text(encoding="utf-8")
        assert "after allocation" not in text and "unchanged by the allocation" not in text, page
        assert " ~> " not in text and "post-project CFP" not in text and "pre-project CFP" not in text, page
    fig = pd.read_csv(report / "plots" / "emissions-figure3.csv").set_index("group")
    assert fig.at["organization total", "claims_t"] == pytest.approx(c["claims_t"], abs=1.0)  # 6-decimal CFPs
    assert fig.at["organization total", "actual_t"] == pytest.approx(c["actual_emissions_t"])
    # 6.2.3: the REPs achieved in each period are signed; the increase is shown as an increase, and netted
    proj = pd.read_csv(report / "disclosures" / "projects.csv", keep_default_na=False).set_index("pool_id")
    inc = proj.loc["HG-SP-BIOCHAR@2025-12-31"]
    assert inc["period_result"] == "increase" and inc["period_reps_t"] == pytest.approx(-8316)
    assert inc["period_amount_t"] == pytest.approx(8316) and inc["reps_t"] == 0
    after = proj.loc["HG-SP-BIOCHAR@2026-03-31"]
    assert after["netted_t"] == pytest.approx(-8316) and after["reps_t"] == pytest.approx(34713 - 8316)
    assert "increase ending 2025-12-31" in after["netting"]
    html, _ = html_of(report / "disclosures" / "projects.html")
    assert "increase" in html and "8,316.000" in html and "Netted" in html


def test_ledger_without_stated_basis_falls_back_to_the_run(ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Certificates issued before ledger revision 0003 have no basis_cfp / claimed_cfp: the report takes the basis
    from the run's orders table and the claim from it and the certificate's own REPs."""
    import sqlite3

    result, _report, url, _ids, _mb = ledger
    db = tmp_path / "old.db"
    src, con = sqlite3.connect(url.removeprefix("sqlite:///")), sqlite3.connect(db)
    src.backup(con)  # the whole database, write-ahead log included
    src.close()
    con.execute("update certificates set basis_cfp = null, claimed_cfp = null")
    con.commit()
    con.close()
    report = build_report(result, tmp_path / "report", db_url=f"sqlite:///{db}")
    certs = pd.read_csv(report / "certificates" / "certificates.csv")
    orders = pd.read_csv(result / "orders.csv").set_index("order_id")
    assert certs["basis_cfp"].tolist() == pytest.approx(certs["order_id"].map(orders["basis_cfp"]).tolist())
    mb = certs[certs["method"] == "mass_balance"]
    assert len(mb) and mb["claimed_cfp"].tolist() == pytest.approx(
        (mb["basis_cfp"] - mb["reps_t"] / mb["tonnage_t"]).tolist())
    al = certs[certs["method"] == "allocation"]
    assert al["claimed_cfp"].tolist() == pytest.approx(al["allocated_cfp"].tolist())


# ------------------------------------------- issue 14: documents a verifier and a SteelZero-minded buyer can trust

NOT_RECOGNISED = "not recognised by SteelZero (mass-balance credit)"


@pytest.fixture(scope="module")
def fy26_ledger(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """jp-steel-fy2026 batched into a ledger, and the report of its result folder from that ledger."""
    from gxopt.ledger.db import dispose_all
    from tests.ledger_support import batched

    root = tmp_path_factory.mktemp("fy26-ledger")
    scen = REPO / "scenarios" / "jp-steel-fy2026"
    url = batched(root, scen)
    gxopt.run(scen, out=root / "result")
    yield root / "result", build_report(root / "result", root / "report", db_url=url)
    dispose_all()


def _cert_of(report: Path, order_id: str) -> str:
    certs = pd.read_csv(report / "certificates" / "certificates.csv")
    return str(certs.loc[certs["order_id"] == order_id, "certificate_id"].iloc[0])


def _usable_remaining(result: Path) -> float:
    pools = pd.read_csv(result / "pools.csv")
    return float(pools.loc[pools["eligible"] & pools["ended"], "remaining_t"].sum())


def test_lens_judges_embodied_numbers_only(fy26: tuple[Path, Path]) -> None:
    """Finding 1: no "meets" on a claimed CFP anywhere; verdicts on the General CFP only."""
    result, report = fy26
    lc = pd.read_csv(report / "lens" / "certificates.csv")
    assert not [c for c in lc.columns if c.startswith("claimed_") and c not in (
        "claimed_cfp", "claimed_basis", "claimed_recognised_by_steelzero", "claimed_note")], lc.columns
    for col in ("claimed_steelzero_lower_emission", "claimed_rs_level", "claimed_iea_near_zero"):
        assert col not in lc.columns
    assert (lc["claimed_recognised_by_steelzero"] == False).all()  # noqa: E712
    assert set(lc["claimed_note"]) == {NOT_RECOGNISED}
    s = lc["scrap_share"]  # the verdict that stays is the embodied one
    assert (lc["physical_steelzero_lower_emission"] == (lc["general_cfp"] <= 2.00 - 1.65 * s + 1e-12)).all()
    assert not lc["physical_steelzero_lower_emission"].any()  # on the embodied General CFP, none qualifies
    cj = json.loads((report / "certificates" / "certificates.json").read_text())["certificates"]
    for c in cj:
        claimed = c["steelzero_lens"]["claimed"]
        assert claimed["recognised_by_steelzero"] is False and not any(k.endswith("_met") for k in claimed)
    lj = json.loads((report / "lens" / "lens.json").read_text())
    assert not any(k.startswith("claimed_") and v is True for r in lj["certificates"] for k, v in r.items())
    cid = _cert_of(report, "KS26-0025")  # blast-furnace plate, General CFP 2.318, claimed 0.562
    html, _ = html_of(report / "certificates" / f"{cid}.html")
    pdf = pdf_text(report / "certificates" / f"{cid}.pdf")
    for text in (html, pdf):
        assert "Claimed CFP meets" not in text and "General CFP (embodied) meets" in text
        assert text.count(NOT_RECOGNISED) >= len(thresholds(0.0)), cid  # beside every scale, never a verdict
        assert "does not accept a mass balance credit approach" in text
    for page in (report / "certificates").glob("*.html"):
        text = html_of(page)[0]
        assert "Claimed CFP meets" not in text and "claimed intensity" not in text.lower(), page
    lens_html, _ = html_of(report / "lens" / "steelzero-lens.html")
    assert NOT_RECOGNISED in lens_html and "RS level (claimed)" not in lens_html


def test_lens_quotes_steelzeros_scrap_condition_where_a_project_raises_scrap(fy26: tuple[Path, Path]) -> None:
    result, report = fy26
    quote = ("an equal or greater sustainable increase in the recovery and/or recycling of scrap material. SteelZero "
             "will then require the proportion of scrap input and steel emissions intensity to meet our lower "
             "emission steel threshold")
    lp = pd.read_csv(report / "lens" / "products.csv", keep_default_na=False).set_index("product_id")
    conn = pd.read_csv(result / "connections.csv")
    eaf = set(conn.loc[conn["project_id"] == "MN-EAF-CONV", "product_id"])
    assert eaf and {p for p, v in lp["scrap_recovery_condition"].items() if str(v).lower() == "true"} == eaf
    assert all(lp.at[p, "scrap_raising_projects"] == "MN-EAF-CONV" for p in eaf)
    assert quote in html_of(report / "lens" / "steelzero-lens.html")[0]
    lines = pd.read_csv(report / "certificates" / "certificate_lines.csv")
    with_eaf = set(lines.loc[lines["project_id"] == "MN-EAF-CONV", "certificate_id"])
    cid = sorted(with_eaf)[0]
    for text in (html_of(report / "certificates" / f"{cid}.html")[0], pdf_text(report / "certificates" / f"{cid}.pdf")):
        assert quote in text and "MN-EAF-CONV" in text
    other = sorted(set(lines["certificate_id"]) - with_eaf)[0]
    assert quote not in html_of(report / "certificates" / f"{other}.html")[0]


def test_site_is_where_the_crude_steel_is_made(fy26: tuple[Path, Path]) -> None:
    """Finding 2: NH-CR-N1 is Nishi steel rolled at Higashi; its HG-PP-BIOMASS line is not from its site."""
    result, report = fy26
    products = pd.read_csv(result / "products.csv").set_index("product_id")
    assert (products.at["NH-CR-N1", "site"], products.at["NH-CR-N1", "crude_steel_site"]) == (
        "Higashi Works", "Nishi Works")
    al = pd.read_csv(result / "allocations.csv")
    hit = al[(al["product_id"] == "NH-CR-N1") & (al["project_id"] == "HG-PP-BIOMASS")]
    assert len(hit) and not hit["same_site"].any()
    cid = _cert_of(report, hit["order_id"].iloc[0])
    html, _ = html_of(report / "certificates" / f"{cid}.html")
    pdf = pdf_text(report / "certificates" / f"{cid}.pdf")
    for text in (html, pdf):
        assert "Crude steel made at (site of the route's BOF/EAF) Nishi Works" in text
        assert "HG-PP-BIOMASS (Higashi Works) is NOT from the product's crude-steel site" in text
        assert "every REP line comes from the product's" not in text
    assert "NOT from the product's crude-steel site (project at Higashi Works; crude steel made at Nishi Works)" in html
    lines = pd.read_csv(report / "lens" / "lines.csv")
    mine = lines[lines["certificate_id"] == cid]
    assert set(mine["link"]) == {"pooled across sites"} and set(mine["product_crude_steel_site"]) == {"Nishi Works"}
    lc = pd.read_csv(report / "lens" / "certificates.csv", keep_default_na=False).set_index("certificate_id")
    assert lc.at[cid, "crude_steel_site"] == "Nishi Works"
    assert "HG-PP-BIOMASS" in lc.at[cid, "not_from_crude_steel_site"]
    sites = pd.read_csv(report / "lens" / "sites.csv").set_index("site")  # per-site views: the crude-steel site
    assert "NH-CR-N1" in sites.at["Nishi Works", "product_ids"].split(";")
    assert sites["production_t"].to_dict() == pytest.approx(
        products.groupby("crude_steel_site")["production_t"].sum().to_dict())
    fig = pd.read_csv(report / "plots" / "emissions-figure3.csv")
    assert set(fig["group"]) - {"organization total"} == set(products["crude_steel_site"])
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    nishi = next(x for x in scheme["organizational_scope"]["sites"] if x["site"] == "Nishi Works")
    assert nishi["crude_steel_production_t"] == pytest.approx(
        products.loc[products["crude_steel_site"] == "Nishi Works", "production_t"].sum())


def test_ledger_and_draft_agree_on_the_site_link_and_gases(fy26: tuple[Path, Path], fy26_ledger) -> None:  # type: ignore[no-untyped-def]
    result, report = fy26_ledger
    lines = pd.read_csv(report / "certificates" / "certificate_lines.csv", keep_default_na=False)
    certs = pd.read_csv(report / "certificates" / "certificates.csv")
    lines = lines.merge(certs[["certificate_id", "order_id", "product_id"]], on="certificate_id")
    al = pd.read_csv(result / "allocations.csv", keep_default_na=False)
    merged = lines.merge(al, on=["order_id", "pool_id"], suffixes=("", "_run"))
    assert len(merged) == len(lines) == len(al)
    assert (merged["same_site"].astype(str).str.lower() == merged["same_site_run"].astype(str).str.lower()).all()
    assert (merged["gases"] == merged["gases_run"]).all()
    draft = pd.read_csv(fy26[1] / "certificates" / "certificate_lines.csv", keep_default_na=False)
    assert sorted(draft["same_site"].astype(str)) == sorted(lines["same_site"].astype(str))
    hit = merged[(merged["product_id"] == "NH-CR-N1") & (merged["project_id"] == "HG-PP-BIOMASS")]
    cid = hit["certificate_id"].iloc[0]
    for text in (html_of(report / "certificates" / f"{cid}.html")[0], pdf_text(report / "certificates" / f"{cid}.pdf")):
        assert "HG-PP-BIOMASS (Higashi Works) is NOT from the product's crude-steel site" in text


def test_no_document_says_more_than_the_run_shows(fy26: tuple[Path, Path]) -> None:
    """Finding 4: no "unchanged by the allocation"; the run's numbers instead; headline figures named."""
    result, report = fy26
    claims = json.loads((result / "summary.json").read_text())["claims"]
    left = _usable_remaining(result)
    assert left == pytest.approx(374_015.32, abs=0.01)
    said = f"{left:,.0f} t-CO2e of REPs are not allocated"
    for page in report.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "unchanged by the allocation" not in text and "total emissions unchanged" not in text, page
        assert "Independently verified" not in text, page
    for f in [*(report / "pact").rglob("*.json"), *(report / "disclosures").glob("*.json"),
              report / "certificates" / "certificates.json"]:
        assert "unchanged" not in f.read_text(encoding="utf-8"), f
    cid = _cert_of(report, "KS26-0144")  # a CFP certificate: the 8.3.3 statement with the run's numbers
    for pdf in sorted((report / "certificates").glob("*.pdf"))[:: 12] + [report / "certificates" / f"{cid}.pdf"]:
        text = pdf_text(pdf)
        assert "unchanged" not in text, pdf
        assert "never below its actual emissions" in text and said in text, pdf
        assert f"{claims['claims_t']:,.0f} t-CO2e of claims against {claims['actual_emissions_t']:,.0f}" in text
    v3 = json.loads((report / "pact" / "v3.0" / f"{cid}.json").read_text())
    assert said in v3["pcf"]["allocationRulesDescription"]
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    assert said.replace("are not allocated", "of usable pools are not allocated") in scheme["claims"]["statement"]
    assert scheme["claims"]["reps_not_allocated_t"] == pytest.approx(left)
    # headline figures named for what they count
    certs = pd.read_csv(report / "certificates" / "certificates.csv")
    index, _ = html_of(report / "index.html")
    assert "steel covered, t" not in index
    assert f"{certs['tonnage_t'].sum():,.0f} certificate tonnage (steel sold with a certificate), t" in index
    assert f"{certs['gx_tonnage_t'].sum():,.0f} GX tonnage" in index
    assert f"{left:,.0f} REPs of usable pools not allocated" in index


def test_scheme_keeps_gxopt_recheck_apart_from_third_party_verification(fy26: tuple[Path, Path]) -> None:
    result, report = fy26
    html, _ = html_of(report / "disclosures" / "scheme.html")
    assert "Independently verified" not in html
    assert "Re-checked by gxopt (not a third-party verification)" in html and "Third-party verification" in html
    third = html[html.index("Third-party verification"):html.index("Re-checked by gxopt (not a")]
    projects = pd.read_csv(result / "projects.csv", keep_default_na=False)
    counted = projects[projects["eligible"].astype(str).str.lower() == "true"]
    for r in counted.itertuples():
        assert r.verifier in third and r.statement_id in third, r.project_id
    recheck = html[html.index("Re-checked by gxopt (not a"):]
    assert not any(r.statement_id in recheck for r in counted.itertuples())
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    assert scheme["gxopt_recheck"]["ok"] is True and "not an independent" in scheme["gxopt_recheck"]["what"]
    assert scheme["third_party_verification"]["verifiers"] == scheme["verification"]["verifiers"]
    assert "NOT a third-party verification" in scheme["run"]["independently_verified_means"]
    index, _ = html_of(report / "index.html")
    assert "gxopt independent verification" not in index and "re-checked by gxopt" in index
    cid = _cert_of(report, "KS26-0025")
    pdf = pdf_text(report / "certificates" / f"{cid}.pdf")
    assert "Third-party verification (6.8, 7.4, 8.4)" in pdf and "Re-checked by gxopt (not a third-party" in pdf


def test_6_2_3_discloses_only_periods_ended_by_as_of(fy26: tuple[Path, Path]) -> None:
    result, report = fy26
    as_of = json.loads((result / "summary.json").read_text())["as_of"]
    assert as_of == "2026-06-30"
    proj = pd.read_csv(report / "disclosures" / "projects.csv", keep_default_na=False)
    assert "HG-PP-BIOMASS@2026-09-30" not in set(proj["pool_id"])  # 2026-04-01..2026-09-30 had not ended
    assert "HG-PP-BIOMASS@2026-03-31" in set(proj["pool_id"])
    assert (proj["period_end"] <= as_of).all()
    pools = pd.read_csv(result / "pools.csv")
    assert sorted(proj["pool_id"]) == sorted(pools.loc[pools["eligible"] & pools["ended"], "pool_id"])
    js = json.loads((report / "disclosures" / "projects.json").read_text())
    assert [r["pool_id"] for r in js["not_ended"]] == ["HG-PP-BIOMASS@2026-09-30"]
    assert "HG-PP-BIOMASS@2026-09-30" not in {r["pool_id"] for r in js["projects"]}
    html, _ = html_of(report / "disclosures" / "projects.html")
    main = html[:html.index("Calculation periods not yet ended")]
    assert "2026-09-30" not in main
    rest = html[html.index("Calculation periods not yet ended"):]
    assert "2026-04-01 2026-09-30 not yet ended at as_of 2026-06-30: not disclosed as achieved" in rest
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    assert scheme["reduction_periods"]["latest_end"] <= as_of


def test_certificates_print_the_gases_included(fy26: tuple[Path, Path]) -> None:
    """Finding 5: 7.3.1 / 6.5 gases, not the class "GHG"; ``gas`` stays the class."""
    result, report = fy26
    lines = pd.read_csv(report / "certificates" / "certificate_lines.csv", keep_default_na=False)
    eaf = lines[lines["project_id"] == "MN-EAF-CONV"]
    assert len(eaf) and set(eaf["gases"]) == {"CO2;CH4;N2O"} and set(eaf["gas"]) == {"GHG"}
    co2 = lines[lines["gas"] == "CO2"]
    assert len(co2) and set(co2["gases"]) == {"CO2"}
    cid = eaf["certificate_id"].iloc[0]
    html, _ = html_of(report / "certificates" / f"{cid}.html")
    pdf = pdf_text(report / "certificates" / f"{cid}.pdf")
    for text in (html, pdf):
        assert "Gases included in the REPs (7.3.1, 6.5) CO2;CH4;N2O" in text
        assert "Gas type of the REPs (7.3.1) GHG" not in text and "t-CO2e (GHG)" not in text
    assert "<td>CO2;CH4;N2O</td>" in (report / "certificates" / f"{cid}.html").read_text(encoding="utf-8")
    pages = "".join(p.read_text(encoding="utf-8") for p in (report / "certificates").glob("*.html"))
    assert "<td>GHG</td>" not in pages
    d = json.loads((report / "pact" / "v3.0" / f"{cid}.json").read_text())["extensions"][0]["data"]
    assert d["gasesIncluded"] == ["CO2", "CH4", "N2O"] and d["gasTypes"] == ["GHG"]
    assert all(x["gases"] == "CO2;CH4;N2O" for x in d["repLines"] if x["projectId"] == "MN-EAF-CONV")
    certs = pd.read_csv(report / "certificates" / "certificates.csv").set_index("certificate_id")
    assert certs.at[cid, "gas"] == "GHG" and certs.at[cid, "gases"] == "CO2;CH4;N2O"


def test_pact_data_schema_is_the_configured_url_and_v2_uses_v2_ids(case: tuple[Path, Path], fy26: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    """Finding 5, PACT: dataSchema = the published schema's URL; v2.3 ids in v2's URN forms."""
    default = "https://example.invalid/gxopt/jisf-gx-extension.schema.json"
    report = fy26[1]
    for f in (report / "pact" / "v3.0").glob("*.json"):
        assert json.loads(f.read_text())["extensions"][0]["dataSchema"] == default
    assert json.loads((report / "pact" / "jisf-gx-extension.schema.json").read_text())["$id"] == default
    assert json.loads((report / "report.json").read_text())["pact_extension_schema_url"] == default
    assert "PLACEHOLDER" in html_of(report / "index.html")[0]
    url = "https://steel.example.com/gx/pact"  # no trailing slash: one is added
    out = build_report(case[0], tmp_path / "rep", pact_base_url=url)
    want = url + "/jisf-gx-extension.schema.json"
    docs = [json.loads(f.read_text()) for v in ("v2.3", "v3.0") for f in (out / "pact" / v).glob("*.json")]
    assert docs and all(d["extensions"][0]["dataSchema"] == want for d in docs)
    assert json.loads((out / "pact" / "jisf-gx-extension.schema.json").read_text())["$id"] == want
    assert want in html_of(out / "index.html")[0] and "PLACEHOLDER" not in html_of(out / "index.html")[0]
    for bad in ("urn:gxopt:x", "ftp://host/x/", "/relative/path", "https://host/x?y=1"):
        with pytest.raises(InputError, match="pact-base-url"):
            build_report(case[0], tmp_path / "bad", pact_base_url=bad)
    for f in (report / "pact" / "v2.3").glob("*.json"):
        d = json.loads(f.read_text())
        assert d["specVersion"] == "2.3.0"
        assert d["companyIds"] == ["urn:pathfinder:company:customcode:vendor-assigned:KSC"], f
        assert len(d["productIds"]) == 1
        assert d["productIds"][0].startswith("urn:pathfinder:product:customcode:vendor-assigned:"), f
        assert re.fullmatch(r"urn:pathfinder:product:customcode:vendor-assigned:[A-Za-z0-9-]+", d["productIds"][0])
    for f in (report / "pact" / "v3.0").glob("*.json"):
        d = json.loads(f.read_text())
        assert all(x.startswith("urn:pact:company:") for x in d["companyIds"])
        assert all(x.startswith("urn:pact:product:") for x in d["productIds"])


@pytest.mark.parametrize("which", ["both", "fy26", "ledger"])
def test_pact_documents_validate_against_the_official_schemas(which: str, request: pytest.FixtureRequest) -> None:
    """Every footprint against the published OpenAPI schema of its version (shared/pact), and its extension data
    against the written extension schema."""
    import jsonschema  # a test dependency: never skipped
    import yaml
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schemas = REPO.parent / "shared" / "pact" / "conformance-service" / "src" / "schemas"
    if not schemas.is_dir():
        pytest.skip(f"no PACT schemas at {schemas}")
    report = request.getfixturevalue(which)[1]
    ext = jsonschema.Draft202012Validator(json.loads((report / "pact" / "jisf-gx-extension.schema.json").read_text()))
    for version, name in (("v2.3", "openapi_v2_3.yaml"), ("v3.0", "openapi_v3_0.yaml")):
        uri = f"urn:test:pact:{version}"
        reg = Registry().with_resource(uri, Resource.from_contents(yaml.safe_load((schemas / name).read_text()),
                                                                  default_specification=DRAFT202012))
        v = jsonschema.Draft202012Validator({"$ref": uri + "#/components/schemas/ProductFootprint"}, registry=reg,
                                            format_checker=jsonschema.FormatChecker())
        files = sorted((report / "pact" / version).glob("*.json"))
        assert files
        for f in files:
            doc = json.loads(f.read_text())
            errors = [e.message for e in v.iter_errors(doc)]
            assert not errors, f"{f.name} ({version}): {errors[:3]}"
            assert not [e.message for e in ext.iter_errors(doc["extensions"][0]["data"])], f.name


def test_buyer_warning_when_allocated_cfp_is_above_general(fy26: tuple[Path, Path]) -> None:
    """Finding 6: MN-SB's CFP certificate (KS26-0144: Allocated 1.087 > General 0.642) carries a warning."""
    result, report = fy26
    orders = pd.read_csv(result / "orders.csv").set_index("order_id")
    o = orders.loc["KS26-0144"]
    assert o["product_id"] == "MN-SB" and bool(o["allocated_above_general"])
    assert (o["allocated_cfp"], o["general_cfp"]) == pytest.approx((1.087062, 0.642), abs=1e-6)
    cid = _cert_of(report, "KS26-0144")
    warning = "WARNING: the Allocated CFP 1.0871 t-CO2e/t on this certificate is ABOVE the product's General CFP 0.6420"
    html, _ = html_of(report / "certificates" / f"{cid}.html")
    pdf = pdf_text(report / "certificates" / f"{cid}.pdf")
    assert warning in html and warning in pdf
    assert pdf.index(warning) < pdf.index("Certificate and parties")  # before anything else
    assert 'class="banner warning"' in (report / "certificates" / f"{cid}.html").read_text(encoding="utf-8")
    certs = pd.read_csv(report / "certificates" / "certificates.csv").set_index("order_id")
    flagged = sorted(orders.index[orders["allocated_above_general"]])
    assert sorted(certs.index[certs["allocated_above_general"]]) == flagged
    other = certs.index[(certs["type"] == "CFP certificate") & ~certs["allocated_above_general"]][0]
    assert "WARNING" not in html_of(report / "certificates" / f"{certs.at[other, 'certificate_id']}.html")[0]
    lc = pd.read_csv(report / "lens" / "certificates.csv").set_index("certificate_id")
    assert sorted(lc.index[lc["allocated_above_general"]]) == sorted(certs.loc[flagged, "certificate_id"])
    index, _ = html_of(report / "index.html")
    assert "Buyer warning" in index and f"{cid} (Sakuragi Motor Corporation, MN-SB): Allocated CFP 1.0871 > General " \
        "CFP 0.6420" in index
    assert cid in html_of(report / "lens" / "steelzero-lens.html")[0]
    info = json.loads((report / "report.json").read_text())
    assert info["allocated_above_general"] == sorted(certs.loc[flagged, "certificate_id"])
    d = json.loads((report / "pact" / "v3.0" / f"{cid}.json").read_text())["extensions"][0]["data"]
    assert d["allocatedAboveGeneral"] is True and d["warnings"]


def test_lens_judges_the_crude_steel_sites_intensity_where_given(make, spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """PLT ships from site B but its crude steel is made at site A: the HBI line (site A) is same site, and the
    site-level intensity given for site A is judged (embodied), the claimed CFP never."""
    for p in spec["products.csv"]:
        p["crude_steel_intensity"] = 1.6 if p["route"].startswith("A-BF") else 0.3
    spec["orders.csv"].append(dict(spec["orders.csv"][0], order_id="O2", product_id="PLT"))
    gxopt.run(make(spec), out=tmp_path / "result")
    report = build_report(tmp_path / "result", tmp_path / "report")
    lp = pd.read_csv(report / "lens" / "products.csv").set_index("product_id")
    assert lp.at["PLT", "crude_steel_site"] == "A" and lp.at["PLT", "site"] == "B"
    assert lp.at["HRC", "site_intensity"] == pytest.approx(1.6)
    assert not lp.at["HRC", "steelzero_lower_emission_met"]  # General CFP 2.0 > 2.00 - 1.65 x 0.1 = 1.835
    assert lp.at["HRC", "site_steelzero_lower_emission_met"]  # the site's 1.6 <= 1.835
    sites = pd.read_csv(report / "lens" / "sites.csv").set_index("site")
    assert sites.at["A", "site_intensity"] == pytest.approx(1.6) and "PLT" in sites.at["A", "product_ids"]
    lines = pd.read_csv(report / "lens" / "lines.csv")
    plt_line = lines[lines["product_id"] == "PLT"]
    assert len(plt_line) and set(plt_line["link"]) == {"same site"}
    html, _ = html_of(report / "certificates" / "DRAFT-O2.html")
    assert "Crude-steel site intensity meets" in html and "the crude-steel site's own intensity 1.6000" in html
    assert "every REP line comes from the product's crude-steel site (A, where its crude steel is made)" in html
    pdf = pdf_text(report / "certificates" / "DRAFT-O2.pdf")
    assert "Crude-steel site intensity meets" in pdf and "Claimed CFP meets" not in pdf


# ------------------------------------------------------------------------------ recheck/, stdlib only


@pytest.mark.parametrize("which", ["case", "both", "fy26", "figure1", "case_mb"])
def test_recheck_passes_on_the_shipped_scenarios(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(request.getfixturevalue(which)[1] / "verifier-pack", pack)
    out = _run_recheck(pack)
    assert out.returncode == 0, out.stdout + out.stderr
    for check in ("reps", "pool_use", "physical_connection", "products", "orders", "claims"):
        assert f"ok   {check}:" in out.stdout, out.stdout
    assert json.loads((pack / "calculations" / "verify.json").read_text())["ok"]


def _edit_csv(file: Path, change) -> None:  # type: ignore[no-untyped-def]
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    change(frame)
    frame.to_csv(file, index=False)


def _claimed(f: pd.DataFrame) -> None:
    i = f.index[(f["method"] == "mass_balance") & (f["reps_t"].astype(float) > 0)][0]
    f.loc[i, "claimed_cfp"] = str(float(f.loc[i, "claimed_cfp"]) - 0.1)  # as if against the General CFP


def _unnetted(f: pd.DataFrame) -> None:
    i = f.index[f["pool_id"] == "HG-SP-BIOCHAR@2026-03-31"][0]  # 34,713 before netting the 8,316 increase
    f.loc[i, "reps_t"] = f.loc[i, "period_reps_t"]
    f.loc[i, "remaining_t"] = str(float(f.loc[i, "reps_t"]) - float(f.loc[i, "used_t"]))  # use still reconciles


def _by_product(kind: str):  # type: ignore[no-untyped-def]
    def change(f: pd.DataFrame) -> None:
        i = f.index[f["evidence"].str.startswith("HG_BF1 > HG_BOF > HG_CC1 > HG_HSM")][0]
        # HG_BF1 -> HG_PP is blast-furnace gas sent to the power plant: a by-product, never a connection
        f.loc[i, "evidence"] = f.loc[i, "evidence"].replace(
            "HG_BF1 > HG_BOF > HG_CC1 > HG_HSM", f"HG_BF1 -{kind}-> HG_PP -utility-> HG_HSM", 1)
    return change


@pytest.mark.parametrize("file, change, check, words", [
    ("orders.csv", _claimed, "orders", "claimed_cfp"),
    ("pools.csv", _unnetted, "reps", "REPs after netting"),
    ("allocations.csv", _by_product("utility"), "physical_connection", "only byproduct"),
    ("allocations.csv", _by_product("byproduct"), "physical_connection", "by-product flow, which never connects"),
], ids=["claimed_cfp", "reps_above_netted", "by_product_as_utility", "by_product_step"])
def test_recheck_fails_on_tampered_results(fy26: tuple[Path, Path], tmp_path: Path, file: str, change,  # type: ignore[no-untyped-def]
                                           check: str, words: str) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(fy26[1] / "verifier-pack", pack)
    _edit_csv(pack / "results" / file, change)
    out = _run_recheck(pack)
    assert out.returncode == 1, out.stdout
    assert f"FAIL {check}" in out.stdout and words in out.stdout, out.stdout


def test_recheck_re_performs_signed_periods_side_uncertainties_and_netting(spec, make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A project with a reduction, an increase, a reduction (netted backwards, then forwards), and a second
    project with side uncertainties: recheck/ agrees with the engine pool by pool, without gxopt."""
    spec["project_periods.csv"] = [
        {"project_id": "HBI", "period_start": s, "period_end": e, "baseline_intensity": 2.0, "output_t": 250,
         "project_emissions_t": 500 - a, "uncertainty": 0.1, "baseline_uncertainty": "", "project_uncertainty": ""}
        for s, e, a in (("2025-04-01", "2025-06-30", 60), ("2025-07-01", "2025-09-30", -150),
                        ("2025-10-01", "2025-12-31", 40), ("2026-01-01", "2026-03-31", 200))]
    spec["project_periods.csv"].append(
        {"project_id": "EAF", "period_start": "2025-04-01", "period_end": "2026-03-31", "baseline_intensity": 0.5,
         "output_t": 400, "project_emissions_t": 150, "uncertainty": "", "baseline_uncertainty": 0.02,
         "project_uncertainty": 0.03})
    gxopt.run(make(spec), out=tmp_path / "result")
    report = build_report(tmp_path / "result", tmp_path / "report")
    pools = pd.read_csv(tmp_path / "result" / "pools.csv").set_index("pool_id")
    assert pools.at["HBI@2025-09-30", "period_reps_t"] == pytest.approx(-165)  # raised by the uncertainty
    assert pools.at["EAF@2026-03-31", "reps_t"] == pytest.approx(200 * 0.98 - 150 * 1.03)
    calc = pd.read_csv(report / "verifier-pack" / "calculations" / "rep_calculation.csv").set_index("pool_id")
    for col in ("period_reps_t", "netted_t", "reps_t"):
        assert calc[col].to_dict() == pytest.approx(pools[col].to_dict(), abs=1e-6), col
    assert calc.at["EAF@2026-03-31", "rule"].startswith("side uncertainties")
    out = _run_recheck(report / "verifier-pack")
    assert out.returncode == 0, out.stdout


def test_recheck_netting_order() -> None:
    from gxopt.report.recheck.connection import parse_evidence
    from gxopt.report.recheck.pools import net_periods

    # a deficit goes to the latest earlier periods first, then waits for later ones
    assert net_periods([100, 50, -120, 40]) == ([30, 0, 0, 40], [-70, -50, 0, 0])
    assert net_periods([-100, 400]) == ([0, 300], [0, -100])
    assert net_periods([100, -150, 30]) == ([0, 0, 0], [-100, 0, -30])  # nets to an increase: nothing
    assert parse_evidence("HG_CO -input-> HG_SP -input-> HG_BF1 > HG_BOF") == (
        ["HG_CO", "HG_SP", "HG_BF1", "HG_BOF"], ["input", "input", "material"])
    assert parse_evidence("A-O2 -utility-> A-BOF > A-CC") == (["A-O2", "A-BOF", "A-CC"], ["utility", "material"])
    assert parse_evidence("HG_HSM") == (["HG_HSM"], [])


# ------------------------------------------------------------------------------- bad inputs, atomic writes


def test_bad_inputs_and_unsafe_outputs(case: tuple[Path, Path], tmp_path: Path) -> None:
    result, report = case
    with pytest.raises(InputError, match="result folder not found"):
        build_report(tmp_path / "nope", tmp_path / "r1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a gxopt result folder"):
        build_report(tmp_path / "empty", tmp_path / "r2")
    partial = tmp_path / "partial"
    shutil.copytree(result, partial)
    (partial / "pools.csv").unlink()
    with pytest.raises(InputError, match="pools.csv"):
        build_report(partial, tmp_path / "r3")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a gxopt report folder"):
        build_report(result, precious)
    assert (precious / "thesis.txt").read_text() == "keep me"
    with pytest.raises(OutputError):
        build_report(result, result)  # never into the result folder it reads
    with pytest.raises(InputError, match="ledger database file not found"):
        build_report(result, tmp_path / "r4", db_url=f"sqlite:///{tmp_path / 'missing.db'}")
    import sqlite3

    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("create table t (x int)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(InputError, match="not a gxopt ledger"):
        build_report(result, tmp_path / "r5", db_url=f"sqlite:///{other}")
    assert other.read_bytes() == before  # never migrated or written
    assert not any(p.name.startswith((".r", ".precious")) for p in tmp_path.iterdir())


def test_rewrite_is_atomic(case: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gxopt.report import plots

    result = case[0]
    out = build_report(result, tmp_path / "rep")
    stamp = (out / "report.json").read_text()
    build_report(result, out)  # a report folder may be replaced
    assert (out / "index.html").is_file()
    stamp = (out / "report.json").read_text()

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "flow", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build_report(result, out)
    assert (out / "report.json").read_text() == stamp  # the previous report is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no temporary folders left


def test_report_command_prints_a_summary(case: tuple[Path, Path], tmp_path: Path) -> None:
    from rich.console import Console

    from gxopt.report.cli import report_command

    buf = io.StringIO()
    path = report_command(case[0], tmp_path / "rep", None, console=Console(file=buf, width=60))
    text = buf.getvalue()
    assert path == tmp_path / "rep"
    assert "3 drafts" in text and "draft mode" in text and "all re-checks passed" in text
    assert "placeholder" in text and "not allocated" in text
    assert str(tmp_path / "rep" / "index.html") in text  # the path is never folded, even at 60 columns


def test_japanese_and_greek_names_reach_the_pdf_without_warnings(make, spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec["orders.csv"][0]["customer"] = "Sakura Jidosha 株式会社"
    spec["orders.csv"].append(dict(spec["orders.csv"][0], order_id="O2", customer="Ωmega Stahl"))
    gxopt.run(make(spec), out=tmp_path / "result")
    report = build_report(tmp_path / "result", tmp_path / "report")  # plots: no missing-glyph warning escapes
    assert "Sakura Jidosha 株式会社" in pdf_text(report / "certificates" / "DRAFT-O1.pdf")
    assert "Ωmega Stahl" in pdf_text(report / "certificates" / "DRAFT-O2.pdf")
    assert "株式会社" in (report / "plots" / "rep-flow.csv").read_text(encoding="utf-8")
