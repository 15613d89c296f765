"""The commands on the ledger: ``gxopt batch``, ``gxopt ledger verify|export|void|balances``,
``gxopt attribute transfer``, ``gxopt users add|list|disable`` and ``gxopt clients add|list|disable`` (registered on
the main app in gxopt/cli.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gxopt.cli_common import EXIT_TAMPER, DbOption, _guarded, err, out

ledger_app = typer.Typer(no_args_is_help=True, help="The ledger: verify, export, void, balances.")
attribute_app = typer.Typer(no_args_is_help=True, help="Downstream attribute certificates (7.5).")
users_app = typer.Typer(no_args_is_help=True, help="People and systems of the service: roles, tokens, passwords.")
clients_app = typer.Typer(no_args_is_help=True, help="Buyers' systems on the PACT host API: one client per customer.")


@_guarded
def batch(
    scenario: Annotated[Path, typer.Argument(help="Scenario folder (holds scenario.yaml).")],
    db: DbOption = "sqlite:///gx.db",
    wait: Annotated[float, typer.Option(help="Seconds to wait for another batch to finish.")] = 60.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Nightly batch: credit verified pools, expire lapsed REPs, allocate open orders, issue certificates.

    All in one transaction: a killed batch leaves the ledger as it was; a rerun issues nothing new.
    """
    from gxopt.ledger.batch import batch as run_batch

    if quiet:
        summary = run_batch(scenario, db, wait=wait)
    else:
        with err.status("gxopt batch") as status:
            summary = run_batch(scenario, db, wait=wait, progress=lambda m: status.update(f"gxopt batch: {m}"))
    if quiet:
        return
    tab = Table(title=f"Batch {summary['batch_id'][:12]} - {summary['scenario']} as of {summary['as_of']}",
                show_header=False, show_edge=False)
    tab.add_column("", style="bold")
    tab.add_column("", justify="right")
    for label, key in (("pools credited", "pools_credited"), ("pools adjusted", "pools_adjusted"),
                       ("REPs expired, t-CO2e", "expired_t"), ("open orders", "open_orders"),
                       ("certificates issued", "certificates_issued"), ("REPs issued, t-CO2e", "reps_issued_t"),
                       ("value", "value")):
        v = summary[key]
        tab.add_row(label, f"{v:,.3f}" if isinstance(v, float) else f"{v:,}")
    if summary["first_certificate"]:
        tab.add_row("certificates", f"{summary['first_certificate']} .. {summary['last_certificate']}")
    tab.add_row("journal head", summary["journal_head"][:16])
    out.print(tab)


@ledger_app.command("verify")
@_guarded
def ledger_verify(db: DbOption) -> None:
    """Re-check the hash chain, balances and certificates; exit 6 naming the first bad entry."""
    from gxopt.ledger.audit import audit
    from gxopt.ledger.db import connect

    with connect(db).connect() as conn:
        problems = audit(conn)
    if problems:
        err.print("[bold red]ledger audit failed:[/]")
        for p_ in problems:
            err.print(f"  - {p_}", markup=False)
        raise typer.Exit(EXIT_TAMPER)
    out.print("[green]ok[/]: hash chain intact, every balance reconciles with the journal, every certificate "
              "matches what was issued")


@ledger_app.command("export")
@_guarded
def ledger_export(db: DbOption, out_dir: Annotated[Path, typer.Option("--out", "-o")]) -> None:
    """Write journal.csv, balances.csv, certificates.csv, certificate_lines.csv for a verifier."""
    from gxopt.ledger.audit import export
    from gxopt.ledger.db import connect

    with connect(db).connect() as conn:
        summary = export(conn, out_dir)
    out.print(f"exported {summary['journal_entries']} journal entries, {summary['pools']} pools, "
              f"{summary['certificates']} certificates to {out_dir}; pools reconcile: {summary['all_pools_reconcile']}")
    if summary["audit_problems"]:
        err.print("[bold red]the ledger audit found problems (see summary.json)[/]")
        raise typer.Exit(EXIT_TAMPER)


@ledger_app.command("void")
@_guarded
def ledger_void(certificate: str, reason: Annotated[str, typer.Option(help="Why it is voided.")], db: DbOption) -> None:
    """Void a certificate: its REPs return to their pools by reverse entries."""
    from gxopt.ledger import certificates as certs
    from gxopt.ledger.db import connect, writer

    with writer(connect(db), f"void {certificate}") as conn:
        grams = certs.void(conn, certificate, reason)
    out.print(f"voided {certificate}: {grams / 1e6:,.6f} t-CO2e returned to their pools")


@ledger_app.command("balances")
@_guarded
def ledger_balances(db: DbOption) -> None:
    """Show every pool's credited, issued, reversed, expired and remaining REPs."""
    import sqlalchemy as sa

    from gxopt.ledger.db import connect
    from gxopt.ledger.tables import pool_balance

    tab = Table(title="Pool balances, t-CO2e", show_edge=False)
    for col in ("pool", "credited", "issued", "reversed", "expired", "remaining"):
        tab.add_column(col, justify="left" if col == "pool" else "right")
    with connect(db).connect() as conn:
        for r in conn.execute(sa.select(pool_balance).order_by(pool_balance.c.pool_id)):
            tab.add_row(r.pool_id, *(f"{v / 1e6:,.3f}" for v in (r.credited_g + r.adjusted_g, r.issued_g,
                                                                 r.reversed_g, r.expired_g, r.remaining_g)))
    out.print(tab)


@attribute_app.command("transfer")
@_guarded
def attribute_transfer(
    certificate: str,
    to: Annotated[str, typer.Option("--to", help="Secondary customer.")],
    reps: Annotated[float, typer.Option("--reps", help="t-CO2e of attributes passed on.")],
    db: DbOption,
    from_transfer: Annotated[str | None, typer.Option(help="Pass on from an earlier transfer (chains).")] = None,
) -> None:
    """Record a customer's attribute certificate for a secondary customer (7.5).

    Only reduction certificates (GX Mass Balance) can pass attributes on; a CFP certificate (GX Allocation)
    is refused with exit 2 (7.5, 8.5), and nothing is written.
    """
    from gxopt.ledger import certificates as certs
    from gxopt.ledger.db import connect, writer

    with writer(connect(db), f"transfer {certificate}") as conn:  # a refusal: exit 2, one plain line (_fail)
        tid = certs.transfer(conn, certificate, to, reps, from_transfer)
    out.print(f"recorded attribute transfer {tid}: {reps:,.6f} t-CO2e to {to}")


@users_app.command("add")
@_guarded
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="planner, operator, auditor or admin.")],
    db: DbOption,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read a login password from stdin.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"name", "role", "token"} as JSON.')] = False,
) -> None:
    """Create a user with a role; print their API token once (only its salted hash is stored)."""
    from gxopt.ledger import users
    from gxopt.ledger.db import connect, writer

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    from gxopt.ledger import actions

    with writer(connect(db), f"add user {name}") as conn:
        user, token = users.add(conn, name, role, password)
        actions.record(conn, "command line", "add user", name, {"role": role, "password": password is not None})
    if as_json:
        print(json.dumps({"name": user.name, "role": user.role, "token": token}))
        return
    out.print(f"user {user.name} ({user.role}) created; API token (shown only now, keep it safe):")
    out.print(token, markup=False, soft_wrap=True)


@users_app.command("list")
@_guarded
def users_list(db: DbOption,
               as_json: Annotated[bool, typer.Option("--json", help="Print the users as JSON.")] = False) -> None:
    """Every user with role, state and creation time (never a secret)."""
    from gxopt.ledger import users
    from gxopt.ledger.db import connect

    with connect(db).connect() as conn:
        found = users.listing(conn)
    _show(found, as_json, "Users", ("name", "role", "state", "created"),
          lambda u: (u.name, u.role, "disabled" if u.disabled else "active", u.created_at))


def _show(found: list[Any], as_json: bool, title: str, columns: tuple[str, ...],
          row: Callable[[Any], tuple[str, ...]]) -> None:
    """Print the dataclasses ``found`` as a JSON list, or as a table of ``columns`` (``row`` of each; cells fold,
    never cut: ids are copied from here)."""
    if as_json:
        print(json.dumps([x.__dict__ for x in found]))
        return
    tab = Table(title=title, show_edge=False)
    for col in columns:
        tab.add_column(col, overflow="fold")
    for x in found:
        tab.add_row(*row(x))
    out.print(tab)


@users_app.command("disable")
@_guarded
def users_disable(name: str, db: DbOption) -> None:
    """Disable a user: their token and password stop working at once."""
    from gxopt.ledger import users
    from gxopt.ledger.db import connect, writer

    from gxopt.ledger import actions

    with writer(connect(db), f"disable user {name}") as conn:
        users.disable(conn, name)
        actions.record(conn, "command line", "disable user", name, {})
    out.print(f"user {name} disabled")


@clients_app.command("add")
@_guarded
def clients_add(
    customer: Annotated[str, typer.Argument(help="The customer as named in the order book (orders.csv 'customer').")],
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"client_id", "client_secret"} as JSON.')] = False,
    callback_url: Annotated[str | None, typer.Option(
        help="The buyer's PACT host: answers to its footprint requests (RequestCreatedEvent) are sent there and "
             "nowhere else; without it the client can list and get footprints but not ask by event.")] = None,
) -> None:
    """Create PACT client credentials for one customer; print the secret once (only its salted hash is stored).

    The client sees only the footprints of that customer's certificates. A customer with no certificate in the
    ledger yet is accepted with a warning (its orders may be certified by a later batch).
    """
    import sqlalchemy as sa

    from gxopt.ledger import actions, clients
    from gxopt.ledger.db import connect, writer
    from gxopt.ledger.tables import certificates

    with writer(connect(db), "add PACT client") as conn:  # the lock holder is 200 characters at most
        client, secret = clients.add(conn, customer, created_by="command line", callback_url=callback_url)
        actions.record(conn, "command line", "add PACT client", client.client_id,
                       {"customer": customer, "callback_url": callback_url})
        certified = conn.execute(sa.select(sa.func.count()).select_from(certificates)
                                 .where(certificates.c.customer == customer)).scalar_one()
    if not certified:
        err.print("[yellow]warning:[/] ", end="")
        err.print(f"the ledger holds no certificate of customer {customer!r} yet; check the spelling against the "
                  "order book (the client sees nothing until one is issued)", markup=False, soft_wrap=True)
    if as_json:
        print(json.dumps({"client_id": client.client_id, "client_secret": secret}))
        return
    out.print(f"PACT client {client.client_id} for {customer} created; client secret (shown only now, keep it safe):",
              markup=False, soft_wrap=True)
    out.print(secret, markup=False, soft_wrap=True)


@clients_app.command("list")
@_guarded
def clients_list(db: DbOption,
                 as_json: Annotated[bool, typer.Option("--json", help="Print the clients as JSON.")] = False) -> None:
    """Every PACT client with its customer, state and creation time (never a secret)."""
    from gxopt.ledger import clients
    from gxopt.ledger.db import connect

    with connect(db).connect() as conn:
        found = clients.listing(conn)
    _show(found, as_json, "PACT clients", ("client id", "customer", "state", "created", "callback URL"),
          lambda c: (c.client_id, c.customer, "disabled" if c.disabled else "active", c.created_at, c.callback_url or ""))


@clients_app.command("disable")
@_guarded
def clients_disable(client_id: str, db: DbOption) -> None:
    """Disable a PACT client: its secret stops working at once."""
    from gxopt.ledger import actions, clients
    from gxopt.ledger.db import connect, writer

    with writer(connect(db), "disable PACT client") as conn:
        clients.disable(conn, client_id)
        actions.record(conn, "command line", "disable PACT client", client_id, {})
    out.print(f"PACT client {client_id} disabled", markup=False)
