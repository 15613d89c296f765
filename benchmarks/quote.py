"""In-process quotes on a solved 1M-line book: the time of one ``Quoter.quote`` after the book is solved.

Usage::

    python benchmarks/quote.py [--book 1m-unique-premiums] [--append]

Solves the book once (not timed), builds a :class:`gxopt.quote.Quoter`, then asks 160 quotes (40 products x
both methods x keep / re-optimize, deliveries spread over the year) and reports the median, p95 and largest
time per quote. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    """Solve the book, then time the quotes."""
    from batch import BOOKS
    from generate import generate
    from table import emit

    import gxopt
    from gxopt.quote import Quoter, QuoteRequest

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--book", default="1m-unique-premiums", choices=list(BOOKS))
    ap.add_argument("--supply", type=float, default=None,
                    help="scale every project's output (e.g. 1000: REPs left over after the book, so quotes promise)")
    ap.add_argument("--append", action="store_true", help="append the row to benchmarks/README.md")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = BOOKS[a.book] | ({"supply": a.supply} if a.supply else {})
        base = gxopt.run(generate(Path(tmp) / "d", seed=0, **spec))  # type: ignore[arg-type]
    t0 = time.perf_counter()
    q = Quoter(base)
    init = time.perf_counter() - t0
    times, promised = [], 0.0
    for i, product in enumerate(base.eligibility.products["product_id"][:40]):
        for method in ("mass_balance", "allocation"):
            for keep in (False, True):
                req = QuoteRequest(product, method, dt.date(2026, 4, 2) + dt.timedelta(days=(37 * i) % 360), keep=keep)
                t0 = time.perf_counter()
                promised += q.quote(req).gx_tonnage_t
                times.append(time.perf_counter() - t0)
    times.sort()
    name = a.book + (f" (supply × {a.supply:g})" if a.supply else "")
    row = (f"| {name} | {len(base.orders):,} | {len(times)} | {1000 * statistics.median(times):.1f} | "
           f"{1000 * times[int(0.95 * len(times))]:.1f} | {1000 * times[-1]:.1f} | {1000 * init:.1f} | {promised:,.0f} |")
    header = ("| book | orders | quotes | median ms | p95 ms | max ms | Quoter() ms | tonnes promised (sum) |\n"
              "|---|---|---|---|---|---|---|---|")
    emit("Quotes", header, [row], a.append)


if __name__ == "__main__":
    main()
