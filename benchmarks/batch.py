"""The nightly batch at scale: ``gxopt batch`` on generated 1M-line books, SQLite and PostgreSQL.

Usage::

    python benchmarks/batch.py                         # both books, SQLite (and PostgreSQL if GXOPT_BENCH_PG_URL)
    python benchmarks/batch.py --books 1m-unique-premiums --append

For each book and database, in one fresh process each: the batch on an empty ledger (its own phase timings:
read/validate/credit, the allocation run, issuing the certificates), then the floor of writing the same rows:
every certificate, certificate line and journal row the batch wrote, read back and inserted in bulk into an
empty ledger (the driver's bulk path, no digests or hash chain computed). Nothing here is a test.
``GXOPT_BENCH_PG_URL`` must name a database of its own: its public schema is dropped and made anew.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BOOKS = {  # name: generate() arguments
    "1m-unique-premiums": {"orders": 1_000_000, "products": 300, "projects": 50, "premiums": 0, "supply": 1.0},
    "1m-unique-premiums-ample": {"orders": 1_000_000, "products": 300, "projects": 50, "premiums": 0, "supply": 300.0},
}


def _fresh_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def measure(book: str, db: str) -> dict[str, object]:
    """One batch and its bulk-write floor in this process."""
    import sqlalchemy as sa
    from generate import generate

    from gxopt.ledger.batch import batch
    from gxopt.ledger.db import bulk_insert, connect, dispose_all
    from gxopt.ledger.tables import certificate_lines, certificates, journal, pools

    with tempfile.TemporaryDirectory() as tmp:
        scen = generate(Path(tmp) / "data", seed=0, **BOOKS[book])  # type: ignore[arg-type]
        urls = [f"sqlite:///{tmp}/ledger.db", f"sqlite:///{tmp}/floor.db"] if db == "sqlite" else [db, db]
        if db != "sqlite":
            _fresh_pg(db)
        t0 = time.perf_counter()
        summary = batch(scen, urls[0])
        wall = time.perf_counter() - t0
        engine = connect(urls[0])
        with engine.connect() as c:
            rows = {t: [dict(r) for r in c.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()]
                    for t in (pools, certificates, certificate_lines, journal)}
        dispose_all()
        if db != "sqlite":
            _fresh_pg(db)
        floor_engine = connect(urls[1])
        with floor_engine.begin() as c:
            t0 = time.perf_counter()
            for table, data in rows.items():
                bulk_insert(c, table, data)
            floor = time.perf_counter() - t0
            c.rollback()
        dispose_all()
    t = summary["timings_s"]
    return {"book": book, "db": "sqlite" if db == "sqlite" else "postgresql", "orders": BOOKS[book]["orders"],
            "certificates": summary["certificates_issued"], "rows": sum(len(v) for v in rows.values()),
            "wall_s": round(wall, 2), "before_run_s": round(t["before_run"], 2), "run_s": round(t["run"], 2),
            "issue_s": round(t["issue"], 2), "bulk_floor_s": round(floor, 2),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


HEADER = ("| book | database | orders | certificates | rows written | batch wall s | read+credit s | run s | "
          "issue s | bulk-write floor s | batch − run − read s | peak MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def _row(m: dict[str, object]) -> str:
    extra = float(m["wall_s"]) - float(m["run_s"]) - float(m["before_run_s"])  # type: ignore[arg-type]
    return (f"| {m['book']} | {m['db']} | {m['orders']:,} | {m['certificates']:,} | {m['rows']:,} | {m['wall_s']} | "
            f"{m['before_run_s']} | {m['run_s']} | {m['issue_s']} | {m['bulk_floor_s']} | {extra:.2f} | {m['peak_mb']} |")


def main() -> None:
    """Run every requested book on SQLite (and PostgreSQL when ``GXOPT_BENCH_PG_URL`` is set)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--books", nargs="+", default=list(BOOKS), choices=list(BOOKS))
    ap.add_argument("--append", action="store_true", help="append the rows to benchmarks/README.md")
    ap.add_argument("--one", nargs=2, metavar=("BOOK", "DB"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(measure(a.one[0], a.one[1])))
        return
    dbs = ["sqlite"] + ([os.environ["GXOPT_BENCH_PG_URL"]] if os.environ.get("GXOPT_BENCH_PG_URL") else [])
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
               f"{dt.date.today().isoformat()}")
    print(f"machine: {machine}\n{HEADER}")
    lines = []
    for book in a.books:
        for db in dbs:
            res = subprocess.run([sys.executable, __file__, "--one", book, db], capture_output=True, text=True,
                                 check=True)
            lines.append(_row(json.loads(res.stdout.strip().splitlines()[-1])))
            print(lines[-1], flush=True)
    if a.append:
        with (HERE / "README.md").open("a", encoding="utf-8") as fh:
            fh.write(f"\nBatch run of {machine}:\n\n{HEADER}\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
