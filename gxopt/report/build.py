"""``gxopt report``: check the output folder, read the result folder (and ledger) once, and write every section
(certificates and PACT files, disclosures, SteelZero lens, plots, verifier pack) and the index into a temporary
folder swapped in at the end."""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path
from typing import Any

from gxopt import __version__
from gxopt.errors import OutputError
from gxopt.report import certificate_files, disclosure_pages, index_page, lens_page, plots, verifier_pack
from gxopt.report.data import GUIDELINE, ReportData, load
from gxopt.report.files import write_csv
from gxopt.report.index_page import KIND, MARKER
from gxopt.report.pact_extension import DEFAULT_SCHEMA_URL, schema_url
from gxopt.resultdir import atomic_dir, check_out_dir


def build_report(result_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                 db_url: str | None = None, pact_base_url: str | None = None) -> Path:
    """Write the report of the result folder ``result_dir`` to ``out_dir``; return ``out_dir``.

    With ``db_url`` the certificates are the ledger's (read only); without it, draft certificates of the
    served orders. ``pact_base_url`` is where the steelmaker publishes ``jisf-gx-extension.schema.json``:
    the PACT GX extension's ``dataSchema`` is that URL (default: the placeholder
    ``https://example.invalid/gxopt/``). Raises :class:`~gxopt.errors.InputError` for a missing or unusable
    result folder or ledger or a bad base URL, :class:`~gxopt.errors.OutputError` when ``out_dir`` cannot be
    written safely.
    """
    src = Path(result_dir)
    out = Path(out_dir)
    schema = schema_url(pact_base_url)
    check_out_dir(out, MARKER, KIND + " folder", reads=[src], marker_kind=KIND)
    data = load(src, db_url)
    try:
        with atomic_dir(out, MARKER, KIND + " folder") as tmp:
            _write_all(data, tmp, schema)
    except OSError as exc:
        msg = f"{out}: cannot write the report there ({exc.strerror})"
        raise OutputError(msg) from None
    return out


def _ctx(data: ReportData) -> dict[str, Any]:
    return {"version": __version__, "guideline": GUIDELINE, "org": data.organization,
            "source": f"{data.scenario_name} ({'ledger' if data.ledger else 'draft'} mode)"}


def _write_all(data: ReportData, root: Path, schema: str = DEFAULT_SCHEMA_URL) -> None:
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx = _ctx(data)
    files, certificates, pact_count = certificate_files.write(data, root, generated, schema)
    files += disclosure_pages.write(data, ctx, root / "disclosures")
    lens_files, lp = lens_page.write(data, ctx, root / "lens")
    files += lens_files
    plot_items, plot_files = _plots(data, root / "plots")
    files += plot_files
    checks, pack_files = _verifier_pack(data, root)
    files += pack_files
    index_page.write(data, ctx, root, generated=generated, schema=schema, files=files, certificates=certificates,
                     pact_count=pact_count, plots=plot_items, checks=checks, lens_table=lens_page.index_table(lp))


def _plots(data: ReportData, pdir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Draw the plots into ``pdir`` with their data as CSV; return the index's plot items and the files."""
    pdir.mkdir()
    plot_items: list[dict[str, Any]] = []
    files: list[str] = []
    made = {"figure3": plots.figure3(data, pdir / plots.PLOTS["figure3"][0]),
            "flow": plots.flow(data, pdir / plots.PLOTS["flow"][0]),
            "pools": plots.pool_balances(data, pdir / plots.PLOTS["pools"][0]),
            "timeline": plots.timeline(data, pdir / plots.PLOTS["timeline"][0])}
    for key, frame in made.items():
        if frame is None:
            continue
        name, title = plots.PLOTS[key]
        csv_name = name.replace(".png", ".csv")
        write_csv(frame, pdir / csv_name)
        png = (pdir / name).read_bytes()
        plot_items.append({"title": title, "file": f"plots/{name}", "csv": f"plots/{csv_name}",
                           "data_uri": "data:image/png;base64," + base64.b64encode(png).decode()})
        files += [f"plots/{name}", f"plots/{csv_name}"]
    return plot_items, files


def _verifier_pack(data: ReportData, root: Path) -> tuple[dict[str, Any], list[str]]:
    """Write the verifier pack and its zip; return its checks and the files the index lists."""
    checks = verifier_pack.write(data, root / "verifier-pack")
    verifier_pack.zip_pack(root / "verifier-pack", root / "verifier-pack.zip")
    files = ["verifier-pack/recheck_results.json", "verifier-pack/calculations/rep_calculation.csv",
             "verifier-pack/calculations/pool_use.csv", "verifier-pack/calculations/reconciliation.csv",
             "verifier-pack/calculations/order_checks.csv", "verifier-pack/calculations/connection_checks.csv",
             "verifier-pack/calculations/product_checks.csv", "verifier-pack/calculations/claims.csv",
             "verifier-pack/calculations/verify.json"]
    if data.ledger is not None:
        files += ["verifier-pack/ledger/journal.csv", "verifier-pack/ledger/balances.csv"]
    return checks, files
