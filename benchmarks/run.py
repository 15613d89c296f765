"""Benchmark harness: generated order books of registered sizes, ``gxopt run`` end to end, side by side
with the readable per-order pyomo model and the pure I/O floor.

Usage::

    python benchmarks/run.py                      # every registered size
    python benchmarks/run.py --sizes 10k 100k     # some
    python benchmarks/run.py --append             # also append the rows to benchmarks/README.md

Each measurement runs in a fresh subprocess, so peak memory (ru_maxrss) belongs to it alone. Nothing here
is a test: timings are never asserted (tests/test_benchmark_smoke.py only keeps the harness working).
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

# name: (orders, products, projects (2 pools each), distinct premiums (0: every line its own), reference model
# too?, supply: scale of every project's output)
SIZES = {
    "10k": (10_000, 20, 10, 12, True, 1.0),
    "100k": (100_000, 100, 25, 12, False, 1.0),
    "1m": (1_000_000, 300, 50, 12, False, 1.0),
    "10k-unique-premiums": (10_000, 20, 10, 0, True, 1.0),
    "100k-unique-premiums": (100_000, 100, 25, 0, False, 1.0),
    "1m-unique-premiums": (1_000_000, 300, 50, 0, False, 1.0),
    "1m-unique-premiums-ample": (1_000_000, 300, 50, 0, False, 300.0),
}


def measure(kind: str, name: str, seed: int) -> dict[str, object]:
    """One measurement in this process: ``gxopt`` (fast path), ``reference`` (pyomo per order) or ``io``."""
    sys.path.insert(0, str(HERE))
    from generate import generate

    orders, products, projects, premiums, _, supply = SIZES[name]
    with tempfile.TemporaryDirectory() as tmp:
        scen = generate(Path(tmp) / "data", orders=orders, products=products, projects=projects, seed=seed,
                        premiums=premiums, supply=supply)
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        if kind == "io":
            import pandas as pd

            import gxopt

            r = gxopt.run(scen)  # only to know the size of the result tables (not timed)
            t0 = time.perf_counter()
            for f in list(scen.glob("*.csv")) + list((scen.parent / "model").glob("*.csv")):
                pd.read_csv(f)
            out.mkdir()
            for table, frame in r.results.tables().items():
                frame.to_csv(out / f"{table}.csv", index=False)
            wall = time.perf_counter() - t0
            row: dict[str, object] = {"phases_s": {}}
        else:
            import gxopt

            r = gxopt.run(scen, out=out, reference=(kind == "reference"))
            wall = time.perf_counter() - t0
            row = {"phases_s": {k: round(v, 3) for k, v in r.summary["timings_s"].items()},
                   "lp_columns": r.summary["lp"]["variables"], "classes": r.summary["lp"]["classes"],
                   "pruned": r.summary["lp"].get("pruned_orders", 0),
                   "objective": round(r.summary["objective_value"], 2)}
    row |= {"size": name, "kind": kind, "orders": orders, "products": products, "pools": 2 * projects,
            "wall_s": round(wall, 3),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    return row


def _row(m: dict[str, object], floor: float | None = None) -> str:
    p = m["phases_s"]  # type: ignore[assignment]
    ratio = f"{m['wall_s'] / floor:.2f}" if floor and m["kind"] != "io" else "-"
    ph = " / ".join(f"{p.get(k, 0):.2f}" for k in ("read_validate", "eligibility", "solve", "results_verify",
                                                    "write")) if p else "-"
    return (f"| {m['size']} | {m['kind']} | {m['orders']:,} | {m['products']} | {m['pools']} | "
            f"{m.get('classes', '-')} | {m.get('lp_columns', '-')} | {m.get('pruned', '-')} | {m['wall_s']:.2f} | "
            f"{ratio} | {ph} | {m['peak_mb']:.0f} | {m.get('objective', '-')} |")


HEADER = ("| size | path | orders | products | pools | LP classes | LP columns | orders pruned | wall s | × I/O floor | "
          "read+validate / eligibility / solve / results+verify / write s | peak MB | objective |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    """Run every requested size and path in its own subprocess and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--append", action="store_true", help="append the rows to benchmarks/README.md")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(measure(a.one[0], a.one[1], a.seed)))
        return
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
               f"{dt.date.today().isoformat()}")
    lines = []
    print(f"machine: {machine}\n{HEADER}")
    for size in a.sizes:
        kinds = ["io", "gxopt"] + (["reference"] if SIZES[size][4] else [])
        floor = None
        for kind in kinds:
            res = subprocess.run([sys.executable, __file__, "--one", kind, size, "--seed", str(a.seed)],
                                 capture_output=True, text=True, check=True)
            m = json.loads(res.stdout.strip().splitlines()[-1])
            floor = m["wall_s"] if kind == "io" else floor
            line = _row(m, floor)
            lines.append(line)
            print(line, flush=True)
    if a.append:
        with (HERE / "README.md").open("a", encoding="utf-8") as fh:
            fh.write(f"\nRun of {machine}:\n\n{HEADER}\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
