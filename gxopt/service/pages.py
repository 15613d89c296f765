"""The web pages of ``gxopt serve`` (Jinja2, rendered on the server, no build step): log in and out, the planner's
page, the operator's page and the auditor's page. Their buttons call the JSON API with the session cookie and the
page's CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gxopt.ledger.users import User, by_password
from gxopt.service import queries
from gxopt.service.auth import LoginRequired, allow
from gxopt.service.sessions import check_csrf, csrf_token, sign_in

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
HOME = {"planner": "/planner", "operator": "/operator", "auditor": "/auditor", "admin": "/admin"}


def page(request: Request, name: str, user: User | None, **context: Any) -> HTMLResponse:
    """Template ``name`` for ``user``, with the session's CSRF token for its forms."""
    return TEMPLATES.TemplateResponse(request, name, {"user": user, "csrf": csrf_token(request), **context})


def register(app: FastAPI) -> None:
    """Add the pages to ``app``."""

    @app.exception_handler(LoginRequired)
    def _to_login(_request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", None, title="log in")

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
        with app.state.engine.connect() as conn:
            user = by_password(conn, username, password)
        if user is None:
            refused = page(request, "login.html", None, title="log in", username=username,
                           error="That user name and password do not match an active user.")
            refused.status_code = 401
            return refused
        sign_in(request, user.name)
        return RedirectResponse(HOME[user.role], status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> RedirectResponse:
        if request.session.get("user"):
            check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/", include_in_schema=False)
    def home(user: Annotated[User, Depends(allow("planner", "operator", "auditor", "admin", page=True))],
             ) -> RedirectResponse:
        return RedirectResponse(HOME[user.role], status_code=303)

    def planning(request: Request, user: User, name: str, **extra: Any) -> HTMLResponse:
        book = app.state.book
        delivery = book.scenario.settings.as_of
        return page(request, name, user, title=f"{user.role} - {book.scenario.model.meta.organization}",
                     availability=queries.availability(book, delivery), delivery=delivery,
                     products=book.products, **extra)

    @app.get("/planner", response_class=HTMLResponse, include_in_schema=False)
    def plannerpage(request: Request, user: Annotated[User, Depends(allow("planner", "operator", page=True))],
                     ) -> HTMLResponse:
        return planning(request, user, "planner.html", holds_title="My holds" if user.role == "planner" else "All holds")

    @app.get("/operator", response_class=HTMLResponse, include_in_schema=False)
    def operatorpage(request: Request, user: Annotated[User, Depends(allow("operator", page=True))]) -> HTMLResponse:
        return planning(request, user, "operator.html", holds_title="All holds",
                        verify=queries.ledger_check(app.state.engine), batches=queries.batch_runs(app.state.engine, 20))

    @app.get("/auditor", response_class=HTMLResponse, include_in_schema=False)
    def auditorpage(request: Request, user: Annotated[User, Depends(allow("auditor", "operator", page=True))],
                     ) -> HTMLResponse:
        return page(request, "auditor.html", user, title="auditor", verify=queries.ledger_check(app.state.engine),
                    certificates=queries.certificates(app.state.engine), batches=queries.batch_runs(app.state.engine, 20),
                    actions=queries.action_log(app.state.engine, 50))

