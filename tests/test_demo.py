"""The README's first command builds a usable demo repo."""

from __future__ import annotations

import numpy as np

import voxhub
from voxhub.demo import build, cells, em_like


def test_demo_repo_has_a_committed_import_and_an_open_edit() -> None:
    with voxhub.open("memory://") as hub:
        repo = build(hub, 64)
        root, edit = repo.nodes()
        assert root.locked
        assert not edit.locked
        assert repo.master == edit
        imported = root.volume("grayscale")
        assert np.array_equal(imported[...], em_like(64))
        assert (edit.volume("grayscale")[16:48, 16:48, 0:32] == 0).all()
        assert imported[16:48, 16:48, 0:32].any()  # the committed import is untouched
        assert imported.at_scale(3)[...].shape == (8, 8, 8)
        before, after = root.labels("segmentation"), edit.labels("segmentation")
        assert np.array_equal(before.sv[...], cells(64))
        assert len(after.labels()) == len(before.labels()) - 1  # one merge at the edit
        assert [m["Action"] for m in after.mutations()] == ["merge-complete"]
