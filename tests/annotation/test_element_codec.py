"""Elements survive every encoding: DVID JSON in and out, the stored block bytes, the
position keys; answers written as text equal the JSON of the parsed elements."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.annotation.codec import decode_block, encode_block
from voxhub.datatypes.annotation.element_json import parse_elements, to_json, to_json_text
from voxhub.datatypes.annotation.elements import (
    COORD_MAX,
    COORD_MIN,
    KINDS,
    RELS,
    concat,
    key_positions,
    pos_keys,
)

coord = st.integers(COORD_MIN, COORD_MAX)
point = st.lists(coord, min_size=3, max_size=3)
text = st.text(max_size=8)
element = st.fixed_dictionaries(
    {"Pos": point, "Kind": st.sampled_from(KINDS)},
    optional={
        "Tags": st.lists(text, max_size=3),
        "Prop": st.dictionaries(text, text, max_size=3),
        "Rels": st.lists(
            st.fixed_dictionaries({"Rel": st.sampled_from(RELS), "To": point}), max_size=4
        ),
    },
)


def dvid(item: dict[str, Any]) -> dict[str, Any]:
    """What DVID answers for a posted element (missing Tags/Prop/Rels written empty)."""
    tags, prop = item.get("Tags") or [], item.get("Prop") or {}
    return {
        "Pos": item["Pos"],
        "Kind": item["Kind"],
        "Tags": tags if tags or prop else [],
        "Prop": prop if tags or prop else {},
        "Rels": item.get("Rels", []),
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(element, max_size=12))
def test_json_and_block_round_trips(items: list[dict[str, Any]]) -> None:
    batch = parse_elements(items)
    assert to_json(batch) == [dvid(i) for i in items]
    assert json.loads(to_json_text(batch)) == to_json(batch)
    assert json.loads(to_json_text(batch, rels=False)) == to_json(batch, rels=False)
    stored = decode_block(encode_block(batch))
    assert to_json(stored) == to_json(batch)


@settings(max_examples=60, deadline=None)
@given(st.lists(point, min_size=1, max_size=50))
def test_position_keys_are_unique_ordered_and_invertible(points: list[list[int]]) -> None:
    zyx = np.array(points, np.int64)
    keys = pos_keys(zyx)
    assert np.array_equal(key_positions(keys), zyx)
    order = np.lexsort((zyx[:, 2], zyx[:, 1], zyx[:, 0]))
    assert np.array_equal(np.argsort(keys, kind="stable"), order)
    assert (keys >= 0).all()
    assert (keys < 2**60).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(element, max_size=8), st.lists(element, max_size=8), st.data())
def test_deferred_columns_read_like_decoded_ones(
    first: list[dict[str, Any]], second: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Blocks decode positions and kinds only; relationships and Tags/Prop are decoded
    when read, through takes, slices and concatenations, equal to the eager columns."""
    eager = [parse_elements(first), parse_elements(second)]
    lazy = [decode_block(encode_block(e)) for e in eager]
    assert all(e.is_deferred for e in lazy)
    both, lazy_both = concat(eager), concat(lazy)
    assert lazy_both.is_deferred or not len(lazy_both) or len(lazy_both) in map(len, eager)
    n = len(both)
    idx = np.asarray(
        data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=10) if n else st.just([])),
        np.int64,
    )
    taken = lazy_both.take(idx)
    assert np.array_equal(taken.pos, both.pos[idx])
    assert np.array_equal(taken.kind, both.kind[idx])
    assert to_json(taken) == to_json(both.take(idx))
    lo, hi = sorted(data.draw(st.tuples(st.integers(0, n), st.integers(0, n))))
    assert to_json(lazy_both.slice(lo, hi)) == to_json(both.take(np.arange(lo, hi)))
    assert json.loads(to_json_text(lazy_both)) == to_json(both)
