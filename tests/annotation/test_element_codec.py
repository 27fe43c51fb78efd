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
