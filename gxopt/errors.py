"""Exception hierarchy of gxopt: every failure the user can cause or meet has its own class."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in the inputs, located as precisely as the input allows.

    ``row`` is the 1-based line number in a CSV file (the header is line 1), the Excel row number of a
    sheet (``file`` then ends with ``sheet NAME``), or the record number of a Parquet file (from 1), or None
    for a whole-file or whole-table problem; ``clause`` is the guideline clause the rule comes from.
    """

    file: str
    row: int | None
    column: str | None
    rule: str
    clause: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {row_word(self.file)} {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.rule}"
        if self.value is not None and self.value != "":
            text += f" (got {self.value!r})"
        if self.clause:
            text += f" [JISF {self.clause}]"
        return text


def row_word(label: str) -> str:
    """How a place in the input ``label`` names is called: ``row`` in a sheet (the label ends ``sheet NAME``) or a
    Parquet file (its records), ``line`` in a CSV file."""
    return "row" if " sheet " in label or label.endswith(".parquet") else "line"


class GxoptError(Exception):
    """Base class of all errors raised by gxopt; each class carries its exit code and its headline."""

    exit_code = 1
    headline = "error"


class InputError(GxoptError):
    """The inputs break the file contract or a rule of the guideline; carries every issue found."""

    exit_code = 2

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the inputs"
        super().__init__(head + ":\n" + "\n".join(f"  - {i}" for i in self.issues))


class SolverError(GxoptError):
    """The LP solver did not return a proven optimum (no silent wrong answers)."""

    exit_code = 3
    headline = "solver error"


class VerificationError(GxoptError):
    """The independent check of a solved allocation found a broken constraint."""

    exit_code = 4
    headline = "verification failed (nothing was written; please report this)"

    def __init__(self, violations: list):  # of gxopt.verify.Violation (or text)
        self.violations = list(violations)
        super().__init__(
            f"{len(self.violations)} constraint violation(s) in the result:\n"
            + "\n".join(f"  - {v}" for v in self.violations)
        )


class OutputError(GxoptError):
    """The output folder cannot be written safely."""

    exit_code = 2
