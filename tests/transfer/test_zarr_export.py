"""Export to sharded OME-Zarr (local directory and the SeaweedFS bucket), read back by
zarr-python and tensorstore: every level equals the numpy API's read of the same node."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.cli.main import cli
from voxhub.client import Node
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.errors import Conflict
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.server import ServerProcess
from voxhub.transfer.zarr_export import export_ome_zarr, shard_tasks

zarr = pytest.importorskip("zarr")
ts = pytest.importorskip("tensorstore")

A, B = 2**40 + 1, 2**40 + 2


@dataclass
class Volumes:
    root: Node  # committed
    child: Node  # open: B merged into A, em rewritten


@pytest.fixture(scope="module")
def volumes() -> Iterator[Volumes]:
    rng = np.random.default_rng(3)
    with voxhub.open("memory://") as hub:
        root = hub.create_repo("export", "zarr export").master
        em = root.create_volume(
            "em", "uint16", block_shape=(32, 32, 32), voxel_size=(40, 8, 4), max_scale=1
        )
        em[0:40, 32:80, 16:300] = rng.integers(1, 60000, (40, 48, 284), dtype=np.uint16)
        seg = root.create_labels("seg", block_shape=(32, 32, 32), max_scale=1)
        labels = np.full((48, 64, 64), 7, np.uint64)
        labels[:, :40, :30], labels[:, :40, 30:] = A, B
        seg[32:80, 0:64, 0:64] = labels
        root.commit("imported")
        child = root.newversion("proofreading")
        child.labels("seg").merge(A, [B])
        child.volume("em")[0:8, 40:50, 20:30] = 3
        yield Volumes(root, child)


def _expected(node: Node, name: str, shape: Any, scale: int, supervoxels: bool) -> np.ndarray:
    box = Box((0, 0, 0), tuple(shape))
    if name == "em":
        return node.volume("em").read(box, scale)
    return node.labels(name).read(box, scale, supervoxels=supervoxels)


def _check(group: Any, array_spec: Any, node: Node, name: str, supervoxels: bool) -> None:
    assert sorted(group.array_keys()) == ["s0", "s1"]
    for scale in (0, 1):
        by_zarr = group[f"s{scale}"][...]
        by_tensorstore = ts.open(array_spec(scale), read=True).result().read().result()
        expected = _expected(node, name, by_zarr.shape, scale, supervoxels)
        assert by_zarr.any()
        np.testing.assert_array_equal(by_zarr, expected)
        np.testing.assert_array_equal(by_tensorstore, expected)


@pytest.mark.parametrize(
    ("name", "node", "supervoxels"),
    [
        ("em", "root", False),
        ("em", "child", False),
        ("seg", "child", False),
        ("seg", "child", True),
    ],
)
def test_directory_export_reads_back_with_both_clients(
    volumes: Volumes, tmp_path: Path, name: str, node: str, supervoxels: bool
) -> None:
    at = volumes.root if node == "root" else volumes.child
    vol = at.volume("em") if name == "em" else at.labels("seg")
    target = tmp_path / "out.ome.zarr"
    done = export_ome_zarr(vol, str(target), supervoxels=supervoxels, progress=False)
    # em: x 16..300 at 256-voxel shards -> 2 shards at s0, 1 at s1
    assert (done.shards, done.empty) == ((3, 0) if name == "em" else (2, 0))
    assert done.nbytes == sum(p.stat().st_size for p in target.glob("s*/c/*/*/*"))
    ome = json.loads((target / "zarr.json").read_text())["attributes"]["ome"]
    assert [d["path"] for d in ome["multiscales"][0]["datasets"]] == ["s0", "s1"]

    def spec(scale: int) -> dict[str, Any]:
        return {"driver": "zarr3", "kvstore": {"driver": "file", "path": f"{target}/s{scale}/"}}

    _check(zarr.open_group(str(target), mode="r"), spec, at, name, supervoxels)
    if name == "seg":
        merged = not supervoxels
        assert (B in np.unique(zarr.open_array(str(target / "s0"), mode="r")[...])) != merged


def test_an_export_is_replaced_only_when_asked(volumes: Volumes, tmp_path: Path) -> None:
    target = str(tmp_path / "em.zarr")
    export_ome_zarr(volumes.child.volume("em"), target, progress=False)
    with pytest.raises(Conflict, match="overwrite"):
        export_ome_zarr(volumes.root.volume("em"), target, progress=False)
    export_ome_zarr(volumes.root.volume("em"), target, progress=False, overwrite=True)
    got = zarr.open_array(f"{target}/s0", mode="r")[0:8, 40:50, 20:30]
    assert not (got == 3).any()  # the root's voxels, not the child's rewrite


def test_cli_exports_labels_with_a_summary(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    with voxhub.open(store, mode="w") as hub:
        node = hub.create_repo("cli").master
        node.create_labels("seg", block_shape=(16, 16, 16))[0:20, 0:20, 0:20] = 5
        ref = node.uuid
    target = tmp_path / "seg.zarr"
    args = ["export", ref, "seg", f"zarr://{target}", "--store", store]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "1 shards" in result.output
    np.testing.assert_array_equal(zarr.open_array(str(target / "s0"), mode="r")[...], 5)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1
    assert "--overwrite" in again.output


@pytest.mark.s3
def test_s3_export_reads_back_with_both_clients(
    volumes: Volumes, seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import obstore.store

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    prefix = f"zarr-{uuid.uuid4().hex}/seg.ome.zarr"
    url = f"s3://{seaweed.bucket}/{prefix}?endpoint={seaweed.endpoint}"
    seg = volumes.child.labels("seg")
    done = export_ome_zarr(seg, url, progress=False)
    assert done.destination == f"s3://{seaweed.bucket}/{prefix}"
    with pytest.raises(Conflict):
        export_ome_zarr(seg, url, progress=False)
    objects = obstore.store.S3Store(
        seaweed.bucket,
        prefix=prefix,
        endpoint=seaweed.endpoint,
        region="us-east-1",
        access_key_id=seaweed.access_key,
        secret_access_key=seaweed.secret_key,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    group = zarr.open_group(zarr.storage.ObjectStore(objects, read_only=True), mode="r")

    def spec(scale: int) -> dict[str, Any]:
        kvstore = {
            "driver": "s3",
            "bucket": seaweed.bucket,
            "path": f"{prefix}/s{scale}/",
            "endpoint": seaweed.endpoint,
            "aws_region": "us-east-1",
            "aws_credentials": {"type": "environment"},
        }
        return {"driver": "zarr3", "kvstore": kvstore}

    _check(group, spec, volumes.child, "seg", False)


@dataclass
class _Shaped:
    """What :func:`shard_tasks` asks of a volume."""

    config: ImageConfig
    boxes: list[Box]

    def extents(self, scale: int) -> Box:
        return self.boxes[scale]


@settings(max_examples=60, deadline=None)
@given(
    block=st.sampled_from([(64, 64, 64), (32, 64, 128), (16, 16, 16)]),
    start=st.tuples(*[st.integers(-100, 600)] * 3),
    size=st.tuples(*[st.integers(1, 700)] * 3),
)
def test_tasks_are_disjoint_shards_covering_the_extents(
    block: tuple[int, int, int], start: tuple[int, int, int], size: tuple[int, int, int]
) -> None:
    config = ImageConfig.create(dtype="uint8", block_shape=block)
    extents = Box(start, tuple(s + n for s, n in zip(start, size, strict=True)))
    tasks = shard_tasks(_Shaped(config, [extents]))  # type: ignore[arg-type]
    stop = [max(0, s) for s in extents.stop]
    if 0 in stop:
        assert tasks == []
        return
    side = [max(b, 256 // b * b) for b in block]
    for task in tasks:
        assert all(a % s == 0 for a, s in zip(task.box.start, side, strict=True))
        assert all(0 < n <= s for n, s in zip(task.box.shape, side, strict=True))
        assert task.shard == tuple(a // s for a, s in zip(task.box.start, side, strict=True))
    assert len({t.shard for t in tasks}) == len(tasks)
    inside = Box(tuple(max(0, s) for s in extents.start), tuple(stop))
    hit = sum(t.box.intersect(inside).size for t in tasks)
    assert hit == inside.size  # disjoint tasks cover every voxel of the extents


def test_overwriting_leaves_no_stale_shard_showing(volumes: Volumes, tmp_path: Path) -> None:
    target = str(tmp_path / "stale.zarr")
    export_ome_zarr(volumes.root.volume("em"), target, progress=False)  # shards x 0 and 1
    with voxhub.open("memory://") as hub:
        late = hub.create_repo("late").master.create_volume(
            "late", "uint16", block_shape=(32, 32, 32), max_scale=1
        )
        late[0:40, 32:80, 280:300] = 5  # shard x 1 only: shard x 0 is inside, background
        export_ome_zarr(late, target, progress=False, overwrite=True)
        got = zarr.open_array(f"{target}/s0", mode="r")[...]
        np.testing.assert_array_equal(got, late[:])


def test_a_remote_volume_exports_too(voxhub_server: ServerProcess, tmp_path: Path) -> None:
    """The export reads through the numpy API, so a volume on a server exports as well."""
    with voxhub.open(voxhub_server.url) as hub:
        node = hub.create_repo(f"zarr-export-{uuid.uuid4().hex[:8]}").master
        seg = node.create_labels("seg", block_shape=(16, 16, 16), max_scale=1)
        seg[0:20, 0:40, 0:30] = A
        done = export_ome_zarr(seg, str(tmp_path / "remote.zarr"), progress=False)
        assert done.shards == 2  # one per level
        for scale in (0, 1):
            got = zarr.open_array(str(tmp_path / "remote.zarr" / f"s{scale}"), mode="r")[...]
            assert got.any()
            expected = seg.read(Box((0, 0, 0), got.shape), scale)
            np.testing.assert_array_equal(got, expected)
