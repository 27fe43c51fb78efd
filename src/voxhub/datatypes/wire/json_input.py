"""JSON request bodies, parsed so that no body can make the server answer 500.

``json.loads`` alone fails four ways on hostile bodies: malformed text and invalid UTF-8
(``ValueError``), integers of more than 4,300 digits (``ValueError``), nesting deeper than
the interpreter's recursion limit (``RecursionError``, not a ``ValueError``), and
``NaN``/``Infinity``, which it accepts although they are not JSON. A body nested a little
less deeply than the limit parses, but then breaks whatever walks it recursively later
(``repr`` in an error message, ``json.dumps`` when it is stored). So the nesting depth is
bounded *before* parsing, by :func:`nesting_depth`, which runs at C speed (``translate``
and regular expressions on bytes) rather than walking the parsed value in Python.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from voxhub.errors import InvalidRequest

#: no voxhub or DVID body nests deeper than a few levels
MAX_NESTING = 32
_KEEP = b"[]{}"
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")


def nesting_depth(raw: bytes, limit: int = MAX_NESTING) -> int:
    """How deeply the arrays and objects of the JSON text ``raw`` nest, counted up to
    ``limit + 1`` (a deeper text answers ``limit + 1``).

    Strings are removed, then everything but brackets, and
    innermost ``[]``/``{}`` pairs are deleted once per level.

    >>> nesting_depth(b'[1, {"a": [2, "]]"]}]')
    3
    >>> nesting_depth(b"[" * 100 + b"]" * 100, limit=5)
    6
    """
    quick = depth_without_escapes(raw)
    if quick is not None and quick <= limit:
        return quick
    return exact_depth(raw, limit)


def exact_depth(raw: bytes, limit: int = MAX_NESTING) -> int:
    """:func:`nesting_depth` by regular expressions alone (any text)."""
    # strings first, on the raw text: an escape must see the character it escapes
    skeleton = _STRING.sub(b"", raw).translate(None, _DROP)
    depth = 0
    while skeleton and depth <= limit:
        shorter = _INNERMOST.sub(b"", skeleton)
        if len(shorter) == len(skeleton):
            break  # unbalanced: json.loads will name the syntax error
        skeleton = shorter
        depth += 1
    return depth


#: per byte: +1 opening bracket, -1 closing bracket, 2 quote, else 0
_STEP = np.zeros(256, np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_STEP[ord('"')] = 2
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')


def depth_without_escapes(raw: bytes) -> int | None:
    """The deepest bracket nesting outside strings, for a text without backslashes
    (``None`` for one with them); at C speed on megabytes of annotations, where the
    string-removing regular expression takes as long as the parse.

    Without escapes, a bracket lies in a string exactly when an odd number of quotes
    precede it. For well-formed JSON this is :func:`nesting_depth`; a text with a string
    left open or a bracket closing what was not opened answers ``None`` too, and for
    other malformed text the count never exceeds the exact one when within the limit
    (``tests/fuzz/test_parsers.py``), so a caller trusts it within the limit and asks
    the exact method otherwise.
    """
    if b"\\" in raw:
        return None
    # small dtypes throughout: on small VMs first touches of fresh memory cost more
    # than the arithmetic (a 13 MB body would otherwise allocate ~150 MB)
    marks = _STEP[np.frombuffer(raw.translate(None, _NOT_MARKS), np.uint8)]
    quote = marks == 2
    in_string = np.logical_xor.accumulate(quote)  # a closing quote itself reads False
    if len(in_string) and in_string[-1]:
        return None  # a string left open
    steps = np.where(in_string | quote, np.int8(0), marks)
    depth = np.cumsum(steps, dtype=np.int32)
    if len(depth) and depth.min() < 0:
        return None  # a bracket closes what was not opened
    return int(depth.max(initial=0))


def _refuse_constant(name: str) -> Any:
    raise InvalidRequest(f"JSON body holds {name}, which is not a JSON number")


def parse_json(raw: bytes | bytearray | str, what: str = "request body") -> Any:
    """The JSON value of ``raw``; :class:`InvalidRequest` naming ``what`` and the problem
    for malformed text, invalid UTF-8, nesting deeper than :data:`MAX_NESTING`, integers of
    thousands of digits and ``NaN``/``Infinity``."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    if nesting_depth(data) > MAX_NESTING:
        raise InvalidRequest(f"{what} nests arrays or objects deeper than {MAX_NESTING} levels")
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except InvalidRequest:
        raise
    except (ValueError, RecursionError) as e:
        raise InvalidRequest(f"{what} is not valid JSON: {e}") from None
