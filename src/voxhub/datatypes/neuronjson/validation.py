"""Validating neuronjson documents against the instance's stored ``json_schema``.

DVID's ``json_schema`` is the JSON Schema its documents are checked against on POST.
voxhub checks every document a write would store (``POST key/{body}``, ``keyvalues``
batches, the numpy API's ``put``/``update``), inside the write's transaction and against
the schema stored at that node, after merging the posted fields into the stored
document: what is stored always satisfies the schema it was written under (the ``_user``
and ``_time`` stamps are left out of what is checked, as reads leave them out). A
document that fails is a 400 naming its body, the failing field and why, and nothing of
the request is stored. ``schema`` and ``schema_batch`` (neutu/neu3's UI schemas) are
stored, not enforced. Setting ``json_schema`` checks that it is a valid JSON Schema; the
documents already stored are not re-checked.

Validators come from the ``jsonschema`` package (the ``server`` extra), compiled once per
schema text.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Protocol

from voxhub.datatypes.neuronjson.document import Document, select_fields
from voxhub.errors import InvalidRequest
from voxhub.optional import require

#: the schema kind whose documents are enforced
ENFORCED = "json_schema"
_PURPOSE = "validating neuronjson documents against json_schema"


class _Validator(Protocol):
    def iter_errors(self, instance: Any) -> Any: ...


def check_schema(raw: bytes) -> None:
    """400 naming the problem if ``raw`` (JSON already) is not a valid JSON Schema."""
    _compiled(bytes(raw))


def validate(raw_schema: bytes | None, body: int, doc: Document) -> None:
    """400 naming ``body``, the failing field and why, if ``doc`` (as it would be stored)
    breaks the schema ``raw_schema`` (``None``: no schema, nothing checked)."""
    if raw_schema is None:
        return
    validator = _compiled(bytes(raw_schema))
    shown = select_fields(doc, None, (False, False))  # no stamps
    jsonschema = require("jsonschema", _PURPOSE)
    error = jsonschema.exceptions.best_match(validator.iter_errors(shown))
    if error is None:
        return
    field = "/".join(str(p) for p in error.absolute_path)
    where = f"field {field!r}" if field else "the document"
    raise InvalidRequest(
        f"document of body {body} breaks the json_schema at {where}: {error.message}"
    )


@functools.lru_cache(maxsize=32)
def _compiled(raw: bytes) -> _Validator:
    jsonschema = require("jsonschema", _PURPOSE)
    try:
        schema = json.loads(raw)
    except ValueError as e:
        raise InvalidRequest(f"json_schema is not JSON: {e}") from None
    if not isinstance(schema, dict | bool):
        raise InvalidRequest("json_schema must be a JSON object (a JSON Schema)")
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        path = "/".join(str(p) for p in e.absolute_path) or "its root"
        raise InvalidRequest(
            f"json_schema is not a valid JSON Schema at {path}: {e.message}"
        ) from None
    validator: _Validator = cls(schema)
    return validator
