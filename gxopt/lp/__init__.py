"""The LP layer: the only part of gxopt that imports pyomo or highspy.

- :mod:`gxopt.lp.highs` — the fast path: the LP as arrays, solved with highspy directly;
- :mod:`gxopt.lp.model` and :mod:`gxopt.lp.solve` — the readable pyomo statement of the same LP (reference);
- :mod:`gxopt.lp.names` — the stable names of every family and stage; :mod:`gxopt.lp.result` — what a solve returns.

Submodules are imported where used, so the fast path never loads pyomo.
"""
