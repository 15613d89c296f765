"""The LP layer: the only part of gxopt that imports pyomo or highspy.

- :mod:`gxopt.lp.program` — the one definition of the LP: column families, row blocks, stages (maths and
  clause in each docstring); :mod:`gxopt.lp.network` — eligibility tables to positions, exact pruning;
- :mod:`gxopt.lp.highs` — the fast path: a program passed to HiGHS as arrays, stage by stage;
- :mod:`gxopt.lp.model` and :mod:`gxopt.lp.solve` — the same program written as a pyomo model (reference);
- :mod:`gxopt.lp.face` — the optimal-face restriction between stages; :mod:`gxopt.lp.result` — what a
  solve returns, keyed by family and block name; :mod:`gxopt.lp.allocate` — one call for a run.

Submodules are imported where used, so the fast path never loads pyomo.
"""
