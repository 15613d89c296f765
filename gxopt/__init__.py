"""gxopt: allocate a steelmaker's verified emission reductions (REPs) to orders under the JISF GX Steel
Guidelines v4.1 - GX Mass Balance (ch. 7) and GX Allocation (ch. 8) in one LP.

Public API::

    import gxopt
    result = gxopt.run("scenarios/jisf-case-study", out="out/case")
    result.orders            # pandas DataFrame
    scenario = gxopt.load("scenarios/jisf-case-study")   # validated inputs, raises InputError
"""

__version__ = "0.1.0"

from gxopt.errors import GxoptError, InputError, Issue, SolverError, VerificationError  # noqa: E402
from gxopt.pipeline import RunResult, load, run, validate  # noqa: E402

__all__ = ["GxoptError", "InputError", "Issue", "RunResult", "SolverError", "VerificationError", "__version__",
           "load", "run", "validate"]
