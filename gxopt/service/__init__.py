"""The planners' service (issue #12, in progress): ``gxopt serve`` — a FastAPI application over one scenario and
one ledger.

- :mod:`gxopt.service.book` — the open order book as the ledger sees it, solved once, re-solved when the
  ledger changes;
- :mod:`gxopt.service.auth` — who is asking (``Authorization: Bearer``) and what their role allows;
- :mod:`gxopt.service.app` — the routes, each declaring the roles it serves.
"""
