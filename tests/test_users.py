"""Users of the service (issue #12): roles, API tokens and passwords stored only as salted argon2 hashes,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gxopt.cli import app
from gxopt.ledger import users
from gxopt.ledger.db import LedgerError, connect, writer
from gxopt.ledger.tables import users as users_table
from tests.ledger_support import db_url  # noqa: F401  (fixture)

runner = CliRunner()


def test_add_list_disable_and_sign_in(db_url: str) -> None:  # noqa: F811
    out = runner.invoke(app, ["users", "add", "ana", "--role", "planner", "--db", db_url, "--json"])
    assert out.exit_code == 0, out.output
    made = json.loads(out.stdout)
    assert made["name"] == "ana" and made["role"] == "planner" and made["token"].startswith("gxt_")
    out = runner.invoke(app, ["users", "add", "ben", "--role", "auditor", "--password-stdin", "--db", db_url],
                        input="correct horse battery staple\n")
    assert out.exit_code == 0, out.output
    with connect(db_url).connect() as c:
        assert users.by_token(c, made["token"]).name == "ana"
        assert users.by_token(c, made["token"][:-1] + ("A" if made["token"][-1] != "A" else "B")) is None
        assert users.by_token(c, "not a token") is None
        assert users.by_password(c, "ben", "correct horse battery staple").role == "auditor"
        assert users.by_password(c, "ben", "wrong horse battery staple") is None
        assert users.by_password(c, "nobody", "correct horse battery staple") is None
        assert users.by_password(c, "ana", "anything at all") is None  # no password: no login page
    listed = json.loads(runner.invoke(app, ["users", "list", "--json", "--db", db_url]).stdout)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [("ana", "planner", False),
                                                                      ("ben", "auditor", False)]
    assert runner.invoke(app, ["users", "disable", "ana", "--db", db_url]).exit_code == 0
    with connect(db_url).connect() as c:
        assert users.by_token(c, made["token"]) is None  # disabled: the token stops working at once


def test_secrets_are_stored_only_as_salted_hashes(db_url: str) -> None:  # noqa: F811
    with writer(connect(db_url), "test") as c:
        _, token_a = users.add(c, "a1", "operator", "same password 123")
        _, token_b = users.add(c, "b1", "operator", "same password 123")
    secret = users.TOKEN.fullmatch(token_a).group(2)  # type: ignore[union-attr]  (the secret may hold "_" itself)
    with connect(db_url).connect() as c:
        rows = [dict(r) for r in c.execute(sa.select(users_table)).mappings()]
    text = json.dumps(rows)
    assert secret not in text and "same password 123" not in text
    a, b = rows
    assert a["password_hash"].startswith("$argon2") and a["token_hash"].startswith("$argon2")
    assert a["password_hash"] != b["password_hash"]  # salted: the same password hashes differently


def test_bad_requests_are_refused_with_every_problem(db_url: str) -> None:  # noqa: F811
    out = runner.invoke(app, ["users", "add", "x y", "--role", "boss", "--db", db_url, "--password-stdin"],
                        input="short\n")
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "user name 'x y'" in text and "role 'boss'" in text and "at least 12 characters" in text
    assert runner.invoke(app, ["users", "add", "ana", "--role", "admin", "--db", db_url]).exit_code == 0
    again = runner.invoke(app, ["users", "add", "ana", "--role", "admin", "--db", db_url])
    assert again.exit_code == 2 and "exists already" in again.output
    gone = runner.invoke(app, ["users", "disable", "nobody", "--db", db_url])
    assert gone.exit_code == 2 and "no user nobody" in gone.output
    with writer(connect(db_url), "test") as c, pytest.raises(LedgerError):
        users.add(c, "ok", "superuser")
