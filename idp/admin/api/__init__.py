"""The admin API under ``/admin/api/v1`` (issue 12): every console action for programs,
with OAuth 2.0 client-credentials tokens of admin API clients, described by an OpenAPI 3.1
document generated from the operations' declarations. How to use it and how to add an
endpoint: ``docs/admin-api.md``.

==================== ==================================================================
module               holds
==================== ==================================================================
:mod:`.framework`    ``operation``, ``Param``, ``Call``, ``Reply``: declaring and running
:mod:`.auth`         the bearer token check and the :class:`~.auth.Caller`
:mod:`.problems`     RFC 9457 problem details, the one error format
:mod:`.openapi`      the OpenAPI 3.1 document from the declarations
:mod:`.schemas`      JSON Schema pieces shared by declarations
:mod:`.blueprint`    the routes, ``/openapi.json``; imports each area's module
:mod:`.overview`     ``GET /overview``
:mod:`.audit_log`    ``GET /audit/entries``, ``POST /audit/verify``
:mod:`.admins`       ``GET /admins``, ``POST /admins/{admin_id}/disable``
:mod:`.api_clients`  ``GET /api-clients``, ``POST /api-clients/{client_id}/disable``
:mod:`.complaints`   ``GET``/``POST /complaints``, ``GET /complaints/{id}``, ``.../close``
:mod:`.customers`    ``/customers``: search, a customer, sessions, lock, rights, export, erase
:mod:`.partners`     ``/clients``, ``/sharing``, ``/catalogue``
==================== ==================================================================
"""
