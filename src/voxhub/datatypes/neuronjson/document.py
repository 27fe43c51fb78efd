"""One body's JSON document: what a POST may hold, how it merges into the stored one, and
which fields a read shows.

The rules are DVID's (``datatype/neuronjson``): a field ``f`` of the document carries
two metadata fields, ``f_user`` (who last set it) and ``f_time`` (when, RFC 3339), kept by
the server; a POST merges its fields into the stored document unless ``replace``;
``null`` deletes a field (and stamps who deleted it); a field whose value does not change
keeps its stamps; explicit ``f_user``/``f_time`` in a POST win over the stamps the server
would write; ``conditional`` fields keep their stored value. Reads hide the metadata
unless ``show=user|time|all``. Values are compared as JSON (``1`` is not ``1.0`` nor
``true``), as DVID compares its parsed values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from voxhub.datatypes.neuronjson.keys import UINT64_MAX
from voxhub.datatypes.wire.numbers import parse_uint64
from voxhub.errors import InvalidRequest

Document = dict[str, Any]
USER, TIME = "_user", "_time"
#: fields that never get stamps of their own (DVID)
UNSTAMPED = frozenset({"bodyid", "user"})
#: ``?show=`` values → (show ``_user`` fields, show ``_time`` fields)
SHOW = {"": (False, False), "user": (True, False), "time": (False, True), "all": (True, True)}


def is_meta(field: str) -> bool:
    """Whether ``field`` is a stamp (``*_user`` or ``*_time``) rather than data."""
    return field.endswith((USER, TIME))


def now_stamp() -> str:
    """The ``_time`` stamp of a write made now (RFC 3339, UTC, to the second, as DVID)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_body(text: str, what: str = "key") -> int:
    """A body id from a URL: a decimal uint64 other than 0 (DVID reserves body 0)."""
    return check_body(parse_uint64(text, what), what)


def check_body(value: Any, what: str = "key") -> int:
    """A body id given as JSON or from Python: an integer 1..2**64-1 (or its decimal
    string); 0 is reserved, as in DVID."""
    if isinstance(value, str):
        value = parse_uint64(value, what)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT64_MAX:
        raise InvalidRequest(f"{what} {value!r} is not a body id (an integer 1..2**64-1)")
    if value == 0:
        raise InvalidRequest(f"{what} 0: body id 0 is reserved and cannot be stored")
    return value


def parse_document(value: Any, body: int) -> Document:
    """A posted document for ``body``, checked: a JSON object whose ``bodyid`` (added when
    absent) is ``body``, with string or null stamps and no stamps of ``bodyid``."""
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"the document of body {body} must be a JSON object, got {type(value).__name__}"
        )
    doc = dict(value)
    given = doc.get("bodyid", body)
    if isinstance(given, bool) or not isinstance(given, int) or given != body:
        raise InvalidRequest(f"the document's 'bodyid' {given!r} does not match its key {body}")
    doc["bodyid"] = body
    for field, v in doc.items():
        if field in ("bodyid_user", "bodyid_time"):
            raise InvalidRequest(f"body {body}: field {field!r} is not allowed")
        if is_meta(field) and v is not None and not isinstance(v, str):
            raise InvalidRequest(f"body {body}: field {field!r} must be a string or null")
    try:
        canonical(doc)
    except (TypeError, ValueError) as e:  # from Python: a set, NaN, a non-string key...
        raise InvalidRequest(f"the document of body {body} is not JSON: {e}") from None
    return doc


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: ``1`` differs from ``1.0`` and from ``true``."""
    return type(a) is type(b) and canonical(a) == canonical(b)


def canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def merge_document(
    old: Mapping[str, Any] | None,
    posted: Mapping[str, Any],
    *,
    user: str,
    now: str,
    conditional: Iterable[str] = (),
    replace: bool = False,
) -> Document:
    """The document stored after ``posted`` (checked by :func:`parse_document`) is
    written over ``old`` (``None``: no document yet) by ``user`` at time ``now``."""
    new = dict(posted)
    orig = dict(old) if old is not None else None
    # stamps a POST sets explicitly (a null one: "do not stamp")
    given_user = {f[: -len(USER)]: v or "" for f, v in posted.items() if f.endswith(USER)}
    given_time = {f[: -len(TIME)]: v or "" for f, v in posted.items() if f.endswith(TIME)}
    deleted = {f for f, v in posted.items() if v is None}
    for field in deleted:
        del new[field]
        if orig is not None:
            orig.pop(field, None)
    for field in deleted:
        if is_meta(field):
            continue
        for suffix, given, default in ((USER, given_user, user), (TIME, given_time, now)):
            stamp = given.get(field, default)
            if stamp:
                new[field + suffix] = stamp
    changed: set[str] = set()  # fields set for the first time or to another value
    data_fields: set[str] = set()
    if orig is None:
        for field in new:
            changed.add(field)
            if field.endswith(USER):  # an explicit user on a new document stamps its time
                changed.add(field[: -len(USER)])
    else:
        for field, value in new.items():
            if field not in orig or is_meta(field) or not same_value(value, orig[field]):
                changed.add(field)
            if not is_meta(field):
                data_fields.add(field)
        if not replace:
            protected = set(conditional)
            for field, value in orig.items():
                if field not in new:
                    new[field] = value
                elif field in protected:
                    new[field] = value
                    changed.discard(field)
    for field in changed:
        if field in UNSTAMPED or field in deleted or is_meta(field):
            continue
        if field + USER not in changed and user:
            new[field + USER] = user
        if field + TIME not in changed:
            new[field + TIME] = now
    if replace and orig is not None:  # unchanged fields keep their stamps
        for field in data_fields - deleted - UNSTAMPED:
            new.setdefault(field + USER, orig.get(field + USER, user))
            new.setdefault(field + TIME, orig.get(field + TIME, now))
    return new


def parse_show(text: str | None) -> tuple[bool, bool]:
    """``?show=`` as (show ``_user`` fields, show ``_time`` fields)."""
    try:
        return SHOW[text or ""]
    except KeyError:
        raise InvalidRequest(f"show={text!r} must be user, time or all") from None


def parse_fields(text: str | None) -> list[str] | None:
    """``?fields=a,b`` as a list (``None``: every field)."""
    if not text:
        return None
    return [f for f in text.split(",") if f]


def select_fields(
    doc: Mapping[str, Any], fields: Sequence[str] | None, show: tuple[bool, bool]
) -> Document:
    """What a read shows of ``doc``: ``bodyid`` always, then ``fields`` (all when
    ``None``) with their stamps as ``show`` asks."""
    show_user, show_time = show
    out: Document = {}
    if "bodyid" in doc:
        out["bodyid"] = doc["bodyid"]
    if fields is None:
        for field, value in doc.items():
            if (field.endswith(USER) and not show_user) or (field.endswith(TIME) and not show_time):
                continue
            out[field] = value
        return out
    for field in fields:
        if field == "bodyid":
            continue
        wanted = [(field, True), (field + USER, show_user), (field + TIME, show_time)]
        for name, shown in wanted:
            if shown and name in doc:
                out[name] = doc[name]
    return out


def encode(doc: Mapping[str, Any]) -> bytes:
    """Stored form: compact JSON, keys sorted (as DVID marshals its maps)."""
    return canonical(doc).encode()


def decode(raw: bytes | memoryview) -> Document:
    value = json.loads(bytes(raw))
    if not isinstance(value, dict):
        raise InvalidRequest("a stored neuronjson document is not a JSON object")
    return value
