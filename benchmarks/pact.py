"""The PACT host on a generated book (issue #13). Nothing here is a test.

Usage::

    python benchmarks/pact.py [--orders 10000] [--requests 200] [--append]

Generates the book (unique premiums, ample REPs so that many orders get a certificate), runs one batch on an
empty SQLite ledger, then times: building every footprint of the ledger's certificates (what the service does
once), rebuilding them after a void (only what it changed), and ``GET /3/footprints?limit=100`` pages and
``GET /3/footprints/{id}`` over HTTPS in process (FastAPI's TestClient) with an operator's token, which sees every
footprint.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    """Build the ledger, time the footprints and the PACT reads."""
    from fastapi.testclient import TestClient
    from generate import generate
    from table import emit

    from gxopt.ledger import certificates, users
    from gxopt.ledger.batch import batch
    from gxopt.ledger.db import connect, writer
    from gxopt.service.app import create_app
    from gxopt.service.book import Book
    from gxopt.service.footprints import FootprintStore

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--append", action="store_true", help="append the row to benchmarks/README.md")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scen = generate(Path(tmp) / "d", orders=a.orders, products=100, projects=25, seed=0, premiums=0,
                        supply=300.0)
        url = f"sqlite:///{tmp}/gx.db"
        issued = batch(scen, url)["certificates_issued"]
        engine = connect(url)
        with writer(engine, "bench") as c:
            token = users.add(c, "bench", "operator")[1]
        store = FootprintStore(Book(scen, engine), engine)
        t0 = time.perf_counter()
        footprints = store.all()
        build = time.perf_counter() - t0
        with writer(engine, "bench void") as c:  # a void moves the journal: only what it changed is rebuilt
            certificates.void(c, footprints[0].certificate_id, "benchmark")
        t0 = time.perf_counter()
        assert store.all()[0].status == "Deprecated"
        after_void = time.perf_counter() - t0
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(scen, url), base_url="https://testserver") as http:
            assert http.get("/3/footprints?limit=1", headers=auth).status_code == 200  # the app's own first build
            pages, gets = [], []
            for i in range(a.requests):
                t = time.perf_counter()
                assert http.get("/3/footprints?limit=100", headers=auth).status_code == 200
                pages.append(time.perf_counter() - t)
                t = time.perf_counter()
                assert http.get(f"/3/footprints/{footprints[(37 * i) % len(footprints)].id}",
                                headers=auth).status_code == 200
                gets.append(time.perf_counter() - t)
    ms = lambda xs: f"{statistics.median(xs) * 1000:.1f}"  # noqa: E731
    header = ("| orders | certificates | footprints | build all s | after a void s | list p50 ms (100 a page) | get p50 ms |\n"
              "|---|---|---|---|---|---|---|")
    row = (f"| {a.orders:,} | {issued:,} | {len(footprints):,} | {build:.2f} | {after_void:.2f} | {ms(pages)} | "
           f"{ms(gets)} |")
    emit("PACT host (`benchmarks/pact.py`)", header, [row], a.append)


if __name__ == "__main__":
    main()
