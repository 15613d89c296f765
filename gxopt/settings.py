"""Run settings (``scenario.yaml``) and plant-model metadata (``model.yaml``) as validated pydantic models."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    """A closed date interval [start, end]."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            msg = "end must not be before start"
            raise ValueError(msg)
        return self


class MassBalanceSettings(_Strict):
    """GX Mass Balance settings (7.2.2): vintage validity after the end of the calculation period."""

    expiry_years: int = Field(3, ge=0, le=50)
    justification: str | None = None

    @model_validator(mode="after")
    def _justified(self) -> MassBalanceSettings:
        if self.expiry_years > 3 and not (self.justification or "").strip():
            msg = ("an expiry longer than three years needs a 'justification' "
                   "(JISF 7.2.2: the organization shall explain and justify it)")
            raise ValueError(msg)
        return self


class ScenarioSettings(_Strict):
    """The keys of ``scenario.yaml``."""

    model: str = Field(description="Plant model folder, relative to scenario.yaml.")
    as_of: dt.date = Field(description="Run date: only pools whose calculation period ended by then are usable.")
    operational_period: Period = Field(description="When GX Allocation CFPs are in use (8.2.3).")
    mass_balance: MassBalanceSettings = MassBalanceSettings()
    allow_unverified: bool = Field(
        False, description="What-if mode: unverified pools may feed orders; the batch refuses such a run, so nothing "
        "of it is ever issued (6.8).")
    name: str | None = None
    description: str | None = None


class ModelMeta(_Strict):
    """The keys of ``model.yaml``."""

    organization: str = Field(min_length=1)
    code: str | None = Field(None, pattern=r"^[A-Z0-9]{2,12}$",
                             description="Short organization code used in certificate ids (default: initials).")
    country: str | None = None
    description: str | None = None


def organization_code(meta: ModelMeta) -> str:
    """Certificate-id code of the organization: ``code`` or the initials of its name (e.g. KSC)."""
    if meta.code:
        return meta.code
    letters = "".join(w[0] for w in meta.organization.split() if w[:1].isalnum()).upper()
    return letters[:12] or "ORG"
