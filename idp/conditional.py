"""Conditional answers to GET and HEAD, as the documents and the theme's assets give them."""

from __future__ import annotations

from flask import Response, request


def conditional(resp: Response) -> Response:
    """Werkzeug's conditional answer to the request (304 for a matching ``If-None-Match``,
    a range for ``Range``), without the ``Date`` it adds: the server sends its own (Granian
    and Werkzeug's both do), and ``Date`` may appear once in an answer (RFC 9110 §5.3)."""
    resp.make_conditional(request)
    resp.headers.remove("Date")
    return resp
