"""Exports where another export was (voxhub.transfer.replace): a replacement leaves exactly
the files a fresh export writes (no stale shard showing old voxels), an interrupted one
leaves no metadata (so it is never taken for a whole export) and a re-run completes it;
the exports plan from the stored blocks, not from the extents, and read only those."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import voxhub
from voxhub.client import Node
from voxhub.datatypes.imageblk.keys import KEY_BLOCK
from voxhub.testing.seaweed import SeaweedServer
from voxhub.transfer import export_precomputed, precomputed_export, zarr_export
from voxhub.transfer.outputs import open_output
from voxhub.transfer.zarr_export import export_ome_zarr
from voxhub.versioning.view import VersionedKV

FAR = 32 * 520  # x of the second region: other shards (precomputed and Zarr)


def regions(far: int) -> Node:
    """A node whose ``em`` (uint16, 32³ blocks, one pyramid level) holds 9s at x 0..40 and
    ``far`` at x FAR..FAR+40 (0: written as background, so the extents are the same)."""
    node = voxhub.open("memory://").create_repo("replace").master
    em = node.create_volume("em", "uint16", block_shape=(32, 32, 32), max_scale=1)
    em[0:32, 0:32, 0:40] = 9
    em[0:32, 0:32, FAR : FAR + 40] = far
    em.build_pyramid()
    return node


def export(kind: str, node: Node, destination: str, **options: Any) -> Any:
    if kind == "precomputed":
        return export_precomputed(node, "em", destination, progress=False, **options)
    return export_ome_zarr(node.volume("em"), destination, progress=False, **options)


METADATA = {"precomputed": "info", "zarr": "zarr.json"}


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", ["precomputed", "zarr"])
def test_a_replacement_holds_exactly_what_a_fresh_export_holds(kind: str, tmp_path: Path) -> None:
    target, fresh = tmp_path / "target", tmp_path / "fresh"
    export(kind, regions(far=7), str(target))
    (target / "notes.txt").write_text("mine")  # not an export's file: kept
    later = regions(far=0)  # the far region's shards now hold nothing
    export(kind, later, str(target), overwrite=True)
    export(kind, later, str(fresh))
    replaced = files(target)
    assert replaced.pop("notes.txt") == b"mine"
    assert replaced == files(fresh)


@pytest.mark.parametrize("kind", ["precomputed", "zarr"])
def test_an_interrupted_replacement_has_no_metadata_and_a_rerun_completes_it(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, fresh = tmp_path / "target", tmp_path / "fresh"
    export(kind, regions(far=7), str(target))
    later = regions(far=3)
    calls = []

    def fail_second(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the shards
        return int(original(*args, **kwargs))

    module: Any = precomputed_export if kind == "precomputed" else zarr_export
    name = "run_task" if kind == "precomputed" else "write_shard"
    original: Callable[..., Any] = getattr(module, name)
    monkeypatch.setattr(module, name, fail_second)
    with pytest.raises(KeyboardInterrupt):
        export(kind, later, str(target), overwrite=True, workers=1)
    assert not (target / METADATA[kind]).exists()  # never taken for a whole export
    monkeypatch.setattr(module, name, original)
    export(kind, later, str(target))  # no metadata: no overwrite needed to finish
    export(kind, later, str(fresh))
    assert files(target) == files(fresh)


def test_zarr_tasks_follow_the_stored_blocks_not_the_extents(tmp_path: Path) -> None:
    node = voxhub.open("memory://").create_repo("sparse").master
    em = node.create_volume("em", "uint8", block_shape=(32, 32, 32))
    em[0:8, 0:8, 0:8] = 1
    em[0:8, 0:8, 100_000:100_008] = 2  # ~390 shards of extents between them, all empty
    done = export_ome_zarr(em, str(tmp_path / "sparse.zarr"), progress=False)
    assert (done.shards, done.empty) == (2, 0)  # only the two shards holding blocks
    zarr = pytest.importorskip("zarr")
    array = zarr.open_array(str(tmp_path / "sparse.zarr" / "s0"), mode="r")
    assert array[7, 7, 100_007] == 2
    assert array[0, 0, 50_000] == 0


def test_s3_replacement_leaves_no_stale_shard(
    seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)

    def at(prefix: str) -> str:
        return f"s3://{seaweed.bucket}/replace/{prefix}?endpoint={seaweed.endpoint}"

    export("precomputed", regions(far=7), at("target"))
    first = open_output(at("target")).names("")
    export("precomputed", regions(far=0), at("target"), overwrite=True)
    export("precomputed", regions(far=0), at("fresh"))
    now = open_output(at("target")).names("")
    assert now == open_output(at("fresh")).names("")
    assert set(now) < set(first)  # the far region's shards were deleted


@pytest.mark.parametrize("name", ["em", "seg"])
def test_a_precomputed_export_reads_the_stored_blocks_only(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shard task reads its planned stored blocks, not every block of its shard."""
    node = voxhub.open("memory://").create_repo("sparse").master
    em = node.create_volume("em", "uint16", block_shape=(32, 32, 32))
    seg = node.create_labels("seg", block_shape=(32, 32, 32))
    for x in (0, FAR):  # one block in each of two shards of up to 512 blocks
        em[0:8, 0:8, x : x + 8] = 9
        seg[0:8, 0:8, x : x + 8] = 5
    asked: list[int] = []
    get_many, with_values = VersionedKV.get_many, VersionedKV.with_values

    def blocks(tkeys: Any) -> int:
        return sum(1 for k in tkeys if k[:1] == bytes([KEY_BLOCK]))

    def counted_get_many(self: VersionedKV, tkeys: Any) -> Any:
        asked.append(blocks(tkeys))
        return get_many(self, tkeys)

    def counted_with_values(self: VersionedKV, tkeys: Any, use: Any) -> Any:
        asked.append(blocks(tkeys))
        return with_values(self, tkeys, use)

    monkeypatch.setattr(VersionedKV, "get_many", counted_get_many)
    monkeypatch.setattr(VersionedKV, "with_values", counted_with_values)
    done = export_precomputed(node, name, str(tmp_path / name), progress=False)
    assert (done.shards, done.blocks) == (2, 2)
    assert sum(asked) == 2  # the two stored blocks, not the 2 x 512 of their shards


@pytest.mark.parametrize("kind", ["precomputed", "zarr"])
def test_a_rerun_drops_what_a_killed_export_left_half_written(kind: str, tmp_path: Path) -> None:
    import os
    import time

    target, fresh = tmp_path / "target", tmp_path / "fresh"
    export(kind, regions(far=7), str(target))
    shard = next(p for p in target.rglob("*") if p.is_file() and p.name != METADATA[kind])
    # what a killed writer leaves beside a file's name, last written an hour ago ...
    killed = shard.with_name(f".{shard.name}.0123abcd.partial")
    killed.write_bytes(b"half a shard")
    hour_ago = time.time() - 3600
    os.utime(killed, (hour_ago, hour_ago))
    # ... and one a writer is still writing, and a user's own file of that suffix
    busy = shard.with_name(f".{shard.name}.89abcdef.partial")
    busy.write_bytes(b"in progress")
    os.utime(busy, (time.time() + 3600, time.time() + 3600))
    (target / "notes.partial").write_text("mine")
    os.utime(target / "notes.partial", (hour_ago, hour_ago))

    export(kind, regions(far=7), str(target), overwrite=True)
    export(kind, regions(far=7), str(fresh))
    left = files(target)
    assert left.pop("notes.partial") == b"mine"
    assert left.pop(busy.relative_to(target).as_posix()) == b"in progress"
    assert left == files(fresh)  # the killed writer's file is gone
