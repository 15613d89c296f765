"""Benchmark harness: generate sizes, run ``gxopt.run`` end to end, print time per phase and peak memory.

Usage: ``python benchmarks/run.py --sizes 1000 10000``. Each size runs in a fresh subprocess so the
peak-memory figure (ru_maxrss) belongs to that size alone. Results are printed as a markdown table
row to paste into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one(size: int, seed: int) -> dict[str, object]:
    """Generate and run one size in this process; return its measurements."""
    sys.path.insert(0, str(HERE))
    from generate import generate

    import gxopt

    with tempfile.TemporaryDirectory() as tmp:
        scen = generate(Path(tmp) / "data", orders=size, seed=seed)
        t0 = time.perf_counter()
        r = gxopt.run(scen, out=Path(tmp) / "out")
        wall = time.perf_counter() - t0
    return {"orders": size, "wall_s": round(wall, 3),
            "phases_s": {k: round(v, 3) for k, v in r.summary["timings_s"].items()},
            "arcs": r.summary["lp"]["variables"], "objective": r.summary["objective_value"],
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    """Run every requested size in its own subprocess and print a table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.seed)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("| orders | arcs | wall s | read+validate | eligibility | build | solve | results+verify | write | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in a.sizes:
        res = subprocess.run([sys.executable, __file__, "--one", str(size), "--seed", str(a.seed)],
                             capture_output=True, text=True, check=True)
        m = json.loads(res.stdout.strip().splitlines()[-1])
        p = m["phases_s"]
        print(f"| {m['orders']:,} | {m['arcs']:,} | {m['wall_s']} | {p['read_validate']} | {p['eligibility']} | "
              f"{p['build']} | {p['solve']} | {p['results_verify']} | {p.get('write', 0)} | {m['peak_mb']} |")


if __name__ == "__main__":
    main()
