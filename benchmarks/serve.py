"""Quotes over HTTP: ``gxopt serve`` on a 100,000-line book, 8 concurrent clients (issue #12). Nothing here is a test.

Usage::

    python benchmarks/serve.py [--orders 100000] [--clients 8] [--quotes 400] [--append]

Generates the book (unique premiums), runs one batch on an empty SQLite ledger (so the pools are credited), adds an
operator, starts ``gxopt serve`` and times how long it takes until ``/api/health`` answers (the book is solved at
start), then lets ``--clients`` threads with their own keep-alive connections ask ``--quotes`` quotes in all
(products x both methods x deliveries over the year) and reports p50, p95 and p99 of the answer times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    """Build the book and the ledger, start the service, time the quotes."""
    from generate import generate
    from table import emit

    from gxopt.ledger import users
    from gxopt.ledger.batch import batch
    from gxopt.ledger.db import connect, writer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--quotes", type=int, default=400)
    ap.add_argument("--workers", type=int, default=1, help="gxopt serve --workers")
    ap.add_argument("--append", action="store_true", help="append the row to benchmarks/README.md")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scen = generate(Path(tmp) / "d", orders=a.orders, products=100, projects=25, seed=0, premiums=0)
        url = f"sqlite:///{tmp}/gx.db"
        batch(scen, url)
        with writer(connect(url), "bench") as c:
            token = users.add(c, "bench", "operator")[1]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "gxopt", "serve", str(scen), "--db", url, "--port", str(port),
                                 "--workers", str(a.workers)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    httpx.get(f"{base}/api/health", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            startup = time.perf_counter() - t0
            auth = {"Authorization": f"Bearer {token}"}
            products = [r["product_id"] for r in httpx.get(f"{base}/api/availability", headers=auth, timeout=300).json()]
            bodies = [{"product": products[i % len(products)], "method": ("mass_balance", "allocation")[i % 2],
                       "delivery": str(dt.date(2026, 4, 2) + dt.timedelta(days=(37 * i) % 360))} for i in range(a.quotes)]
            for b in bodies[: len(products)]:  # warm: each product's first quote works out its eligible pools
                httpx.post(f"{base}/api/quotes", json=b, headers=auth, timeout=60)
            times: list[float] = []
            lock = threading.Lock()
            start = threading.Barrier(a.clients)

            def client(k: int) -> None:
                with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
                    start.wait()
                    for b in bodies[k::a.clients]:
                        t = time.perf_counter()
                        assert http.post("/api/quotes", json=b).status_code == 200
                        with lock:
                            times.append(time.perf_counter() - t)

            threads = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
            t1 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t1
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    times.sort()
    q = lambda p: 1000 * times[min(len(times) - 1, int(p * len(times)))]  # noqa: E731
    header = ("| orders | workers | clients | quotes | p50 ms | p95 ms | p99 ms | quotes/s | serve start-up s |\n"
              "|---|---|---|---|---|---|---|---|---|")
    row = (f"| {a.orders:,} | {a.workers} | {a.clients} | {len(times)} | {statistics.median(times) * 1000:.1f} | {q(0.95):.1f} | "
           f"{q(0.99):.1f} | {len(times) / wall:.0f} | {startup:.1f} |")
    emit("Quotes over HTTP (`benchmarks/serve.py`)", header, [row], a.append)


if __name__ == "__main__":
    main()
