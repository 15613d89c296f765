"""The PACT host API of ``gxopt serve`` (PACT Technical Specifications v2.3 and v3.0): OAuth2 client credentials,
ListFootprints / GetFootprint with filters and pagination, Action Events. Mounted by
:func:`gxopt.service.app.create_app` from :data:`gxopt.service.pact.routes.router`."""
