"""A sparsevol reads the blocks it sends: those of the level under the body's indexed
blocks that meet the bounds, and none that the body fills."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voxhub.client import EmbeddedHub
from voxhub.datatypes.imageblk.keys import KEY_BLOCK
from voxhub.geometry import Box


class RecordingView:
    """A versioned view that records the keys its ``get_many`` is asked for."""

    def __init__(self, view: Any) -> None:
        self._view = view
        self.asked: list[bytes] = []

    def get_many(self, keys: Sequence[bytes]) -> Any:
        self.asked.extend(keys)
        return self._view.get_many(keys)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


def test_bounded_sparsevols_read_only_the_blocks_they_send() -> None:
    hub = EmbeddedHub.open("memory://")
    lv = hub.create_repo("reads").master.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
    vol = np.ones((16, 16, 64), np.uint64)
    vol[0, 0, ::2] = 2  # every scale-0 block holds some of 2: none is filled by 1
    vol[:, :, 48:] = 3
    lv.write((0, 0, 0), vol)
    instance = lv._instance
    recording = RecordingView(instance.view)
    instance.view = recording

    def blocks_read() -> list[bytes]:
        read = [k for k in recording.asked if k[:1] == bytes([KEY_BLOCK])]
        recording.asked.clear()
        return read

    runs = lv.sparsevol(1, scale=1, bounds=Box((0, 0, 8), (4, 4, 12)))
    assert len(runs) == 16  # 4 x 4 rows of x 8..11 at scale 1 (2 is outvoted there)
    assert blocks_read() == [instance.config.layout(1).tkey((0, 0, 1))]
    lv.sparsevol(1, bounds=Box((0, 0, 20), (8, 8, 21)))
    assert blocks_read() == [instance.config.layout(0).tkey((0, 0, 2))]
    # body 3 fills the 8 scale-0 blocks under level-1 block (0, 0, 3): nothing to read
    assert len(lv.sparsevol(3, scale=1)) == 8 * 8  # every row of the block whole
    assert blocks_read() == []
    hub.close()
