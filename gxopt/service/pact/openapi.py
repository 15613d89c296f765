"""How the PACT endpoints appear in the service's /openapi.json (the authoritative shapes are the PACT Tech Specs'
own OpenAPI documents; these make /docs useful and let schemathesis check every answer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class TokenBody(BaseModel):
    """An access token (RFC 6749 §5.1)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class FootprintList(BaseModel):
    """A page of ProductFootprints (``Link: <...>; rel="next"`` when there are more)."""

    data: list[dict[str, Any]]


class FootprintOne(BaseModel):
    """One ProductFootprint."""

    data: dict[str, Any]


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


LIMIT = _query("limit", "at most this many footprints per page", {"type": "integer", "minimum": 1})
V3_FILTERS = [_query(n, d, {"type": "string"}) for n, d in (
    ("productId", "footprints of this product id (repeatable)"), ("companyId", "of this company id (repeatable)"),
    ("geography", "of this region or country (repeatable)"), ("classification", "of this product class (repeatable)"),
    ("status", "Active or Deprecated"))] + [_query(n, d, {"type": "string", "format": "date-time"}) for n, d in (
    ("validOn", "valid at this instant"), ("validAfter", "valid after this instant"),
    ("validBefore", "valid before this instant"))]
V2_FILTER = _query("$filter", "the v2.3 OData subset (created/updated comparisons, productIds/companyIds any(...)); "
                              "anything else is NotImplemented", {"type": "string"})
TOKEN_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["grant_type"],
    "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]}}}}}}}
EVENT_BODY = {"requestBody": {"required": True, "content": {"application/cloudevents+json": {"schema": {
    "type": "object", "required": ["specversion", "id", "source", "type"],
    "properties": {"specversion": {"type": "string"}, "id": {"type": "string"}, "source": {"type": "string"},
                   "time": {"type": "string"}, "type": {"type": "string"}, "data": {"type": "object"}}}}}}}
