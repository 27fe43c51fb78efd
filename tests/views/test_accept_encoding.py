"""The Accept-Encoding reading of the view answers (gzip and zstd negotiation)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from voxhub.server.view_encoding import accepts, wants_gzip, wants_zstd

CODINGS = st.sampled_from(["gzip", "zstd", "br", "deflate", "identity", "*", "GZip", "x-gzip"])
QS = st.sampled_from([None, "0", "0.0", "1", "0.5", "0.001", "bad", ""])


def request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def header(items: list[tuple[str, str | None]]) -> str:
    return ", ".join(c if q is None else f"{c};q={q}" for c, q in items)


def weight(q: str | None) -> float:
    if q is None:
        return 1.0
    try:
        return float(q)
    except ValueError:
        return 0.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(CODINGS, QS), max_size=6), st.sampled_from(["gzip", "zstd"]))
def test_a_coding_is_accepted_as_its_last_mention_or_the_wildcard_says(
    items: list[tuple[str, str | None]], coding: str
) -> None:
    said = {c.lower(): weight(q) for c, q in items}  # the last mention of a name counts
    expected = said[coding] > 0 if coding in said else said.get("*", 0.0) > 0
    assert accepts(request({"Accept-Encoding": header(items)}), coding) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(CODINGS, QS), max_size=6), st.booleans())
def test_ranged_requests_are_never_encoded_and_zstd_must_be_named(
    items: list[tuple[str, str | None]], ranged: bool
) -> None:
    headers = {"Accept-Encoding": header(items)}
    if ranged:
        headers["Range"] = "bytes=0-9"
    named_zstd = any(c == "zstd" for c, _ in items)
    if ranged:
        assert not wants_gzip(request(headers))
        assert not wants_zstd(request(headers))
    elif wants_zstd(request(headers)):
        assert named_zstd  # "*" alone never gets zstd
    assert not wants_zstd(request({}))
    assert not wants_gzip(request({}))
