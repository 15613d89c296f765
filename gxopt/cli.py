"""Command line: ``gxopt run``, ``validate``, ``schema``, ``quote``, ``report``, ``whatif``, ``compare``, ``sweep``;
the ledger's commands are in :mod:`gxopt.ledger_cli`, what they share in :mod:`gxopt.cli_common`.

Exit codes: 0 success; 2 bad input, unsafe output folder or a change the ledger's rules refuse (every
problem listed, no traceback); 3 the solver found no proven optimum; 4 the independent verification
failed (a bug: please report); 5 the ledger is busy (another batch held the lock too long); 6 the
ledger audit found a stored row edited or deleted; 1 any other internal error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gxopt import __version__
from gxopt.cli_common import _fail, _guarded, err, out
from gxopt.errors import InputError, Issue
from gxopt.ledger_cli import attribute_app, batch, clients_app, ledger_app, users_app

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="gxopt: allocate verified emission reductions (REPs) to orders under the JISF GX Steel "
                       "Guidelines v4.1 (GX Mass Balance and GX Allocation).")
app.add_typer(ledger_app, name="ledger")
app.add_typer(attribute_app, name="attribute")
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario folder (holds scenario.yaml).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Result folder to write.")] = Path("out"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on screen.")] = False,
    reference: Annotated[bool, typer.Option(help="Solve the readable pyomo model, one row per order (slow).")] = False,
    fmt: Annotated[str, typer.Option("--format", help="Result tables as csv (default), parquet, or xlsx (one "
                                     "results.xlsx workbook for people).")] = "csv",
) -> None:
    """Validate, allocate, verify and write the results of SCENARIO."""
    from gxopt.pipeline import run as run_pipeline
    from gxopt.resultdir import RESULT_FORMATS

    if fmt not in RESULT_FORMATS:
        raise _fail(InputError([Issue("--format", None, None, "must be one of " + ", ".join(RESULT_FORMATS), value=fmt)]))

    try:
        if quiet:
            result = run_pipeline(scenario, out=out_dir, reference=reference, fmt=fmt)
        else:
            with err.status("gxopt") as status:
                result = run_pipeline(scenario, out=out_dir, progress=lambda m: status.update(f"gxopt: {m}"),
                                      reference=reference, fmt=fmt)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) or os.environ.get("GXOPT_DEBUG"):
            raise
        raise _fail(exc) from None
    if not quiet:
        _print_summary(result.summary, result.results.orders, result.results.pools, out_dir)


def _print_summary(summary: dict, orders, pools, out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    t = summary["totals"]
    out.print(f"[bold]{summary['scenario']}[/] - {summary['organization']} - as of {summary['as_of']}"
              + ("  [yellow](what-if: unverified REPs allowed, nothing certifiable)[/]" if summary["what_if"] else ""))
    tab = Table(title="Orders by method", show_edge=False)
    for col in ("method", "orders", "served", "REPs t-CO2e", "GX tonnage t", "value"):
        tab.add_column(col, justify="right" if col != "method" else "left")
    for m, d in summary["by_method"].items():
        tab.add_row(m, f"{d['orders']:,}", f"{d['served']:,}", f"{d['reps_t']:,.1f}", f"{d['gx_tonnage_t']:,.1f}",
                    f"{d['value']:,.0f}")
    out.print(tab)
    tab = Table(title="Pools (project x calculation period)", show_edge=False)
    for col in ("pool", "REPs", "used", "remaining", "expires", "shadow price", "note"):
        tab.add_column(col, justify="left" if col in ("pool", "note", "expires") else "right",
                       no_wrap=col != "note")
    for r in pools.itertuples():
        note = (r.reason or "").split(":")[0].split(" (")[0]
        tab.add_row(r.pool_id, f"{r.reps_t:,.0f}", f"{r.used_t:,.0f}", f"{abs(r.remaining_t) if abs(r.remaining_t) < 0.05 else r.remaining_t:,.0f}",
                    str(r.expires.date()), f"{r.shadow_price:,.2f}", note)
    out.print(tab)
    status = ", ".join(f"{k} {v}" for k, v in t["orders_by_status"].items())
    out.print(f"orders: {status}; REPs used {t['used_run_t']:,.1f} of {t['usable_available_t']:,.1f} usable t-CO2e; "
              f"value {t['value']:,.0f}")
    c = summary["claims"]
    out.print(f"organization emissions (General CFPs x production) {c['emissions_general_t']:,.0f} t-CO2e; "
              f"REPs reflected in them {c['reps_in_cfps_t']:,.0f}, verified REPs not in any CFP "
              f"{c['reps_not_in_cfps_t']:,.0f}: actual {c['actual_emissions_t']:,.0f}")
    ok = c["claims_margin_t"] >= -1e-6 * max(1.0, abs(c["actual_emissions_t"]))
    out.print(f"buyers may claim {c['claims_t']:,.0f} t-CO2e in total, both methods (GX orders at their claimed CFP, "
              f"the rest at the basis, less {c['reps_claimed_before_t']:,.0f} claimed earlier): "
              + (f"[green]never below actual[/] (+{max(c['claims_margin_t'], 0.0):,.0f}; 7.3.3, 8.1)" if ok
                 else f"[red]{-c['claims_margin_t']:,.0f} below actual[/]"))
    out.print(f"verified: every constraint re-checked independently; results in [bold]{out_dir}[/]")


@app.command()
@_guarded
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario folder (holds scenario.yaml).")],
) -> None:
    """Check SCENARIO and its plant model against the file contract and the guideline's rules."""
    from gxopt.pipeline import validate as validate_scenario

    s = validate_scenario(scenario)
    out.print(f"[green]ok[/]: {s.name}: {len(s.model.nodes)} nodes, {len(s.model.edges)} edges, "
              f"{len(s.model.products)} products, {len(s.projects)} projects, {len(s.periods)} periods, "
              f"{len(s.orders)} orders, {len(s.account)} account rows")


@app.command()
def schema() -> None:
    """Print the file contract (every input table, column, unit and rule) as markdown."""
    from gxopt import schema as sch

    for table in sch.MODEL_TABLES + sch.SCENARIO_TABLES:
        out.print(sch.markdown(table), markup=False)


@app.command()
def version() -> None:
    """Print the versions of gxopt and its solver stack."""
    from importlib.metadata import version as v

    import highspy  # noqa: F401  (only to report the version)
    import networkx
    import pandas
    import pyomo.version

    out.print(f"gxopt {__version__}; pyomo {pyomo.version.version}; highspy {v('highspy')}; pandas "
              f"{pandas.__version__}; networkx {networkx.__version__}; python {sys.version.split()[0]}")


@app.command()
@_guarded
def quote(
    scenario: Annotated[Path, typer.Argument(help="Scenario folder: its orders are the booked order book.")],
    product: Annotated[str, typer.Option(help="Product id.")],
    delivery: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="Delivery date YYYY-MM-DD.")],
    method: Annotated[str, typer.Option(help="mass_balance or allocation.")] = "mass_balance",
    alpha: Annotated[float | None, typer.Option(help="Allocation: GX value alpha (default 1).")] = None,
    target_cfp: Annotated[float | None, typer.Option(help="Allocation: the allocated CFP wanted, t-CO2e/t.")] = None,
    reps_per_t: Annotated[float | None, typer.Option(help="REPs per tonne wanted, t-CO2e/t.")] = None,
    customer: Annotated[str | None, typer.Option(help="Customer (for the record).")] = None,
    gas: Annotated[str | None, typer.Option(help="Only REPs of this gas type: CO2 or GHG.")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Booked orders keep their exact pool lines.")] = False,
    db: Annotated[str | None, typer.Option(help="Quote against the ledger: issued certificates are fixed.")] = None,
    hold: Annotated[int | None, typer.Option(help="Hold the quoted REPs for this many days (needs --db).")] = None,
    tonnage: Annotated[float | None, typer.Option(help="With --hold: hold only this many tonnes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """How many tonnes of GX steel can still be promised, the pools it would draw, and why not more."""
    import json

    from gxopt.quote import QuoteRequest

    req = QuoteRequest(product, method, delivery.date(), customer, alpha, target_cfp, reps_per_t, gas, keep)
    if hold is not None and not db:
        raise InputError([Issue("quote", None, "hold", "--hold needs --db: a hold is kept in the ledger")])
    try:
        q, hold_id = _quote(scenario, req, db, hold, tonnage)
    except InputError as exc:  # the quote names its fields as the API does; here they are flags
        raise InputError([dataclasses.replace(i, column="--" + i.column.replace("_", "-"))
                          if i.file == "quote" and i.column else i for i in exc.issues]) from None
    if as_json:
        out.print_json(json.dumps(q.to_dict() | ({"hold_id": hold_id} if hold_id else {})))
        return
    head = (f"[bold]{q.gx_tonnage_t:,.1f} t[/] of {product} ({method}{', alpha %.3f' % q.alpha if q.alpha else ''}"
            f"{', allocated CFP %.3f' % q.allocated_cfp if q.allocated_cfp is not None else ''}) can be promised "
            f"for {delivery.date()}: {q.reps_t:,.1f} t-CO2e at {q.reps_per_t:.3f} t-CO2e/t ({q.mode})")
    out.print(head)
    for w in q.warnings:
        out.print(f"[bold red]warning:[/] {w}")
    if q.pools:
        tab = Table(show_edge=False)
        for col in ("pool", "t-CO2e", "expires", "same site", "shadow price t/t-CO2e"):
            tab.add_column(col, justify="right" if col != "pool" else "left")
        for p_ in q.pools:
            tab.add_row(p_["pool_id"], f"{p_['reps_t']:,.1f}", p_["expires"], "yes" if p_["same_site"] else "no",
                        f"{q.shadow_prices.get(p_['pool_id'], 0.0):,.3f}")
        out.print(tab)
    out.print("[bold]why not more:[/]")
    for b in q.binding:
        out.print(f"  - {b}", markup=False, soft_wrap=True)
    if hold_id:
        out.print(f"[green]held[/] as {hold_id} for {hold} days: an order with hold_id {hold_id} gets these REPs")


def _quote(scenario: Path, req, db: str | None, hold: int | None, tonnage: float | None):  # type: ignore[no-untyped-def]
    """Quote against the scenario (or the ledger); with ``hold``, reserve it in the same locked transaction."""
    from gxopt.pipeline import load
    from gxopt.pipeline import run as run_pipeline
    from gxopt.quote import Quoter

    s = load(scenario)
    if not db:
        return Quoter(run_pipeline(s)).quote(req), None
    from gxopt.ledger import holds
    from gxopt.ledger.batch import open_book
    from gxopt.ledger.db import connect, writer
    from gxopt.reps import compute_pools
    from gxopt.settings import organization_code

    engine = connect(db)
    if hold is None:
        with engine.connect() as conn:
            return Quoter(run_pipeline(open_book(conn, s, compute_pools(s))[0])).quote(req), None
    with writer(engine, f"quote hold {req.product_id}") as conn:
        holds.lapse(conn)
        q = Quoter(run_pipeline(open_book(conn, s, compute_pools(s))[0])).quote(req)
        return q, holds.place(conn, q, req, hold, organization_code(s.model.meta), tonnage)


app.command()(batch)


@app.command()
@_guarded
def serve(
    scenario: Annotated[Path, typer.Argument(help="Scenario folder whose open orders the service quotes against.")],
    db: Annotated[str, typer.Option("--db", help="Ledger database URL (SQLite or PostgreSQL).")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each keeps its own solved book).")] = 1,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate (chain): serve HTTPS; the "
                                                  "PACT endpoints answer only over HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """The planners' service: web pages and JSON API (OpenAPI at /docs) over the scenario's book and the ledger;
    with --tls-cert/--tls-key also the PACT host API for customers' systems (/auth/token, /3/footprints, ...)."""
    import uvicorn

    from gxopt.service.app import ENV_DB, ENV_SCENARIO, ENV_WARM, create_app

    if (tls_cert is None) != (tls_key is None):
        raise InputError([Issue("--tls-cert/--tls-key", None, None, "give both the certificate and its key")])
    for f in (tls_cert, tls_key):
        if f is not None and not f.is_file():
            raise InputError([Issue(str(f), None, None, "file not found")])
    tls = {"ssl_certfile": str(tls_cert), "ssl_keyfile": str(tls_key)} if tls_cert and tls_key else {}
    if workers > 1:  # uvicorn starts each worker from the import string; they meet in the ledger
        os.environ[ENV_SCENARIO], os.environ[ENV_DB] = str(Path(scenario).resolve()), db
        os.environ[ENV_WARM] = "1" if tls else "0"
        uvicorn.run("gxopt.service.app:from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="info", **tls)
    else:
        uvicorn.run(create_app(scenario, db, warm_pact=bool(tls)), host=host, port=port, log_level="info", **tls)


@app.command()
@_guarded
def report(
    result_dir: Annotated[Path, typer.Argument(help="A result folder written by gxopt run.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Report folder to write.")],
    db: Annotated[str | None, typer.Option("--db", help="Ledger URL: issued certificates instead of drafts.")] = None,
    pact_base_url: Annotated[str | None, typer.Option(
        "--pact-base-url", help="URL where pact/jisf-gx-extension.schema.json is published (the PACT extension's "
        "dataSchema); default: the placeholder https://example.invalid/gxopt/.")] = None,
) -> None:
    """Certificates (HTML and PDF), disclosures, SteelZero lens, PACT footprints, plots, verifier pack."""
    from gxopt.report.cli import report_command

    report_command(result_dir, out_dir, db, pact_base_url=pact_base_url)


@app.command()
@_guarded
def whatif(
    base: Annotated[Path, typer.Argument(help="Base scenario folder.")],
    patch: Annotated[Path, typer.Option("--patch", "-p", help="What-if overlay (YAML), see docs/whatif.md.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Result folder to write.")],
) -> None:
    """Run BASE changed by a patch (projects, periods, volumes, CFPs, orders, settings) without copying it."""
    from gxopt.analysis_cli import whatif_command

    whatif_command(base, patch, out_dir, console=out)


@app.command()
@_guarded
def compare(
    results: Annotated[list[Path], typer.Argument(help="Two or more result folders.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the comparison tables and chart.")],
) -> None:
    """Side by side: GX volume and REPs by product and customer, revenue, pool use, CFPs, shadow prices."""
    from gxopt.analysis_cli import compare_command

    compare_command(results, out_dir, console=out)


@app.command()
@_guarded
def sweep(
    base: Annotated[Path, typer.Argument(help="Base scenario folder.")],
    grid: Annotated[Path, typer.Option("--grid", "-g", help="Grid and Monte-Carlo file (YAML).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for sweep.parquet and plots.")],
    scheduler: Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler.")] = None,
) -> None:
    """Hundreds of what-ifs as Dask tasks (a local cluster, or yours with --scheduler)."""
    from gxopt.analysis_cli import sweep_command

    sweep_command(base, grid, out_dir, scheduler, console=out)


def main() -> None:
    """Entry point for ``python -m gxopt``."""
    app()
