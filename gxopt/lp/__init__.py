"""The LP layer: the only part of gxopt that imports pyomo or highspy."""

from gxopt.lp.model import build_model
from gxopt.lp.solve import SolveResult, solve

__all__ = ["SolveResult", "build_model", "solve"]
