"""Disclosure and verification outputs of a gxopt run: certificates as documents (HTML + PDF), the 6.2.3 /
8.3.3 / ch. 9 disclosures, the SteelZero lens, WBCSD PACT footprints, plots and a verifier pack, all
linked from one offline ``index.html`` with CSV/JSON twins.

    from gxopt.report import build_report
    build_report("out/fy26", "out/fy26-report")                          # draft certificates
    build_report("out/fy26", "out/fy26-report", db_url="sqlite:///gx.db")  # the ledger's certificates
    build_report("out/fy26", "out/fy26-report", pact_base_url="https://steel.example.com/pact/")

The output folder is written to a temporary sibling and swapped in at the end, so a failure leaves the
previous report whole; a non-empty folder that is not a gxopt report is never overwritten.
"""

from __future__ import annotations

from gxopt.report.build import MARKER, build_report

__all__ = ["MARKER", "build_report"]
