"""Large export files written with O_DIRECT on a background thread
(voxhub.transfer.direct_writes): every size and split into parts lands byte for byte, a
failed write is raised and leaves no file, and an export written that way holds the
same bytes as one written buffered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub.transfer import direct_writes, export_precomputed
from voxhub.transfer.direct_writes import ALIGN, DirectWrites
from voxhub.transfer.outputs import DirectoryOutput


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(
        st.lists(st.sampled_from([0, 1, 1000, ALIGN - 1, ALIGN, ALIGN + 1, 3 * ALIGN + 5])),
        min_size=1,
        max_size=5,
    )
)
def test_files_of_any_size_and_parts_land_whole(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[list[int]]
) -> None:
    root = tmp_path_factory.mktemp("direct")
    writes = DirectWrites(DirectoryOutput(root), min_bytes=0)
    rng = np.random.default_rng(len(sizes))
    expected = {}
    for i, parts in enumerate(sizes):
        pieces = [rng.integers(0, 256, n, np.uint8).tobytes() for n in parts]
        # bytes and views of a buffer the caller reuses once write returns
        scratch = bytearray(b"".join(pieces))
        views = [memoryview(scratch)[:0]] if not pieces else []
        at = 0
        for j, p in enumerate(pieces):
            views.append(p if j % 2 else memoryview(scratch)[at : at + len(p)])
            at += len(p)
        writes.write(f"d/{i}.shard", views)
        scratch[:] = bytes(len(scratch))  # reused: the file must not see this
        expected[f"d/{i}.shard"] = b"".join(pieces)
    writes.finish()
    assert _files(root) == expected  # no partial file left either


def test_a_failed_write_is_raised_by_finish_and_leaves_no_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"a file where a folder is needed")
    writes = DirectWrites(DirectoryOutput(tmp_path), min_bytes=0)
    writes.write("ok.shard", [b"x" * (ALIGN + 3)])
    writes.write("taken/0.shard", [b"y" * 10])
    with pytest.raises(FileExistsError):  # mkdir of the folder "taken"
        writes.finish()
    assert _files(tmp_path) == {
        "taken": b"a file where a folder is needed",
        "ok.shard": b"x" * 4099,
    }


def test_an_export_written_directly_equals_one_written_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Label shards built in the staging buffer they are written from, image shards
    copied into one: the same files as the buffered writes of shards built apart."""
    node = voxhub.open("memory://").create_repo("direct").master
    seg = node.create_labels("seg", block_shape=(32, 32, 32), max_scale=1)
    labels = np.random.default_rng(4).integers(1, 40, (64, 64, 96), np.uint64)
    seg[0:64, 0:64, 0:96] = labels
    seg.build_pyramid()
    em = node.create_volume("em", "uint16", block_shape=(32, 32, 32))
    em[0:40, 0:64, 0:70] = labels[:40, :, :70].astype(np.uint16)
    for instance in ("seg", "em"):
        monkeypatch.setattr(direct_writes, "AVAILABLE", False)
        export_precomputed(node, instance, str(tmp_path / f"buffered-{instance}"), progress=False)
        monkeypatch.setattr(direct_writes, "AVAILABLE", True)
        monkeypatch.setattr(direct_writes, "DIRECT_MIN", 0)  # every shard written directly
        export_precomputed(node, instance, str(tmp_path / f"direct-{instance}"), progress=False)
        monkeypatch.undo()
        direct = _files(tmp_path / f"direct-{instance}")
        assert direct == _files(tmp_path / f"buffered-{instance}")
        assert any(len(data) % ALIGN for data in direct.values())  # padding cut off


def test_bytes_o_direct_refuses_are_written_buffered(tmp_path: Path) -> None:
    """An unaligned buffer (which O_DIRECT refuses with EINVAL where it is enforced)
    still lands whole, through the buffered fallback."""
    data = bytearray(np.random.default_rng(2).integers(0, 256, 3 * ALIGN + 1, np.uint8))
    unaligned = memoryview(data)[1:]  # a bytearray's buffer is not page-aligned
    direct_writes.write_aligned(tmp_path / "f", unaligned, unaligned.nbytes - 7)
    assert (tmp_path / "f").read_bytes() == bytes(data[1:-7])
