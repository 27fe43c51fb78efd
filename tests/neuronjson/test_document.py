"""DVID's field-merge and stamp rules (``merge_document``) and field selection.

The property tests compare ``merge_document`` with the rules written out plainly for
posts that carry no explicit stamps; DVID's own cases (explicit ``_user``, null deletes,
replace keeping the stamps of unchanged fields) are examples below.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.neuronjson.document import (
    merge_document,
    parse_document,
    select_fields,
)
from voxhub.errors import InvalidRequest

NAMES = ("a", "b", "c", "user")
plain = st.one_of(st.integers(0, 2), st.sampled_from([1.0, True, "x", "y", [1], [1.0]]))
stamps = st.tuples(st.sampled_from(["old1", "old2"]), st.sampled_from(["t1", "t2"]))


@st.composite
def stored(draw: st.DrawFn) -> dict[str, Any] | None:
    """A stored document (or none): data fields, most with stamps."""
    if draw(st.booleans()):
        return None
    doc: dict[str, Any] = {"bodyid": 7}
    for name in draw(st.sets(st.sampled_from(NAMES))):
        doc[name] = draw(plain)
        if name != "user" and draw(st.integers(0, 3)):
            doc[name + "_user"], doc[name + "_time"] = draw(stamps)
    return doc


posts = st.dictionaries(st.sampled_from(NAMES), st.one_of(plain, st.none()), max_size=4)


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and repr(a) == repr(b)


def expected(
    old: dict[str, Any] | None, posted: dict[str, Any], conditional: set[str], replace: bool
) -> dict[str, Any]:
    """The rules for a post without stamps, by ``user`` "me" at time "now"."""
    out: dict[str, Any] = {"bodyid": 7}
    prior = old or {}
    if old is not None and not replace:  # untouched fields stay, with their stamps
        out |= {f: v for f, v in prior.items() if f.split("_")[0] not in posted}
    for field, value in posted.items():
        keep_stamps = {
            field + s: prior[field + s] for s in ("_user", "_time") if field + s in prior
        }
        if value is None:  # deleted: stamped with who deleted it
            out |= {field + "_user": "me", field + "_time": "now"}
        elif field in conditional and field in prior and not replace:
            out[field] = prior[field]
            out |= keep_stamps
        elif old is not None and field in prior and same(prior[field], value):
            out[field] = value
            if replace and field != "user":
                out |= {field + "_user": "me", field + "_time": "now"} | keep_stamps
            else:
                out |= keep_stamps
        else:
            out[field] = value
            if field != "user":
                out |= {field + "_user": "me", field + "_time": "now"}
    return out


@settings(max_examples=120, deadline=None)
@given(stored(), posts, st.sets(st.sampled_from(NAMES)), st.booleans())
def test_merge_follows_dvids_rules(
    old: dict[str, Any] | None, posted: dict[str, Any], conditional: set[str], replace: bool
) -> None:
    doc = parse_document(posted, 7)
    got = merge_document(
        old, doc, user="me", now="now", conditional=sorted(conditional), replace=replace
    )
    assert got == expected(old, posted, conditional, replace)


@settings(max_examples=40, deadline=None)
@given(stored(), posts.map(lambda p: {f: v for f, v in p.items() if v is not None}))
def test_posting_the_same_fields_again_changes_nothing(
    old: dict[str, Any] | None, posted: dict[str, Any]
) -> None:
    once = merge_document(old, parse_document(posted, 7), user="me", now="t1")
    assert merge_document(once, parse_document(posted, 7), user="you", now="t9") == once


def test_explicit_stamps_win_and_null_stamps_are_not_written() -> None:
    # DVID's TestKeyvalueUser: a post may name the user of a field, and delete fields
    first = merge_document(None, parse_document({"key1": "foo"}, 7), user="frank", now="t1")
    forced = parse_document({"key1": "moo", "key1_user": "frank"}, 7)
    second = merge_document(first, forced, user="admin", now="t2")
    assert second == {"bodyid": 7, "key1": "moo", "key1_user": "frank", "key1_time": "t2"}
    gone = parse_document({"key1": None, "key1_user": None}, 7)
    assert merge_document(second, gone, user="deleter", now="t3") == {
        "bodyid": 7,
        "key1_time": "t3",
    }
    only_value = parse_document({"key1": None}, 7)
    assert merge_document(second, only_value, user="deleter", now="t3") == {
        "bodyid": 7,
        "key1_user": "deleter",
        "key1_time": "t3",
    }


def test_replace_keeps_the_stamps_of_unchanged_fields() -> None:
    old = {"bodyid": 7, "n": 1, "n_user": "donald", "n_time": "t0", "s": "a", "s_user": "x"}
    posted = parse_document({"s": "b", "only": [1, 2], "n": 1}, 7)
    got = merge_document(old, posted, user="sandra", now="t5", replace=True)
    assert got == {
        "bodyid": 7,
        "n": 1,
        "n_user": "donald",
        "n_time": "t0",
        "s": "b",
        "s_user": "sandra",
        "s_time": "t5",
        "only": [1, 2],
        "only_user": "sandra",
        "only_time": "t5",
    }


def test_values_compare_as_json() -> None:
    old = merge_document(None, parse_document({"n": 1}, 7), user="a", now="t1")
    for other in (1.0, True, "1", [1]):
        got = merge_document(old, parse_document({"n": other}, 7), user="b", now="t2")
        assert got["n_user"] == "b", other


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ([1], "must be a JSON object"),
        ({"bodyid": 8}, "does not match its key 7"),
        ({"bodyid": "7"}, "does not match"),
        ({"bodyid_user": "x"}, "'bodyid_user' is not allowed"),
        ({"a_time": 5}, "'a_time' must be a string or null"),
    ],
)
def test_bad_documents_are_refused(value: Any, named: str) -> None:
    with pytest.raises(InvalidRequest, match=named):
        parse_document(value, 7)


def test_selection_shows_bodyid_and_stamps_as_asked() -> None:
    doc = {"bodyid": 7, "a": 1, "a_user": "u", "a_time": "t", "b": 2}
    assert select_fields(doc, None, (False, False)) == {"bodyid": 7, "a": 1, "b": 2}
    assert select_fields(doc, ["a"], (True, False)) == {"bodyid": 7, "a": 1, "a_user": "u"}
    assert select_fields(doc, ["b", "zz"], (True, True)) == {"bodyid": 7, "b": 2}
    assert select_fields(doc, None, (False, True)) == {"bodyid": 7, "a": 1, "a_time": "t", "b": 2}
