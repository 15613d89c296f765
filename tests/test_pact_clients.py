"""PACT clients (issue #13): one set of client credentials per customer, the secret stored only as a salted argon2
hash, on SQLite and PostgreSQL; the ledger of revision 0004 gains the table in place."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gxopt.cli import app
from gxopt.ledger import actions, clients
from gxopt.ledger.db import LedgerError, connect, writer
from gxopt.ledger.tables import pact_clients
from tests.ledger_support import db_url  # noqa: F401  (fixture)

runner = CliRunner()


def test_add_authenticate_list_disable(db_url: str) -> None:  # noqa: F811
    out = runner.invoke(app, ["clients", "add", "Hikari Denki", "--db", db_url, "--json"])
    assert out.exit_code == 0, out.output
    made = json.loads(out.stdout)
    assert set(made) == {"client_id", "client_secret"}
    assert "no certificate of customer 'Hikari Denki'" in " ".join(out.stderr.split())  # an empty ledger: warned
    plain = runner.invoke(app, ["clients", "add", "Aozora Automobile Co.", "--db", db_url])
    assert plain.exit_code == 0 and "Aozora Automobile Co." in plain.stdout
    with connect(db_url).connect() as c:
        me = clients.authenticate(c, made["client_id"], made["client_secret"])
        assert me is not None and (me.customer, me.disabled) == ("Hikari Denki", False)
        assert clients.authenticate(c, made["client_id"], made["client_secret"] + "x") is None
        assert clients.authenticate(c, "gxc_" + "0" * 32, made["client_secret"]) is None
        for cid, secret in (("", ""), ("x" * 10_000, "y"), (made["client_id"], "z" * 10_000), (None, None),
                            (made["client_id"], 42), ("gxc_\x00", made["client_secret"])):
            assert clients.authenticate(c, cid, secret) is None  # type: ignore[arg-type]
        assert [a["action"] for a in actions.listing(c)] == ["add PACT client"] * 2
    listed = json.loads(runner.invoke(app, ["clients", "list", "--json", "--db", db_url]).stdout)
    assert [(x["customer"], x["disabled"]) for x in listed] == [("Aozora Automobile Co.", False),
                                                                ("Hikari Denki", False)]
    assert not any("secret" in k for x in listed for k in x)
    assert runner.invoke(app, ["clients", "disable", made["client_id"], "--db", db_url]).exit_code == 0
    with connect(db_url).connect() as c:
        assert clients.authenticate(c, made["client_id"], made["client_secret"]) is None  # at once
        assert [x.disabled for x in clients.listing(c) if x.client_id == made["client_id"]] == [True]


def test_secrets_are_stored_only_as_salted_hashes(db_url: str) -> None:  # noqa: F811
    with writer(connect(db_url), "test") as c:
        a, secret_a = clients.add(c, "Ginga Machinery", created_by="op-1")
        _, secret_b = clients.add(c, "Ginga Machinery")
    with connect(db_url).connect() as c:
        stored = [dict(r) for r in c.execute(sa.select(pact_clients).order_by(pact_clients.c.created_at)).mappings()]
    text = json.dumps(stored)
    assert secret_a not in text and secret_b not in text
    assert all(r["secret_hash"].startswith("$argon2") for r in stored)
    assert stored[0]["secret_hash"] != stored[1]["secret_hash"]
    assert (stored[0]["client_id"], stored[0]["created_by"]) == (a.client_id, "op-1")


def test_bad_input_is_refused_with_exit_2(db_url: str) -> None:  # noqa: F811
    for name, words in (("", "give the customer"), (" Ginga", "no leading or trailing blanks"),
                        ("x" * 201, "at most 200 characters"), ("a\tb", "no control characters")):
        out = runner.invoke(app, ["clients", "add", name, "--db", db_url])
        assert out.exit_code == 2 and words in " ".join(out.output.split()), (name, out.output)
        assert "Traceback" not in out.output
    gone = runner.invoke(app, ["clients", "disable", "gxc_nobody", "--db", db_url])
    assert gone.exit_code == 2 and "no PACT client gxc_nobody" in gone.output
    with writer(connect(db_url), "test") as c, pytest.raises(LedgerError, match="customer name"):
        clients.add(c, "   ")
    with connect(db_url).connect() as c:
        assert clients.listing(c) == []


def test_a_0004_ledger_gains_the_clients_table_in_place(db_url: str) -> None:  # noqa: F811
    from alembic import command
    from alembic.script import ScriptDirectory

    from gxopt.ledger import users
    from gxopt.ledger.db import _alembic_config

    engine = sa.create_engine(db_url)
    with engine.begin() as c:
        command.upgrade(_alembic_config(c), "0004")
    with engine.begin() as c:
        assert "pact_clients" not in sa.inspect(c).get_table_names()
        _, token = users.add(c, "ana", "operator")
    engine.dispose()
    with connect(db_url).connect() as c:  # connect() migrates to the newest revision
        head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]
        assert head >= "0005" and c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head
        assert {col["name"] for col in sa.inspect(c).get_columns("pact_clients")} == {
            "client_id", "customer", "secret_hash", "created_at", "created_by", "disabled", "callback_url"}
        assert users.by_token(c, token).name == "ana"  # what was there stays
    with writer(connect(db_url), "test") as c:
        client, secret = clients.add(c, "Hikari Denki")
    with connect(db_url).connect() as c:
        assert clients.authenticate(c, client.client_id, secret) == client


@pytest.mark.parametrize("url", ["ftp://host.example", "https://", "pact.buyer.example", "https://u:p@host.example",
                                 "https://host.example/?q=1", "https://host.example:99999", "https://h.example/" + "x" * 500])
def test_a_callback_url_must_be_a_plain_http_url(db_url: str, url: str) -> None:  # noqa: F811
    out = runner.invoke(app, ["clients", "add", "Hikari Denki", "--db", db_url, "--callback-url", url])
    assert out.exit_code == 2 and "callback URL" in out.output and "Traceback" not in out.output


def test_a_registered_callback_is_kept_and_compared_by_origin(db_url: str) -> None:  # noqa: F811
    out = runner.invoke(app, ["clients", "add", "Hikari Denki", "--db", db_url, "--json",
                              "--callback-url", "https://PACT.hikari.example/pact"])
    assert out.exit_code == 0, out.output
    made = json.loads(out.stdout)
    with connect(db_url).connect() as c:
        got = clients.get(c, made["client_id"])
    assert got is not None and got.callback_url == "https://PACT.hikari.example/pact"
    assert clients.origin(got.callback_url) == clients.origin("https://pact.hikari.example:443/3/events")
    assert clients.origin(got.callback_url) != clients.origin("http://pact.hikari.example/3/events")
