"""The admin's routes and page: people and systems, their roles and API tokens; who did what (issue #12)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from gxopt.ledger import actions, users
from gxopt.ledger.db import writer
from gxopt.service.auth import allow
from gxopt.service.models import ActionOut, BatchOut, NewUser, UserBody, UserOut, errors
from gxopt.service import queries
from gxopt.service.pages import page

WATCHING = ("admin", "auditor", "operator")  # who may read the log of actions


def _out(u: users.User) -> UserOut:
    return UserOut(name=u.name, role=u.role, disabled=u.disabled, created_at=u.created_at)


def register(app: FastAPI) -> None:
    """Add the admin's routes and page, the action log and the batch history to ``app``."""
    engine = app.state.engine

    @app.get("/api/users", response_model=list[UserOut], responses=errors())
    def list_users(user: Annotated[users.User, Depends(allow("admin"))]) -> list[UserOut]:
        """Every user, by name (no secrets)."""
        with engine.connect() as conn:
            return [_out(u) for u in users.listing(conn)]

    @app.post("/api/users", response_model=NewUser, status_code=201, responses=errors(409, 503))
    def add_user(body: UserBody, user: Annotated[users.User, Depends(allow("admin"))]) -> NewUser:
        """Add a user; the answer carries their API token, shown this once."""
        with writer(engine, f"add user {body.name} by {user.name}") as conn:
            new, token = users.add(conn, body.name, body.role, body.password)  # LedgerError (409): the name is taken
            actions.record(conn, user.name, "add user", new.name, {"role": new.role, "password": body.password is not None})
        return NewUser(**_out(new).model_dump(), token=token)

    @app.post("/api/users/{name}/disable", response_model=UserOut, responses=errors(404, 409, 503))
    def disable_user(name: str, user: Annotated[users.User, Depends(allow("admin"))]) -> UserOut:
        """Disable a user: their token and password stop working at once. An admin cannot disable themselves."""
        if name == user.name:
            raise HTTPException(409, "you cannot disable yourself; another admin can")
        with writer(engine, f"disable user {name} by {user.name}") as conn:
            found = users.get(conn, name)
            if found is None:
                raise HTTPException(404, f"unknown user {name}")
            users.disable(conn, name)
            actions.record(conn, user.name, "disable user", name, {})
            return _out(dataclasses.replace(found, disabled=True))

    @app.get("/api/actions", response_model=list[ActionOut], responses=errors())
    def list_actions(user: Annotated[users.User, Depends(allow(*WATCHING))],
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> list[ActionOut]:
        """Who did what through the service or the users command, newest first."""
        return queries.action_log(engine, limit)

    @app.get("/api/batches", response_model=list[BatchOut], responses=errors())
    def list_batches(user: Annotated[users.User, Depends(allow("operator", "auditor"))],
                     limit: Annotated[int, Query(ge=1, le=10_000)] = 50) -> list[BatchOut]:
        """The ledger's batch runs and their summaries, newest first."""
        return queries.batch_runs(engine, limit)

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page(request: Request, user: Annotated[users.User, Depends(allow("admin", page=True))]) -> HTMLResponse:
        with engine.connect() as conn:
            people = [_out(u) for u in users.listing(conn)]
        return page(request, "admin.html", user, title="admin", users=people, actions=queries.action_log(engine, 50))
