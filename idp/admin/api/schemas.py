"""JSON Schema pieces the admin API's declarations share."""

from __future__ import annotations

from typing import Any

DATE_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
SEQ_MAX = 2**31 - 1  # the audit log's sequence numbers are 32-bit integer columns


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null (JSON Schema 2020-12, as OpenAPI 3.1 has it)."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object with exactly these properties, all of them present unless said otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def reason(description: str) -> dict[str, Any]:
    """A required reason for the audit log: at least one non-space character."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": 500,
        "pattern": r"\S",
        "description": description,
    }
