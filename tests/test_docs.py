"""The documented file contract is the schema: the tables in docs/file-contract.md must match gxopt/schema.py."""

from __future__ import annotations

import ast

import pytest

from gxopt import schema
from tests.conftest import REPO


@pytest.mark.parametrize("table", schema.MODEL_TABLES + schema.SCENARIO_TABLES, ids=lambda t: t.file)
def test_file_contract_matches_schema(table: schema.Table) -> None:
    doc = (REPO / "docs" / "file-contract.md").read_text(encoding="utf-8")
    assert schema.markdown(table) in doc, f"regenerate the {table.file} table of docs/file-contract.md"


def test_readme_test_command_is_ci_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in (REPO / "README.md").read_text()


def _table_names(doc: str, heading: str) -> list[str]:
    """Backquoted names (families) or plain names (stages) in the first column of the table under ``heading``."""
    part = doc[doc.index(heading):]
    part = part[:part.index("\n## ", 3)] if "\n## " in part[3:] else part
    rows = [ln for ln in part.splitlines() if ln.startswith("| ") and not ln.startswith("| family")
            and not ln.startswith("| stage")]
    return [ln.split("|")[1].strip().strip("`") for ln in rows]


def test_formulation_lists_exactly_the_programs_families_and_stages() -> None:
    """docs/formulation.md is checked against the blocks of gxopt/lp/program.py, in order."""
    import numpy as np

    from gxopt.lp.program import FAMILIES, STAGES, Network, program

    doc = (REPO / "docs" / "formulation.md").read_text(encoding="utf-8")
    assert _table_names(doc, "## Variables and constraints") == [
        "reps", "order_cap", "pool_account", "class_balance", "allocation_conservation", "objective_fix"]
    assert set(_table_names(doc, "## Variables and constraints")) == set(FAMILIES)
    assert _table_names(doc, "## Objective") == [name for name, _, _ in STAGES]
    # the program produces exactly these blocks, in this order, on any network
    net = Network(np.array(["P"], dtype=object), np.ones(1), np.ones(1), 1, np.zeros(1, np.int64),
                  np.zeros(1, np.int64), np.ones(1, bool), np.ones(1), np.ones(1), np.zeros(1, np.int64),
                  np.zeros(1), np.ones(1), np.ones(1), np.zeros(1))
    prog = program(net)
    assert list(prog.columns) == ["reps", "served"]
    assert list(prog.rows) == ["pool_account", "class_balance", "allocation_conservation"]
    for fam in FAMILIES.values():  # every family's docstring carries its maths or its stages
        assert fam.__doc__ and (".. math::" in fam.__doc__ or ":math:" in fam.__doc__)


def _defined(tree: ast.AST) -> dict[str, list[ast.AST]]:
    """Every function, class and assigned name anywhere in ``tree``, by name."""
    out: dict[str, list[ast.AST]] = {}
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.setdefault(n.name, []).append(n)
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(n)
    return out


def test_every_code_reference_in_the_docs_resolves() -> None:
    """Each `path::name` (function, class or Class.method) named in docs/*.md exists, so the compliance matrix
    cannot point at code that moved."""
    import re

    missing = []
    index: dict[str, dict[str, list[ast.AST]]] = {}
    for md in sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]:
        for path, name in set(re.findall(r"((?:gxopt|tests|benchmarks)/[\w/]+\.py)::([\w.]+)", md.read_text("utf-8"))):
            file = REPO / path
            if not file.exists():
                missing.append(f"{md.name}: {path}")
                continue
            if path not in index:
                index[path] = _defined(ast.parse(file.read_text("utf-8")))
            head, *rest = name.split(".")
            nodes = index[path].get(head, [])
            for part in rest:
                nodes = [d for n in nodes for d in _defined(n).get(part, [])]
            if not nodes:
                missing.append(f"{md.name}: {path}::{name}")
    assert not missing, "\n".join(sorted(set(missing)))
