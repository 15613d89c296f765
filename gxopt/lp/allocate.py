"""One call from eligibility to a solved allocation: network, program, then the array path or the pyomo reference."""

from __future__ import annotations

from gxopt.eligibility import Eligibility
from gxopt.lp.network import Built, build
from gxopt.lp.program import program
from gxopt.lp.result import SolveResult


def allocate(elig: Eligibility, *, reference: bool = False, time_limit: float = 600.0,
             ) -> tuple[Built, SolveResult]:
    """Solve the allocation LP of ``elig`` (``reference=True``: the pyomo model of the same program)."""
    built = build(elig)
    prog = program(built.network)
    if reference:
        from gxopt.lp.model import build_model  # pyomo only when asked for
        from gxopt.lp.solve import solve

        return built, solve(build_model(prog), prog, time_limit=time_limit)
    from gxopt.lp.highs import solve_program

    return built, solve_program(prog, time_limit=time_limit)
