"""neuronjson queries: which documents a JSON query selects (DVID's ``query`` route).

A query is an object ``{field: condition, ...}`` whose conditions must all hold, or a
list of such objects of which one must hold. A condition is

* a string or number: the field equals it, or is a list holding it (numbers compare as
  numbers: ``3`` matches ``3.0``; a string never matches a number);
* ``"re/<regex>"``: a string field (or a string of a list field) in which the regular
  expression is found (``re.search``; anchor it with ``^`` as DVID's help advises);
* ``"exists/1"`` / ``"exists/0"``: the field is present and not null / absent or null;
* ``"range/<lo>/<hi>"`` (voxhub): a number field (or a number of a list field) within
  ``lo..hi`` inclusive; either bound may be empty (open);
* ``true``/``false`` (voxhub): a boolean field with that value;
* a list of the above: any of them holds.

A malformed query (a bad regex or range, a null or an object as a condition, an empty
list) is refused with :class:`~voxhub.errors.InvalidRequest` naming the field, before
any document is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxhub.errors import InvalidRequest

#: longest regular expression accepted (Python's ``re`` backtracks; keep patterns small)
MAX_PATTERN = 1000
_NUMBER = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Equal:
    value: str | int | float | bool

    def test(self, x: Any) -> bool:
        if isinstance(self.value, bool) or isinstance(x, bool):
            return isinstance(self.value, bool) and isinstance(x, bool) and x == self.value
        if isinstance(self.value, str):
            return isinstance(x, str) and x == self.value
        return _is_number(x) and x == self.value


@dataclass(frozen=True)
class Regex:
    pattern: re.Pattern[str]

    def test(self, x: Any) -> bool:
        return isinstance(x, str) and self.pattern.search(x) is not None


@dataclass(frozen=True)
class Range:
    low: float | int | None
    high: float | int | None

    def test(self, x: Any) -> bool:
        if not _is_number(x):
            return False
        return (self.low is None or self.low <= x) and (self.high is None or x <= self.high)


Atom = Equal | Regex | Range


@dataclass(frozen=True)
class AnyOf:
    """The field (or one element of a list field) passes one of ``atoms``."""

    atoms: tuple[Atom, ...]

    def test(self, doc: Mapping[str, Any], field: str) -> bool:
        value = doc.get(field)
        values = value if isinstance(value, list) else [value]
        return any(atom.test(v) for v in values for atom in self.atoms)


@dataclass(frozen=True)
class Exists:
    wanted: bool

    def test(self, doc: Mapping[str, Any], field: str) -> bool:
        return (doc.get(field) is not None) == self.wanted


Condition = AnyOf | Exists


@dataclass(frozen=True)
class Query:
    """Alternatives (any may hold), each a conjunction of ``(field, condition)``."""

    alternatives: tuple[tuple[tuple[str, Condition], ...], ...]

    def matches(self, doc: Mapping[str, Any]) -> bool:
        return any(all(c.test(doc, f) for f, c in alt) for alt in self.alternatives)

    def only_bodies(self) -> list[int] | None:
        """The body ids asked for when every alternative is only ``{"bodyid": ids}``
        (read directly, no scan), else ``None``."""
        bodies: set[int] = set()
        for alt in self.alternatives:
            if len(alt) != 1 or alt[0][0] != "bodyid" or not isinstance(alt[0][1], AnyOf):
                return None
            for atom in alt[0][1].atoms:
                v = atom.value if isinstance(atom, Equal) else None
                if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                    return None
                bodies.add(v)
        return sorted(bodies)


def parse_query(value: Any) -> Query:
    """The :class:`Query` of a parsed JSON query (object or list of objects)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise InvalidRequest("a query must be a JSON object or a non-empty list of objects")
    alternatives = []
    for i, alt in enumerate(value):
        if not isinstance(alt, dict):
            raise InvalidRequest(f"query {i} must be a JSON object, got {type(alt).__name__}")
        alternatives.append(tuple((f, _condition(f, c)) for f, c in alt.items()))
    return Query(tuple(alternatives))


def _condition(field: str, value: Any) -> Condition:
    if isinstance(value, str) and value.startswith("exists/"):
        if value not in ("exists/0", "exists/1"):
            raise InvalidRequest(f"query field {field!r}: {value!r} must be exists/0 or exists/1")
        return Exists(value == "exists/1")
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InvalidRequest(f"query field {field!r}: an empty list matches nothing")
    return AnyOf(tuple(_atom(field, v) for v in items))


def _atom(field: str, value: Any) -> Atom:
    if isinstance(value, str):
        if value.startswith("re/"):
            return Regex(_regex(field, value[3:]))
        if value.startswith("range/"):
            return _range(field, value)
        return Equal(value)
    if isinstance(value, bool) or _is_number(value):
        return Equal(value)
    shown = "null (use exists/0)" if value is None else type(value).__name__
    raise InvalidRequest(
        f"query field {field!r}: a condition must be a string, number, boolean or a list of "
        f"them, got {shown}"
    )


def _regex(field: str, pattern: str) -> re.Pattern[str]:
    if len(pattern) > MAX_PATTERN:
        raise InvalidRequest(f"query field {field!r}: regex longer than {MAX_PATTERN} characters")
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as e:
        raise InvalidRequest(f"query field {field!r}: bad regex {pattern!r}: {e}") from None


def _range(field: str, text: str) -> Range:
    parts = text[len("range/") :].split("/")
    if len(parts) != 2:
        raise InvalidRequest(f"query field {field!r}: {text!r} must be range/<low>/<high>")
    low, high = (_bound(field, text, p) for p in parts)
    if low is not None and high is not None and low > high:
        raise InvalidRequest(f"query field {field!r}: {text!r} has its low bound above its high")
    return Range(low, high)


def _bound(field: str, text: str, part: str) -> int | float | None:
    if not part:
        return None
    if not _NUMBER.fullmatch(part):
        raise InvalidRequest(f"query field {field!r}: bound {part!r} of {text!r} is not a number")
    number = float(part) if any(c in part for c in ".eE") else int(part)
    if isinstance(number, float) and number in (float("inf"), float("-inf")):
        raise InvalidRequest(f"query field {field!r}: bound {part!r} of {text!r} is too large")
    return number
