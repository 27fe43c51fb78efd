"""The neuronjson query matcher against a straightforward oracle, over stored documents.

The oracle reads the query language off its definition (module doc of
``voxhub.datatypes.neuronjson.query``) without the parser's structures; Hypothesis
draws documents and queries from a small value space so that matches are frequent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.neuronjson.instance import NeuronJsonInstance
from voxhub.datatypes.neuronjson.query import parse_query
from voxhub.errors import InvalidRequest
from voxhub.storage import open_store
from voxhub.versioning.catalog import Catalog

FIELDS = ("type", "size", "tags", "flag")
PATTERNS = ("re/^a", "re/b$", "re/a.c", "re/", "re/[0-9]")
scalars = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([1.0, 2.5, -0.5]),
    st.text("abc0", max_size=3),
    st.booleans(),
    st.none(),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
documents = st.dictionaries(st.sampled_from(FIELDS), values, max_size=4)
bounds = st.one_of(st.just(""), st.integers(-3, 3).map(str), st.just("1.5"))
ranges = (
    st.tuples(bounds, bounds)
    .map(lambda lh: f"range/{lh[0]}/{lh[1]}")
    .filter(lambda r: _range_ok(r))
)
atoms = st.one_of(
    st.integers(-3, 3),
    st.just(2.5),
    st.text("abc0", max_size=3),
    st.booleans(),
    st.sampled_from(PATTERNS),
    ranges,
)
conditions = st.one_of(
    atoms,
    st.lists(atoms, min_size=1, max_size=3),
    st.sampled_from(["exists/0", "exists/1"]),
)
queries = st.dictionaries(st.sampled_from(FIELDS), conditions, max_size=3)
query_lists = st.one_of(queries, st.lists(queries, min_size=1, max_size=3))


def _bound(text: str) -> float | None:
    return None if text == "" else float(text)


def _range_ok(text: str) -> bool:
    lo, hi = (_bound(p) for p in text.split("/")[1:])
    return lo is None or hi is None or lo <= hi


def _number(x: Any) -> bool:
    return type(x) in (int, float)


def atom_holds(x: Any, a: Any) -> bool:
    if isinstance(a, bool):
        return type(x) is bool and x == a
    if _number(a):
        return _number(x) and x == a
    if a.startswith("re/"):
        return isinstance(x, str) and re.search(a[3:], x) is not None
    if a.startswith("range/"):
        lo, hi = (_bound(p) for p in a.split("/")[1:])
        return _number(x) and (lo is None or lo <= x) and (hi is None or x <= hi)
    return isinstance(x, str) and x == a


def condition_holds(doc: dict[str, Any], field: str, cond: Any) -> bool:
    if cond in ("exists/0", "exists/1"):
        return (doc.get(field) is not None) == (cond == "exists/1")
    value = doc.get(field)
    xs = value if isinstance(value, list) else [value]
    cs = cond if isinstance(cond, list) else [cond]
    return any(atom_holds(x, c) for x in xs for c in cs)


def oracle(query: Any, doc: dict[str, Any]) -> bool:
    alternatives = query if isinstance(query, list) else [query]
    return any(all(condition_holds(doc, f, c) for f, c in alt.items()) for alt in alternatives)


@settings(max_examples=120, deadline=None)
@given(query_lists, documents)
def test_matcher_agrees_with_the_oracle(query: Any, doc: dict[str, Any]) -> None:
    assert parse_query(query).matches(doc) == oracle(query, doc)


@settings(max_examples=25, deadline=None)
@given(query_lists, st.lists(documents, min_size=1, max_size=6))
def test_a_query_over_stored_documents_selects_what_the_oracle_does(
    query: Any, docs: list[dict[str, Any]]
) -> None:
    catalog = Catalog(open_store("memory://"))
    repo = catalog.create_repo("q")
    catalog.create_instance(repo.root, "nj", "neuronjson", {})
    nj = NeuronJsonInstance(catalog.view(repo.root, "nj"), "nj")
    nj.put_many({i + 1: d for i, d in enumerate(docs)}, user="tester", replace=True)
    stored = nj.values_in(1, len(docs), show=(True, True))
    expected = [b for b, d in stored.items() if oracle(query, d)]
    assert nj.query_ids(query) == expected
    assert [d["bodyid"] for d in nj.query(query, fields=["type"])] == expected


def test_bodyid_only_queries_read_the_bodies_asked() -> None:
    catalog = Catalog(open_store("memory://"))
    repo = catalog.create_repo("q")
    catalog.create_instance(repo.root, "nj", "neuronjson", {})
    nj = NeuronJsonInstance(catalog.view(repo.root, "nj"), "nj")
    nj.put_many({b: {"type": str(b)} for b in (5, 7, 9)}, user="u")
    assert nj.query_ids({"bodyid": [9, 5, 5, 4]}) == [5, 9]
    assert nj.query_ids([{"bodyid": 7}, {"bodyid": [9]}]) == [7, 9]
    assert parse_query({"bodyid": [9, 5]}).only_bodies() == [5, 9]
    assert parse_query({"bodyid": 9, "type": "9"}).only_bodies() is None


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"type": "re/("}, "bad regex"),
        ({"size": "range/5/1"}, "low bound above"),
        ({"size": "range/x/"}, "not a number"),
        ({"size": "range/1"}, "range/<low>/<high>"),
        ({"size": "exists/2"}, "exists/0 or exists/1"),
        ({"size": None}, "exists/0"),
        ({"size": {"a": 1}}, "got dict"),
        ({"size": []}, "empty list"),
        ({"size": [1, [2]]}, "got list"),
        ([], "non-empty"),
        ([{"a": 1}, 3], "query 1"),
        ("type", "JSON object"),
    ],
)
def test_malformed_queries_are_refused_naming_the_problem(query: Any, named: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(named)):
        parse_query(query)
