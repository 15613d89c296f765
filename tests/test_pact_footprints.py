"""The ledger's certificates as PACT footprints (issue #13): valid against the published OpenAPI schemas of v2.3 and
v3.0, the report's ids and numbers, Deprecated on void, precedingPfIds on re-issue, one customer's view."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

import gxopt
from gxopt.ledger import certificates as certs
from gxopt.ledger.batch import batch
from gxopt.ledger.db import connect, writer
from gxopt.ledger.tables import G_PER_T, certificates
from gxopt.report import pact
from gxopt.report.data import load as load_report
from gxopt.report.fmt import decimal_str
from gxopt.service.book import Book
from gxopt.service.footprints import Footprint, FootprintStore
from tests.conftest import REPO

SCEN = REPO / "scenarios" / "jp-steel-fy2026"
SCHEMAS = REPO.parent / "shared" / "pact" / "conformance-service" / "src" / "schemas"
DOCS = {"v2": "openapi_v2_3.yaml", "v3": "openapi_v3_0.yaml"}


@pytest.fixture(scope="module")
def validators() -> dict[str, Any]:
    """A jsonschema validator of ``components.schemas.ProductFootprint`` per PACT version."""
    if not all((SCHEMAS / f).is_file() for f in DOCS.values()):
        pytest.skip(f"the PACT OpenAPI documents are not here ({SCHEMAS}: ../shared/pact of the repository is absent)")
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    out = {}
    for version, name in DOCS.items():
        uri = f"https://pact.invalid/{name}"
        doc = yaml.safe_load((SCHEMAS / name).read_text(encoding="utf-8"))
        assert doc["openapi"].startswith("3.1")  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT202012))
        out[version] = Draft202012Validator({"$ref": f"{uri}#/components/schemas/ProductFootprint"},
                                            registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return out


def problems(validators: dict[str, Any], f: Footprint) -> list[str]:
    return [f"{f.certificate_id} {v}: {e.json_path}: {e.message}"[:300]
            for v in DOCS for e in validators[v].iter_errors(getattr(f, v))]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, FootprintStore]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pf') / 'gx.db'}"
    batch(SCEN, url)
    engine = connect(url)
    return url, FootprintStore(Book(SCEN, engine), engine)


def rows(url: str) -> dict[str, dict[str, Any]]:
    with connect(url).connect() as c:
        return {r["certificate_id"]: dict(r) for r in c.execute(sa.select(certificates)).mappings()}


def test_every_footprint_is_valid_against_both_pact_schemas(ledger, validators) -> None:  # type: ignore[no-untyped-def]
    url, store = ledger
    found = store.all()
    assert len(found) == len(rows(url)) > 0  # every product of the shipped scenario is in its model
    assert {f.v2["extensions"][0]["data"]["method"] for f in found} == {"GX Mass Balance", "GX Allocation"}
    assert [p for f in found for p in problems(validators, f)] == []
    assert len({f.id for f in found}) == len(found) and all(f.status == "Active" for f in found)


def test_a_bad_document_is_caught_by_the_schema(ledger, validators) -> None:  # type: ignore[no-untyped-def]
    """The validation above can fail: a number where v3 wants a decimal string, a v2 document without its version."""
    f = ledger[1].all()[0]
    bad3 = {**f.v3, "pcf": {**f.v3["pcf"], "pcfExcludingBiogenicUptake": 1.5}}
    bad2 = {k: v for k, v in f.v2.items() if k != "version"}
    assert problems(validators, dataclasses.replace(f, v2=bad2, v3=bad3)) != []


def test_the_numbers_are_the_certificates(ledger) -> None:  # type: ignore[no-untyped-def]
    url, store = ledger
    issued = rows(url)
    for f in store.all():
        r = issued[f.certificate_id]
        data = f.v3["extensions"][0]["data"]
        assert data["certificateId"] == f.certificate_id and data["customer"] == f.customer == r["customer"]
        assert data["generalCfp"] == pytest.approx(r["general_cfp"], abs=1e-6)
        assert data["repsT"] == pytest.approx(r["reps_g"] / G_PER_T, abs=1e-6)
        if r["method"] == "allocation":  # the Allocated CFP is the PCF; General and Residual in the extension
            pcf = r["allocated_cfp"]
            assert data["residualCfp"] == pytest.approx(r["residual_cfp"], abs=1e-6)
            assert data["allocatedCfp"] == pytest.approx(pcf, abs=1e-6)
        else:  # the basis CFP is the PCF; the REPs travel in the extension, never netted (7.1, 7.3.3)
            pcf = r["basis_cfp"]
            assert data["basisCfp"] == pytest.approx(pcf, abs=1e-6)
        assert f.v3["pcf"]["pcfExcludingBiogenicUptake"] == decimal_str(pcf)
        assert f.v2["pcf"]["pCfExcludingBiogenic"] == decimal_str(pcf)


def test_ids_and_documents_are_the_reports(ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A buyer finds one id per version in the report's files and over the API, with the same content except the
    run-level claims sentence the served (immutable) footprint leaves out."""
    url, store = ledger
    gxopt.run(SCEN, out=tmp_path / "result")
    data = load_report(tmp_path / "result", url)
    who = pact.issuer(data)
    assert who.claims and data.certificates
    for c in data.certificates:
        f = store.get(pact.v3(who, c)["id"])
        assert f is not None and f.certificate_id == c.certificate_id
        assert store.get(pact.v2(who, c)["id"]) is f
        for served, filed in ((f.v2, pact.v2(who, c)), (f.v3, pact.v3(who, c))):
            rules = "allocationRulesDescription"
            assert served["pcf"][rules] == filed["pcf"][rules].replace(who.claims, "")
            assert {**served, "pcf": {**served["pcf"], rules: ""}} == {**filed, "pcf": {**filed["pcf"], rules: ""}}


def test_one_customers_footprints(ledger) -> None:  # type: ignore[no-untyped-def]
    store = ledger[1]
    everyone = store.all()
    customer = everyone[0].customer
    mine = store.of_customer(customer)
    assert mine and len(mine) < len(everyone)
    assert {f.customer for f in mine} == {customer}
    assert {f.id for f in mine} == {f.id for f in everyone if f.v3["extensions"][0]["data"]["customer"] == customer}
    assert store.of_customer("Nobody Ltd") == []
    assert store.get("00000000-0000-4000-8000-000000000000") is None


def test_void_deprecates_and_a_reissue_names_its_predecessor(tmp_path: Path, validators) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gx.db'}"
    batch(SCEN, url)
    engine = connect(url)
    store = FootprintStore(Book(SCEN, engine), engine)
    before = store.all()
    assert store.all() is not before and store.all()[0] is before[0]  # cached while the ledger stays as it is
    old = next(f for f in before if f.v3["extensions"][0]["data"]["method"] == "GX Mass Balance")
    with writer(engine, "test void") as c:
        certs.void(c, old.certificate_id, "wrong delivery address")
    gone = store.get(old.id)
    assert gone is not None and gone is not old and gone.certificate_id == old.certificate_id
    assert (gone.status, gone.v2["status"], gone.v3["status"]) == ("Deprecated", "Deprecated", "Deprecated")
    assert gone.v3 == {**old.v3, "status": "Deprecated"}  # immutable: only the status changes (v3 has no more)
    assert gone.updated == gone.v2["updated"] and gone.updated >= gone.v2["created"]
    assert "wrong delivery address" in gone.v2["statusComment"]
    assert {k: v for k, v in gone.v2.items() if k not in ("status", "statusComment", "updated")} == \
        {k: v for k, v in old.v2.items() if k != "status"}
    batch(SCEN, url)  # the order is open again: the next batch issues it a new certificate
    new = [f for f in store.all() if f.order_id == old.order_id and f.certificate_id != old.certificate_id]
    assert len(new) == 1 and new[0].status == "Active" and new[0].id != old.id
    assert new[0].v2["precedingPfIds"] == [old.v2["id"]] and new[0].v3["precedingPfIds"] == [old.v3["id"]]
    assert [p for f in store.all() for p in problems(validators, f)] == []
    assert sum(f.order_id == old.order_id for f in store.of_customer(old.customer)) == 2
    # the store that lived through the void and the re-issue built only what changed; a new one builds all
    fresh = FootprintStore(Book(SCEN, engine), engine)
    assert [(f.id, f.status, f.v2, f.v3) for f in store.all()] == [(f.id, f.status, f.v2, f.v3) for f in fresh.all()]
    assert old.v3["status"] == "Active" and old.v2["status"] == "Active"  # the first documents were never changed
