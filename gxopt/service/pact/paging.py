"""Pagination of ListFootprints (v2.3 §6.6.1, v3.0 "Pagination"): at most ``limit`` footprints per page and,
when more remain, an RFC 8288 ``Link: <URL>; rel="next"`` whose URL is absolute, on the request's own host, keeps
the request's filters and carries a signed cursor (the next offset) valid :data:`CURSOR_SECONDS` (>= the 180 s
the spec asks for) that can be called more than once."""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gxopt.service.pact.errors import PactError

CURSOR_SECONDS = 900
MAX_PAGE = 1000  # without a limit (or above it) a page holds this many; the Link header gives the rest
T = TypeVar("T")


class Pager:
    """Cuts lists into pages and signs the cursors of their next links."""

    def __init__(self, key: str) -> None:
        self._s = URLSafeTimedSerializer(key, salt="gxopt-pact-page")

    def limit(self, request: Request) -> int:
        """The page size asked for (``limit``, a positive integer), capped at :data:`MAX_PAGE`."""
        raw = request.query_params.getlist("limit")
        if not raw:
            return MAX_PAGE
        if len(raw) > 1 or not re.fullmatch(r"[0-9]{1,9}", raw[0].strip()) or int(raw[0]) < 1:  # ASCII digits only
            raise PactError("BadRequest", f"limit: {','.join(raw)!r} is not a positive integer")
        return min(int(raw[0]), MAX_PAGE)

    def offset(self, request: Request) -> int:
        """Where the page starts: 0, or the offset of a valid ``cursor``."""
        raw = request.query_params.get("cursor")
        if raw is None:
            return 0
        try:
            value: Any = self._s.loads(raw, max_age=CURSOR_SECONDS)
        except SignatureExpired:
            raise PactError("BadRequest", "the pagination link has expired; list the footprints again") from None
        except BadSignature:
            raise PactError("BadRequest", "cursor: not a pagination link of this host") from None
        if not isinstance(value, int) or value < 0:
            raise PactError("BadRequest", "cursor: not a pagination link of this host")
        return value

    def page(self, request: Request, items: list[T]) -> tuple[list[T], dict[str, str]]:
        """The page of ``items`` the request asks for and its headers (``Link`` when more remain)."""
        size, start = self.limit(request), self.offset(request)
        chunk = items[start:start + size]
        if start + size >= len(items):
            return chunk, {}
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        params.append(("cursor", self._s.dumps(start + size)))
        base = str(request.base_url).rstrip("/")  # scheme and Host of the request itself
        return chunk, {"Link": f'<{base}{request.url.path}?{urlencode(params)}>; rel="next"'}
