"""The report (gxopt.report): certificates as documents (HTML + PDF), disclosures, SteelZero lens, PACT export,
plots and the verifier pack, on shipped scenarios in draft mode and from a ledger."""

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


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("case")
    gxopt.run(REPO / "scenarios" / "jisf-case-study", out=root / "result")
    return root / "result", build_report(root / "result", root / "report")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("both")
    gxopt.run(REPO / "scenarios" / "jp-steel-both-methods", out=root / "result")
    return root / "result", build_report(root / "result", root / "report")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A ledger after one batch, one void and one attribute transfer; the result folder of the same scenario."""
    from gxopt.ledger import certificates as certs
    from gxopt.ledger.batch import batch
    from gxopt.ledger.db import connect, dispose_all, writer

    root = tmp_path_factory.mktemp("ledger")
    url = f"sqlite:///{root / 'gx.db'}"
    scen = REPO / "scenarios" / "jp-steel-both-methods"
    summary = batch(scen, url)
    first = summary["first_certificate"]
    with writer(connect(url), "test") as conn:
        ids = sorted(r[0] for r in conn.exec_driver_sql("select certificate_id from certificates"))
        certs.void(conn, ids[2], "order cancelled")
        certs.transfer(conn, first, "Second Tier Co", 100.0)
    gxopt.run(scen, out=root / "result")
    report = build_report(root / "result", root / "report", db_url=url)
    yield root / "result", report, url, ids
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
    for ln in lines.itertuples():
        items += [ln.project_id, ln.period_end, ln.gas, ln.evidence, ln.verifier, ln.statement_id,
                  f"{ln.reps_t:,.3f}"]
    if c["method"] == "allocation":
        items += ["calculated using the GX Allocation method", "General CFP", "Residual CFP", "Allocated CFP",
                  f"{c['residual_cfp']:.4f}", f"{c['allocated_cfp']:.4f}", "Reduction achieved by the purchase",
                  f"{c['reduction_achieved_t']:,.3f} t-CO2e"]
    else:
        items += ["Reduction Certificate", "GX Mass Balance", "Scope 3 Category 1"]
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


def test_case_study_certificate_numbers_and_figure3(case: tuple[Path, Path]) -> None:
    certs = pd.read_csv(case[1] / "certificates" / "certificates.csv").set_index("order_id")
    a = certs.loc["A-001"]  # 8.1.1: Residual 3.0, Allocated 0.7, 230,000 t-CO2e on 100,000 t
    assert (a["general_cfp"], a["residual_cfp"], a["allocated_cfp"]) == pytest.approx((2.5, 3.0, 0.7))
    assert a["reduction_achieved_t"] == pytest.approx(230_000)
    assert a["type"] == "CFP certificate"
    fig = pd.read_csv(case[1] / "plots" / "emissions-figure3.csv").iloc[0]  # Figure 3: 2.5 Mt before and after
    assert fig["general_t"] == pytest.approx(2_500_000) and fig["residual_t"] == pytest.approx(3_000_000)
    assert fig["after_allocation_t"] == pytest.approx(2_500_000)
    assert fig["gx_steel_t"] + fig["non_gx_steel_t"] == pytest.approx(fig["after_allocation_t"])
    cfps = pd.read_csv(case[1] / "disclosures" / "three-cfps.csv").iloc[0]
    assert (cfps["general_cfp"], cfps["residual_cfp"], cfps["allocated_cfp_lowest_possible"]) == \
        pytest.approx((2.5, 3.0, 0.7))


def test_ledger_certificates_are_the_ledgers_own(ledger) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from gxopt.ledger.db import connect
    from gxopt.ledger.tables import certificate_lines, certificates, pools

    result, report, url, ids = ledger
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
    first = pdf_text(report / "certificates" / f"{min(ids)}.pdf")
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
        # the CFP on the footprint: Allocated CFP under GX Allocation, General CFP under GX Mass Balance,
        # in kg CO2e per kg = numerically t-CO2e per t
        want = c["allocated_cfp"] if c["method"] == "allocation" else c["general_cfp"]
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
            if c["method"] == "allocation":
                assert d["residualCfp"] == pytest.approx(c["residual_cfp"], abs=1e-6)
                assert d["allocatedCfp"] == pytest.approx(c["allocated_cfp"], abs=1e-6)
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
    lc = pd.read_csv(report / "lens" / "certificates.csv")
    assert {"item_cfp_per_tonne", "item_scrap_share", "item_calculation_standard", "item_technology",
            "item_attribution", "item_same_site"} <= set(lc.columns)
    lines = pd.read_csv(report / "lens" / "lines.csv")
    assert set(lines["link"]) <= {"same site", "pooled across sites"}
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
    eligible = pools[pools["eligible"]]
    assert sorted(proj["pool_id"]) == sorted(eligible["pool_id"])
    for col in ("name", "location_site", "location_node", "technology", "additionality_test", "additionality_passed",
                "period_start", "period_end", "reps_t"):
        assert col in proj.columns
    got = proj.set_index("pool_id")["reps_t"]
    assert got.to_dict() == pytest.approx(eligible.set_index("pool_id")["reps_t"].to_dict(), abs=1e-6)
    cfps = pd.read_csv(report / "disclosures" / "three-cfps.csv")
    products = pd.read_csv(result / "products.csv").set_index("product_id")
    for r in cfps.itertuples():
        assert r.general_cfp == pytest.approx(products.at[r.product_id, "general_cfp"])
        assert r.residual_cfp == pytest.approx(products.at[r.product_id, "residual_cfp"])
    served = cfps[cfps["allocation_certificates"] > 0]
    assert len(served) and served["allocated_cfp_min"].notna().all()
    assert (served["allocated_cfp_min"] <= served["residual_cfp"] + 1e-9).all()
    html, _ = html_of(report / "disclosures" / "three-cfps.html")
    assert "General CFP" in html and "Residual CFP" in html and "Allocated CFP" in html and "7.3.3" in html
    scheme = json.loads((report / "disclosures" / "scheme.json").read_text())
    assert scheme["scheme_owner"] == "Kaigan Steel Corporation"
    for key in ("usage_methods", "international_standards", "data_quality", "organizational_scope",
                "verification", "reduction_periods", "projects"):
        assert scheme[key], key
    assert any("ISO 14064-3" in s for r in scheme["international_standards"] for s in r["standards"])
    assert scheme["verification"]["verifiers"][0]["statement_ids"]


# ----------------------------------------------------------------------------------------- verifier pack


def _run_recheck(pack: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", str(pack / "recheck.py")], capture_output=True, text=True,
                          cwd=pack, timeout=60, check=False)


@pytest.mark.parametrize("which", ["both", "ledger"])
def test_verifier_pack_recomputes_every_pool_without_gxopt(which: str, request: pytest.FixtureRequest,
                                                           tmp_path: Path) -> None:
    result, report = request.getfixturevalue(which)[:2]
    pack = report / "verifier-pack"
    pools = pd.read_csv(result / "pools.csv").set_index("pool_id")
    calc = pd.read_csv(pack / "calculations" / "rep_calculation.csv").set_index("pool_id")
    assert sorted(calc.index) == sorted(pools.index)
    for pid, r in calc.iterrows():  # each step, then the REPs equal pools.csv
        assert r["baseline_emissions_t"] == pytest.approx(r["baseline_intensity"] * r["output_t"])
        assert r["gross_reduction_t"] == pytest.approx(r["baseline_emissions_t"] - r["project_emissions_t"])
        assert r["reps_t"] == pytest.approx(max(r["gross_reduction_t"], 0) * (1 - r["uncertainty_applied"])
                                            * r["share"], abs=1e-5)
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
    assert str(tmp_path / "rep" / "index.html") in text  # the path is never folded, even at 60 columns


def test_japanese_and_greek_names_reach_the_pdf_without_warnings(make, spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec["orders.csv"][0]["customer"] = "Sakura Jidosha 株式会社"
    spec["orders.csv"].append(dict(spec["orders.csv"][0], order_id="O2", customer="Ωmega Stahl"))
    gxopt.run(make(spec), out=tmp_path / "result")
    report = build_report(tmp_path / "result", tmp_path / "report")  # plots: no missing-glyph warning escapes
    assert "Sakura Jidosha 株式会社" in pdf_text(report / "certificates" / "DRAFT-O1.pdf")
    assert "Ωmega Stahl" in pdf_text(report / "certificates" / "DRAFT-O2.pdf")
    assert "株式会社" in (report / "plots" / "rep-flow.csv").read_text(encoding="utf-8")
