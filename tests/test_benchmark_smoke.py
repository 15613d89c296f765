"""Benchmark generator and harness smoke run (keeps benchmarks/ from rotting; no timing is asserted).

It is also the regression test for the pool grouping bug the independent verify caught at 1,000
orders: with unsorted arc keys, rows were attached to the wrong pool.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import gxopt
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from generate import generate  # noqa: E402


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_book_solves_and_verifies(tmp_path: Path, seed: int) -> None:
    scen = generate(tmp_path / "data", orders=400, products=12, projects=6, seed=seed)
    r = gxopt.run(scen, out=tmp_path / "out")  # raises VerificationError on any broken constraint
    assert r.summary["lp"]["variables"] > 0 and len(r.allocations) > 50
    p = r.pools
    assert (p["used_t"] <= p["reps_t"] + 1e-6).all()
    assert (tmp_path / "out" / "summary.json").is_file()
