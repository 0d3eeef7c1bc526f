"""The admin API's blueprint at ``/admin/api/v1``: one route per declared operation, the
OpenAPI document, and problem details for every error under the prefix.

Bearer tokens only, no cookies: CSRF protection does not apply (a browser never sends the
token by itself), so the blueprint is exempt. The console's response headers
(``Cache-Control: no-store``, CSP, no framing) are set for everything under /admin by
:func:`idp.admin.guards.headers`.

An area's endpoints live in a module of this package, listed in ``AREAS`` below.
"""

from __future__ import annotations

from flask import Blueprint, Response, json
from flask.blueprints import BlueprintSetupState

from idp import context
from idp.admin.api import (
    admins,
    api_clients,
    audit_log,
    complaints,
    customers,
    openapi,
    overview,
    partners,
    problems,
)
from idp.admin.api.framework import OPERATIONS, current_operations, view_of
from idp.admin.guards import public
from idp.errors import RENDERERS
from idp.extensions import csrf
from idp.oauth.admin_scopes import API_PATH

# the modules whose operations the API serves (importing one declares its operations)
AREAS = (overview, audit_log, admins, api_clients, partners, complaints, customers)

bp = Blueprint("admin_api", __name__, url_prefix=API_PATH)
csrf.exempt(bp)

for _op in OPERATIONS:
    bp.add_url_rule(
        _op.flask_rule, endpoint=_op.operation_id, view_func=view_of(_op), methods=[_op.method]
    )


@bp.record_once
def _problems_for_every_error(state: BlueprintSetupState) -> None:
    state.app.extensions.setdefault(RENDERERS, {})[API_PATH] = problems.render


@bp.route("/openapi.json", methods=["GET"])
@public
def openapi_json() -> Response:
    """The OpenAPI 3.1 document: public, as the API's description is no secret."""
    doc = openapi.document(current_operations(), context.settings().issuer)
    return Response(json.dumps(doc), mimetype="application/json")
