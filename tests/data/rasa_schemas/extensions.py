"""The pykwalify extension Rasa's schemas name (``func: require_response_keys``), written for these tests
from what Rasa 3.6 documents it to check: every response variant has a ``text`` or a ``custom``."""

from __future__ import annotations

from typing import Any


def require_response_keys(responses: list[Any], _rule: Any, _path: Any) -> Any:
    from pykwalify.errors import SchemaError

    for response in responses:
        if isinstance(response, dict) and response.get("text") is None and not response.get("custom"):
            return SchemaError("Missing 'text' or 'custom' key in response or null 'text' value in response.")
    return True
