"""The documented file contract is the schema: the tables in docs/file-contract.md must match gxopt/schema.py."""

from __future__ import annotations

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
