"""A certificate and its REP lines as the report's documents show them: the numbers as stated (the ledger's, or
a draft's from the run) and what follows from them (basis, claim, gases, site link, buyer warnings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gxopt.graph import parse_evidence


@dataclass
class Line:
    """One REP line of a certificate: REPs from one pool (project x calculation period)."""

    line_no: int
    pool_id: str
    project_id: str
    project_name: str
    technology: str
    additionality: str
    node: str
    project_site: str
    period_start: str
    period_end: str
    gas: str
    reps_t: float
    evidence: str
    same_site: bool | None
    verifier: str
    statement_id: str
    gases: str = ""  # the greenhouse gases included, ';'-separated (CO2;CH4;N2O); "" = not itemized (6.5, 7.3.1)
    product_site: str = ""  # where the product's crude steel is made (the site ``same_site`` compares with)
    raises_scrap_use: bool = False  # the project raises the use of scrap (SteelZero's scrap-recovery condition)

    @property
    def gases_label(self) -> str:
        """The gases included in the REPs as printed on the certificate (7.3.1, 6.5): the list, never the class
        alone; a GHG-class project that lists no gases says so."""
        if self.gases:
            return self.gases
        if self.gas == "CO2":
            return "CO2"
        return f"{self.gas} (gases not itemized in projects.csv)" if self.gas else "not stated"

    @property
    def connection(self) -> str:
        """How the project's unit reaches the product (6.7): on its own line, or feeding it."""
        return connection_kind(self.evidence)

    @property
    def link(self) -> str:
        """SteelZero's question: REPs from the site where the product's crude steel is made, or pooled across
        sites."""
        if self.same_site is None:
            return "unknown"
        return "same site" if self.same_site else "pooled across sites"

    @property
    def link_detail(self) -> str:
        """The site link in words, naming both sites."""
        where = (f"project at {self.project_site or 'an unknown site'}; crude steel made at "
                 f"{self.product_site or 'an unknown site'}")
        if self.same_site is None:
            return f"unknown ({where})"
        if self.same_site:
            return f"same site: from the product's crude-steel site ({self.project_site})"
        return f"pooled across sites: NOT from the product's crude-steel site ({where})"


def connection_kind(evidence: str) -> str:
    """``material route`` (the project's unit is on the product's line), or the feeder kinds it passes."""
    kinds = {k for k in parse_evidence(evidence)[1] if k != "material"} if evidence else set()
    if not kinds:
        return "material route"
    return " and ".join(sorted(kinds)) + " supply"


@dataclass
class Certificate:
    """A certificate as a document: a reduction certificate (7.3/7.5) or a CFP certificate (8.5).

    Both methods share one basis per product: the General CFP plus the REPs already reflected in it per
    tonne (``rep_term``, the 7.3.3 correction). A mass-balance buyer may claim ``basis - REPs per tonne``;
    a GX Allocation buyer the Allocated CFP. ``basis_cfp`` / ``stated_claimed_cfp`` are the numbers as the
    certificate states them (the ledger's columns, or the run's orders table); None when not known.
    """

    certificate_id: str
    status: str  # draft | issued | void
    method: str  # mass_balance | allocation
    order_id: str
    customer: str
    product_id: str
    tonnage_t: float
    reps_t: float
    general_cfp: float
    residual_cfp: float | None
    allocated_cfp: float | None
    alpha: float
    gx_tonnage_t: float
    lines: list[Line]
    product: dict[str, Any]
    delivery_date: str = ""
    issued_at: str = ""
    batch_id: str = ""
    voided_at: str = ""
    void_reason: str = ""
    digest: str = ""
    certifiable: bool = True  # may be issued: every line verified, and not from a what-if run
    not_certifiable_reason: str = ""
    verified: bool = True  # every REP line is from a third-party verified pool (6.8)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    basis_cfp: float | None = None
    stated_claimed_cfp: float | None = None

    @property
    def rep_term(self) -> float | None:
        """The 7.3.3 correction: REPs already reflected in the General CFP, per tonne (basis - General)."""
        return None if self.basis_cfp is None else self.basis_cfp - self.general_cfp

    @property
    def draft(self) -> bool:
        """A draft was produced from a result folder and never issued."""
        return self.status == "draft"

    @property
    def kind(self) -> str:
        """``reduction`` (GX Mass Balance, 7.3) or ``cfp`` (GX Allocation, 8.5)."""
        return "reduction" if self.method == "mass_balance" else "cfp"

    @property
    def title(self) -> str:
        """Document title."""
        return ("Reduction Certificate - GX Mass Balance" if self.kind == "reduction"
                else "CFP Certificate - GX Allocation")

    @property
    def reps_per_t(self) -> float:
        """REPs per tonne of the purchased steel."""
        return self.reps_t / self.tonnage_t if self.tonnage_t else 0.0

    @property
    def reduction_t(self) -> float:
        """Reduction achieved by the purchase: REPs; for allocation (Residual - Allocated) x tonnage (8.5)."""
        if self.method == "allocation" and self.residual_cfp is not None and self.allocated_cfp is not None:
            return (self.residual_cfp - self.allocated_cfp) * self.tonnage_t
        return self.reps_t

    @property
    def claimed_cfp(self) -> float | None:
        """The CFP per tonne the buyer may claim: the Allocated CFP (8.1.1), or the basis less the REPs per
        tonne (7.3.3, Figure 1: 3.0 - 2.3 = 0.7); None when the basis is not known."""
        if self.method == "allocation" and self.allocated_cfp is not None:
            return self.allocated_cfp
        if self.stated_claimed_cfp is not None:
            return self.stated_claimed_cfp
        return None if self.basis_cfp is None else self.basis_cfp - self.reps_per_t

    @property
    def gases(self) -> str:
        """Gas classes of the REPs (``gas``: CO2 or GHG, the class orders are matched on)."""
        return ", ".join(sorted({ln.gas for ln in self.lines})) or "–"

    @property
    def gases_included(self) -> str:
        """The greenhouse gases included in the REPs of this certificate (7.3.1, 6.5), ';'-separated in the
        order of the lines; the class with a note for a GHG project that lists none."""
        out: list[str] = []
        for ln in self.lines:
            for g in (ln.gases.split(";") if ln.gases else [ln.gases_label]):
                if g.strip() and g.strip() not in out:
                    out.append(g.strip())
        return ";".join(out) or "–"

    @property
    def crude_steel_site(self) -> str:
        """Where the product's crude steel is made (the site of its route's BOF/EAF unit)."""
        return str(self.product.get("crude_steel_site") or "")

    @property
    def allocated_above_general(self) -> bool:
        """Buyer protection: a CFP certificate whose Allocated CFP is above the product's General CFP (the buyer
        would pay for a higher footprint than the product's ordinary one)."""
        return (self.method == "allocation" and self.allocated_cfp is not None
                and self.allocated_cfp > self.general_cfp + 1e-9)

    @property
    def warnings(self) -> list[str]:
        """Warnings the document must show to the buyer."""
        if not self.allocated_above_general:
            return []
        return [f"WARNING: the Allocated CFP {self.allocated_cfp:.4f} t-CO2e/t on this certificate is ABOVE the "
                f"product's General CFP {self.general_cfp:.4f} t-CO2e/t (by "
                f"{(self.allocated_cfp or 0.0) - self.general_cfp:.4f}): the buyer gets a higher footprint than "
                "the product's ordinary CFP for a GX premium. The Allocated CFP is taken from the Residual CFP "
                f"{self.residual_cfp or 0.0:.4f} (General CFP + the REPs already reflected in it, 8.1.1, 8.3.2); "
                f"with alpha = {self.alpha:.4f} it stays above the General CFP. A higher alpha or GX Mass Balance "
                "would avoid this."]

    @property
    def passed_on_t(self) -> float:
        """Attributes already passed on to secondary customers directly from this certificate (7.5)."""
        return sum(t["reps_t"] for t in self.transfers if not t.get("parent_transfer_id"))

    @property
    def slug(self) -> str:
        """File-name-safe id."""
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in self.certificate_id)
