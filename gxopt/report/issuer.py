"""Who issues the documents of a certificate, whatever the certificates come from: a result folder (:func:`issuer`)
or the ledger the service reads (:mod:`gxopt.service.documents`): the organization, the operational period, the
inputs' digest and the run's claims sentence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gxopt.report.data import ReportData
from gxopt.report.disclosure import claims_sentence


@dataclass(frozen=True)
class Issuer:
    """What a certificate and its footprint say of the organization behind them."""

    organization: str  # the scheme owner (ch. 9)
    org_code: str  # the organization code of the certificate ids
    country: str | None  # ISO 3166-1 alpha-2, when model.yaml gives one
    period_start: dt.date  # the operational period of the GX steel (a CFP certificate's validity, 8.5)
    period_end: dt.date
    input_sha256: str  # the inputs' digest: part of the id of a certificate that has no ledger digest (a draft)
    claims: str  # the run's claims against actual emissions in words (7.3.3, 8.1); "" when no run stands behind


def issuer(data: ReportData) -> Issuer:
    """The organization behind a result folder's documents, with its run's claims sentence."""
    op = data.scenario.settings.operational_period
    return Issuer(data.organization, data.org_code, data.country, op.start, op.end,
                  str(data.summary.get("input_sha256", "")), claims_sentence(data))
