"""Export to sharded neuroglancer precomputed (folder and S3), read back by tensorstore.

An image (uint16) and a labelmap with a pyramid level, written in two regions far apart
in x (several shards at scale 0), at a committed root and an open child where bodies are
merged: each export, at either node and every scale, reads back in tensorstore equal to
the numpy API's reads; the CLI refuses to replace an export without --overwrite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import voxhub
from voxhub import Box
from voxhub.cli.main import cli
from voxhub.client import Hub
from voxhub.codecs.sharded import ShardingSpec
from voxhub.errors import Conflict, InvalidRequest, StorageError
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.server import start_server
from voxhub.transfer import export_precomputed
from voxhub.transfer.precomputed_export import plan_export

ts = pytest.importorskip("tensorstore")

A, B, C = 2**40 + 1, 2**40 + 2, 7
FAR = 32 * 520
REGIONS = [Box((0, 32, 16), (40, 80, 86)), Box((0, 0, FAR), (32, 32, FAR + 40))]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(store path, committed root, open child)."""
    path = str(tmp_path_factory.mktemp("export") / "store")
    rng = np.random.default_rng(3)
    with voxhub.open(path, mode="w") as hub:
        root = hub.create_repo("exports").master
        em = root.create_volume("em", "uint16", block_shape=(32, 32, 32), max_scale=1)
        seg = root.create_labels("seg", block_shape=(32, 32, 32), max_scale=1)
        for box in REGIONS:
            em.write(box.start, rng.integers(1, 60000, box.shape, dtype=np.uint16))
            labels = np.full(box.shape, C, np.uint64)
            labels[:, :20, :30], labels[:, :20, 30:] = A, B
            seg.write(box.start, labels)
        root.commit("imported")
        child = root.newversion("proofreading")
        child.labels("seg").merge(A, [B])
        root_uuid, child_uuid = root.uuid, child.uuid
    return path, root_uuid, child_uuid


def _expected(hub: Hub, uuid: str, instance: str, scale: int, box: Box, sv: bool) -> np.ndarray:
    node = hub.node(uuid)
    if instance == "em":
        return node.volume("em").read(box, scale=scale)
    return node.labels("seg").read(box, scale=scale, supervoxels=sv)


def _check(kvstore: Any, hub: Hub, uuid: str, instance: str, supervoxels: bool) -> None:
    for scale in (0, 1):
        opened = ts.open(
            {"driver": "neuroglancer_precomputed", "kvstore": kvstore, "scale_index": scale}
        ).result()
        for region in REGIONS:
            f = 2**scale
            box = Box(tuple(s // f for s in region.start), tuple(-(-s // f) for s in region.stop))
            (z0, y0, x0), (z1, y1, x1) = box.start, box.stop
            got = opened[x0:x1, y0:y1, z0:z1, 0].read().result().transpose(2, 1, 0)
            expected = _expected(hub, uuid, instance, scale, box, supervoxels)
            assert got.any()
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("instance", "node", "supervoxels"),
    [("em", "root", False), ("seg", "child", False), ("seg", "child", True)],
)
def test_folder_exports_read_back_in_tensorstore(
    store: tuple[str, str, str], tmp_path: Path, instance: str, node: str, supervoxels: bool
) -> None:
    path, root, child = store
    uuid = root if node == "root" else child
    with voxhub.open(path, mode="r") as hub:
        out = tmp_path / "out"
        result = export_precomputed(
            hub.node(uuid), instance, str(out), supervoxels=supervoxels, progress=False
        )
        # 3 x 2 x 2 + 2 blocks at scale 0, 2 x 2 x 1 + 1 at scale 1: two shards each
        assert (result.blocks, result.shards) == (19, 4)
        assert len(list(out.glob("*/*.shard"))) == 4
        info = json.loads((out / "info").read_text())
        spec = ShardingSpec.from_json(info["scales"][0]["sharding"])
        assert len(list((out / info["scales"][0]["key"]).iterdir())) == 2
        assert spec.shard_bits > 0
        assert not list(out.rglob("*.partial"))
        _check(f"file://{out}/", hub, uuid, instance, supervoxels)
        if instance == "seg" and not supervoxels:  # bodies: B was merged into A
            got = ts.open({"driver": "neuroglancer_precomputed", "kvstore": f"file://{out}/"})
            assert B not in np.unique(got.result()[16:86, 32:80, 0:40].read().result())


def test_s3_export_reads_back_in_tensorstore(
    store: tuple[str, str, str], seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, root, _ = store
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    destination = f"s3://{seaweed.bucket}/exports/em?endpoint={seaweed.endpoint}"
    with voxhub.open(path, mode="r") as hub:
        export_precomputed(hub.node(root), "em", destination, progress=False)
        with pytest.raises(Conflict, match="overwrite"):
            export_precomputed(hub.node(root), "em", destination, progress=False)
        kvstore = {
            "driver": "s3",
            "bucket": seaweed.bucket,
            "path": "exports/em/",
            "endpoint": seaweed.endpoint,
            "aws_region": "us-east-1",
        }
        _check(kvstore, hub, root, "em", False)
        wrong = f"{destination.replace('/em?', '/other?')}&secret_access_key=wrong"
        with pytest.raises(StorageError, match="s3://"):  # refused: one clean error
            export_precomputed(hub.node(root), "em", wrong, progress=False)
        with pytest.raises(InvalidRequest, match="destination"):
            export_precomputed(hub.node(root), "em", " ", progress=False)


def test_tasks_follow_the_stored_blocks(store: tuple[str, str, str]) -> None:
    path, root, _ = store
    with voxhub.open(path, mode="r") as hub:
        plan = plan_export(hub.service, root, "seg")  # type: ignore[attr-defined]
        scale0 = [t for t in plan.tasks if t.scale == 0]
        assert [t.blocks for t in scale0] == [12, 2]  # one task per shard holding blocks
        assert len({t.name for t in plan.tasks}) == len(plan.tasks)
        with pytest.raises(InvalidRequest, match="supervoxels"):
            plan_export(hub.service, root, "em", supervoxels=True)  # type: ignore[attr-defined]


def test_cli_exports_and_refuses_to_overwrite(store: tuple[str, str, str], tmp_path: Path) -> None:
    path, root, _ = store
    target = f"precomputed://{tmp_path / 'seg'}"

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(cli, ["export", root, "seg", target, "--store", path, *args])

    first = invoke()
    assert first.exit_code == 0, first.output
    assert "exported" in first.output
    assert "shards" in first.output
    before = (tmp_path / "seg" / "info").read_bytes()
    again = invoke()
    assert again.exit_code != 0
    assert "--overwrite" in again.output
    assert "Traceback" not in again.output
    assert invoke("--overwrite", "--supervoxels").exit_code == 0
    assert (tmp_path / "seg" / "info").read_bytes() == before  # same geometry
    bad = invoke("--scale", "1")
    assert bad.exit_code != 0
    assert "every scale" in bad.output


def test_export_through_a_server_writes_the_same_files(
    store: tuple[str, str, str], tmp_path: Path
) -> None:
    """A hub on a server URL copies the server's sharded view: the same files, byte for
    byte, as an export from the store itself."""
    path, _, child = store
    with voxhub.open(path, mode="r") as hub:
        local = export_precomputed(hub.node(child), "seg", str(tmp_path / "local"), progress=False)
    server = start_server(path)
    try:
        with voxhub.open(server.url, mode="r") as remote:
            fetched = export_precomputed(
                remote.node(child), "seg", str(tmp_path / "remote"), progress=False
            )
    finally:
        server.stop()
    assert (fetched.shards, fetched.blocks, fetched.bytes) == (
        local.shards,
        local.blocks,
        local.bytes,
    )
    files = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*"))
    assert files == sorted(
        p.relative_to(tmp_path / "remote") for p in (tmp_path / "remote").rglob("*")
    )
    for name in files:
        if (tmp_path / "local" / name).is_file():
            assert (tmp_path / "local" / name).read_bytes() == (
                tmp_path / "remote" / name
            ).read_bytes()


@pytest.mark.parametrize(
    ("dtype", "labels", "chunk_bits"),
    [("uint8", False, 7), ("uint16", False, 6), ("uint64", True, 9)],
)
def test_shards_hold_about_32_mib(dtype: str, labels: bool, chunk_bits: int) -> None:
    """Raw image shards hold fewer 64³ blocks the wider the voxels (128 of uint8), label
    shards 512 (compressed_segmentation is ~1 bit a voxel), whatever the grid."""
    with voxhub.open("memory://") as hub:
        node = hub.create_repo("sizes").master
        vol = node.create_labels("v") if labels else node.create_volume("v", dtype)
        vol.write((0, 0, 0), np.ones((64, 64, 64), dtype))
        vol.write((0, 0, 64 * 3000), np.ones((64, 64, 64), dtype))
        plan = plan_export(hub.service, node.uuid, "v")  # type: ignore[attr-defined]
    spec = ShardingSpec.from_json(plan.info["scales"][0]["sharding"])
    assert spec.preshift_bits + spec.minishard_bits == chunk_bits
    assert [t.blocks for t in plan.tasks if t.scale == 0] == [1, 1]  # far apart: 2 shards
