"""The admin API's operations: each is declared once, with everything about it, and both
its route and its part of the OpenAPI document (:mod:`idp.admin.api.openapi`) come from
that declaration.

An endpoint is a function of a :class:`Call` under :func:`operation`::

    @operation(
        "GET", "/admins",
        permission=Permission.ADMINS_VIEW,
        summary="List the admins",
        response={"type": "object", ...},   # JSON Schema of the 200 body
        tag="admins",
    )
    def list_admins(call: Call) -> dict[str, Any]:
        found = accounts.all_admins(call.db)
        call.record("viewed", "admins")
        return {"admins": [accounts.describe(a) for a in found]}

Before the function runs, the framework has checked the token (:mod:`.auth`), the
permission (the console's own :class:`~idp.admin.roles.Permission`), ``admin:dangerous``
for a dangerous operation, and the parameters and body against their schemas; after it,
it commits. Any fault is an RFC 9457 problem (:mod:`.problems`). The function itself only
parses what is left, calls a service and returns the body: it never commits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from idp import context
from idp.admin import audit, sessions
from idp.admin.api.auth import Caller, authenticate, bearer
from idp.admin.api.problems import Problem, challenge, response as problem_response
from idp.admin.roles import PERMISSIONS, Permission, declare
from idp.db import commit, get_session
from idp.oauth import admin_scopes

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


@dataclass(frozen=True)
class Param:
    """A query or path parameter; ``schema`` is the JSON Schema of its (converted) value."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False
    where: str = "query"  # "query" or "path"


@dataclass
class Call:
    """What an endpoint gets: the database session, the caller, the time, and the request's
    parameters and body, already checked against their schemas."""

    db: Session
    caller: Caller
    now: datetime
    params: dict[str, Any]
    body: Any
    recorded: bool = False

    def record(self, action: str, target: str | None, reason: str | None = None) -> None:
        """An audit log entry with the API client as the actor (:func:`audit.record`)."""
        audit.record(self.db, self.caller.client, action, target, reason)
        self.recorded = True


@dataclass(frozen=True)
class Reply:
    """An endpoint's answer when it is not the declared status with no extra headers."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Any]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per declaration
class Operation:
    method: str
    path: str  # relative to /admin/api/v1, path parameters as in OpenAPI: /admins/{admin_id}
    permission: Permission
    summary: str
    description: str
    tag: str
    handler: Handler
    response: dict[str, Any]
    status: int = 200
    parameters: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    dangerous: bool = False
    errors: tuple[int, ...] = ()  # statuses of its own besides the framework's (404, 409)
    audited: bool = True  # recorded even when the endpoint records nothing itself

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def flask_rule(self) -> str:
        return _PATH_PARAM.sub(r"<\1>", self.path)


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    path: str,
    *,
    permission: Permission,
    summary: str,
    response: dict[str, Any],
    tag: str,
    description: str = "",
    status: int = 200,
    parameters: tuple[Param, ...] = (),
    body: dict[str, Any] | None = None,
    dangerous: bool = False,
    errors: tuple[int, ...] = (),
    audited: bool | None = None,
) -> Callable[[Handler], Handler]:
    """Declare an operation of the admin API (see the module's docstring).

    ``audited`` defaults to True for every method but GET: a change always leaves an entry,
    made by the framework (action = the operation id) if the endpoint made none. A GET that
    shows personal data passes ``audited=True``; the endpoint should record its own entry
    with the customer as the target.
    """
    method = method.upper()
    in_path = set(_PATH_PARAM.findall(path))
    declared = {p.name for p in parameters if p.where == "path"}
    if in_path != declared or any(p.where not in ("query", "path") for p in parameters):
        raise ValueError(f"{method} {path}: declare exactly the path parameters {in_path}")
    if body is not None and method in ("GET", "DELETE"):
        raise ValueError(f"{method} {path}: a {method} has no body")

    def register(handler: Handler) -> Handler:
        op = Operation(
            method=method,
            path=path,
            permission=permission,
            summary=summary,
            description=description,
            tag=tag,
            handler=handler,
            response=response,
            status=status,
            parameters=parameters,
            body=body,
            dangerous=dangerous,
            errors=errors,
            audited=method != "GET" if audited is None else audited,
        )
        if any(o.operation_id == op.operation_id for o in OPERATIONS):
            raise ValueError(f"two admin API operations are named {op.operation_id}")
        OPERATIONS.append(op)
        return handler

    return register


# -- running one ----------------------------------------------------------------------


def scopes_granting(permission: Permission) -> list[str]:
    """The role scopes whose role has ``permission``."""
    return [s for s, role in admin_scopes.ROLE_SCOPES.items() if permission in PERMISSIONS[role]]


def _caller(db: Session, now: datetime) -> Caller:
    value = bearer(request.headers.get("Authorization"))
    if value is None:
        raise Problem(
            401,
            "An access token is required: Authorization: Bearer <token> from /token "
            "(client credentials).",
            "missing_token",
            headers=challenge(),
        )
    return authenticate(db, value, context.settings().issuer, now)


def _allowed(db: Session, op: Operation, caller: Caller) -> None:
    if op.permission not in caller.permissions:
        audit.record(db, caller.client, "refused", request.path, op.permission)
        commit()
        raise Problem(
            403,
            f"The token's role does not allow this ({op.permission}).",
            "insufficient_scope",
            headers=challenge("insufficient_scope", " ".join(scopes_granting(op.permission))),
        )
    if op.dangerous and not caller.dangerous:
        audit.record(db, caller.client, "refused", request.path, admin_scopes.DANGEROUS)
        commit()
        raise Problem(
            403,
            "A dangerous operation needs a token with the admin:dangerous scope: ask /token "
            "for it (scope=admin:dangerous); the client must have been created with it.",
            "dangerous_scope_required",
            headers=challenge("insufficient_scope", admin_scopes.DANGEROUS),
        )


def _convert(param: Param, raw: str) -> Any:
    kind = param.schema.get("type")
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ValueError("must be an integer")
        return int(raw)
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError("must be true or false")
        return raw == "true"
    return raw


def _params(op: Operation, path_args: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for param in op.parameters:
        if param.where == "path":
            values = [path_args[param.name]]
        else:
            values = request.args.getlist(param.name)
        if not values:
            if param.required:
                errors.append({"where": param.name, "message": "is required"})
            continue
        if len(values) > 1:
            errors.append({"where": param.name, "message": "is given more than once"})
            continue
        try:
            value = _convert(param, values[0])
        except ValueError as exc:
            errors.append({"where": param.name, "message": str(exc)})
            continue
        for error in Draft202012Validator(param.schema).iter_errors(value):
            errors.append({"where": param.name, "message": error.message[:300]})
            break
        else:
            found[param.name] = value
    if errors:
        raise Problem(400, "A parameter is missing or invalid.", "invalid_parameter", errors=errors)
    return found


def _body(op: Operation) -> Any:
    if op.body is None:
        return None
    if request.mimetype != "application/json":
        raise Problem(415, "The body must be JSON (Content-Type: application/json).")
    try:
        data = json.loads(request.get_data() or b"")
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON.", "invalid_json") from None
    errors = [
        {"where": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message[:300]}
        for e in sorted(Draft202012Validator(op.body).iter_errors(data), key=str)[:20]
    ]
    if errors:
        raise Problem(422, "The body does not match the operation's schema.", errors=errors)
    return data


def run(op: Operation, path_args: dict[str, str]) -> Response:
    db = get_session()
    now = sessions.clock()
    caller = _caller(db, now)
    _allowed(db, op, caller)
    call = Call(db, caller, now, _params(op, path_args), _body(op))
    answer = op.handler(call)
    if op.audited and not call.recorded:
        call.record(op.operation_id, request.path)
    commit()
    reply = answer if isinstance(answer, Reply) else Reply(answer, op.status)
    resp = Response(json.dumps(reply.body), status=reply.status, mimetype="application/json")
    for name, value in reply.headers.items():
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp


def view_of(op: Operation) -> Callable[..., Response]:
    """The Flask view of ``op``: its declared permission on it for the URL map's walkers."""

    def view(**path_args: str) -> Response:
        try:
            return run(op, path_args)
        except Problem as problem:
            get_session().rollback()
            return problem_response(problem)

    view.__name__ = op.operation_id
    view.api_operation = op  # type: ignore[attr-defined]
    return declare(view, op.permission)


def current_operations() -> list[Operation]:
    """The operations the running app serves (its URL map), in declaration order."""
    served = {getattr(view, "api_operation", None) for view in current_app.view_functions.values()}
    return [op for op in OPERATIONS if op in served]
