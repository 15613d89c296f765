"""What a solve hands back: plain numbers, no solver objects (shared by both LP paths)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SolveResult:
    """What the LP layer hands back: plain numbers, no pyomo objects."""

    reps: np.ndarray
    stage_values: dict[str, float]
    pool_duals: dict[str, float]
    status: str
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)
