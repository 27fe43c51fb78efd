"""DVID's grid partition: subvolumes cover every ROI block once, counts add up."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.roi import partition as partition_module
from voxhub.datatypes.roi.partition import partition
from voxhub.datatypes.roi.spans import block_count, normalize
from voxhub.errors import TooLarge

span_st = st.tuples(
    st.integers(-6, 6), st.integers(-6, 6), st.integers(-10, 10), st.integers(0, 9)
).map(lambda t: [t[0], t[1], t[2], t[2] + t[3]])


def _blocks(spans: np.ndarray) -> set[tuple[int, int, int]]:
    return {(x, y, z) for z, y, x0, x1 in spans.tolist() for x in range(x0, x1 + 1)}


@settings(max_examples=50, deadline=None)
@given(st.lists(span_st, min_size=1, max_size=15), st.integers(1, 5))
def test_subvolumes_tile_the_roi(raw: list[list[int]], batch: int) -> None:
    spans = normalize(np.array(raw))
    body = partition(spans, (8, 16, 32), batch)
    blocks = _blocks(spans)
    seen: set[tuple[int, int, int]] = set()
    for sub in body["Subvolumes"]:
        lo, hi = sub["MinChunk"], sub["MaxChunk"]
        assert [h - lo_ + 1 for lo_, h in zip(lo, hi, strict=True)] == [batch] * 3
        assert sub["TotalBlocks"] == batch**3
        inside = {b for b in blocks if all(lo[i] <= b[i] <= hi[i] for i in range(3))}
        assert sub["ActiveBlocks"] == len(inside) > 0
        assert not inside & seen, "a block lies in two subvolumes"
        seen |= inside
        assert sub["MinPoint"] == [lo[0] * 32, lo[1] * 16, lo[2] * 8]
        assert sub["MaxPoint"] == [(hi[0] + 1) * 32 - 1, (hi[1] + 1) * 16 - 1, (hi[2] + 1) * 8 - 1]
    assert seen == blocks
    assert body["NumActiveBlocks"] == block_count(spans)
    assert body["NumSubvolumes"] == len(body["Subvolumes"])
    xs, ys, zs = zip(*blocks, strict=True)
    assert body["ROI"] == {
        "MinChunk": [min(xs), min(ys), min(zs)],
        "MaxChunk": [max(xs), max(ys), max(zs)],
    }


def test_an_empty_roi_has_no_subvolumes() -> None:
    body = partition(np.zeros((0, 4), dtype=np.int64), (32, 32, 32), 8)
    assert body["Subvolumes"] == []
    assert body["NumSubvolumes"] == 0


def test_too_many_subvolumes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partition_module, "MAX_SUBVOLUMES", 10)
    with pytest.raises(TooLarge, match="batchsize"):
        partition(np.array([[0, 0, 0, 100]]), (32, 32, 32), 1)
