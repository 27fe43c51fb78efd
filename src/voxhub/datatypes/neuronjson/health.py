"""What ``voxhub doctor`` checks of a neuronjson instance: every stored value reads.

A document must decode as a JSON object whose ``bodyid`` is its key's body, a schema as
JSON. Nothing is derived, so there is nothing to recount or repair.
"""

from __future__ import annotations

import json
from typing import Any

from voxhub.datatypes.health import ValueCheck
from voxhub.datatypes.neuronjson.document import decode
from voxhub.datatypes.neuronjson.keys import KEY_DOC, KEY_SCHEMA, body_of, describe_tkey


def neuronjson_value_check(config: dict[str, Any]) -> ValueCheck:
    """The ``check_values`` hook: why a stored value does not read (``None``: it does)."""

    def check(tkey: bytes, value: bytes) -> str | None:
        if len(tkey) == 9 and tkey[0] == KEY_DOC:
            body = body_of(tkey)
            try:
                doc = decode(value)
            except (ValueError, UnicodeDecodeError) as e:  # InvalidRequest is a ValueError
                return f"the document of body {body} does not decode: {e}"
            if doc.get("bodyid") != body:
                return f"the document of body {body} holds bodyid {doc.get('bodyid')!r}"
            return None
        if tkey[:1] == bytes([KEY_SCHEMA]):
            try:
                json.loads(value)
            except (ValueError, UnicodeDecodeError) as e:
                return f"{describe_tkey(tkey)} is not JSON: {e}"
            return None
        return f"unknown neuronjson key {tkey.hex()}"

    return check
