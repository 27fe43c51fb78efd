"""Segment properties are bounded: at most ``cap`` bodies, the named ones first, and the
answer says whether bodies were left out; ``?limit=`` over HTTP."""

from __future__ import annotations

import numpy as np

import voxhub
from voxhub.datatypes.labelmap.segment_properties import (
    MAX_LIMIT,
    Listed,
    body_sizes,
    segment_properties,
)


def test_the_cap_keeps_named_bodies_first_then_ascending_ids() -> None:
    with voxhub.open("memory://", mode="w") as hub:
        node = hub.create_repo("cap").master
        seg = node.create_labels("seg", block_shape=(8, 8, 8))
        labels = np.zeros((8, 8, 40), np.uint64)
        for i, body in enumerate((11, 12, 13, 14, 15)):
            labels[:, :, i * 8 : i * 8 + i + 1] = body  # body 11 has 64 voxels, 15 has 320
        seg[:, :, :] = labels
        info = hub.service.catalog.instance(node.uuid, "seg")
        reader = hub.service.open_labels(node.uuid, info).view
        # 14 is named; 99 is named but has no voxels (not listed); then 11, 12 by id
        assert body_sizes(reader, [14, 99], cap=3) == Listed({14: 4 * 64, 11: 64, 12: 2 * 64}, True)
        every = {b: (i + 1) * 64 for i, b in enumerate(range(11, 16))}
        assert body_sizes(reader, [], cap=10) == Listed(every, False)
        assert body_sizes(reader, [], cap=5) == Listed(every, False)  # exactly all: whole
        assert body_sizes(reader, [15, 14, 13, 12, 11], cap=4).truncated  # 11 left out
        # 99 has no voxels: its place goes to the next body, and all five are listed
        named = body_sizes(reader, [99, 15, 14, 13, 12, 11], cap=5)
        assert named == Listed({15: 320, 14: 256, 13: 192, 12: 128, 11: 64}, False)
        assert body_sizes(reader, [15], cap=0) == Listed({}, True)


def test_sizes_past_32_bits_are_float32() -> None:
    small = segment_properties(Listed({1: 5}, False), None)["inline"]["properties"]
    assert small == [
        {"id": "size", "type": "number", "data_type": "uint32",
         "description": "voxels at this version", "values": [5]},
    ]  # fmt: skip
    big = segment_properties(Listed({1: 2**33, 2: 3}, False), {1: "axon"})["inline"]
    assert big["ids"] == ["1", "2"]
    label, size = big["properties"]
    assert label == {"id": "label", "type": "label", "values": ["axon", ""]}
    assert size["data_type"] == "float32"
    assert size["values"] == [float(2**33), 3.0]


def test_the_answer_says_how_it_chose_and_whether_it_is_whole() -> None:
    doc = segment_properties(Listed({1: 5}, True), None, limit=1)
    assert doc["voxhub"]["limit"] == 1
    assert doc["voxhub"]["truncated"] is True
    assert "ascending id" in doc["voxhub"]["order"]
    assert MAX_LIMIT >= 10_000
