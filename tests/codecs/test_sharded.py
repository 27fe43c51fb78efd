"""The neuroglancer_uint64_sharded_v1 format: our writer and reader against each other
and against tensorstore (its ``neuroglancer_uint64_sharded`` key-value store reads our
shard files, and our reader reads the files it writes, both hashes and encodings), and
the compressed Morton chunk ids against tensorstore's sharded precomputed volumes."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs.sharded import (
    ShardingSpec,
    choose_spec,
    compressed_morton,
    morton_bits,
    morton_positions,
    read_chunk,
    shard_bytes,
    shard_chunks,
)
from voxhub.errors import CodecError, InvalidRequest

ts = pytest.importorskip("tensorstore")

specs = st.builds(
    ShardingSpec,
    preshift_bits=st.integers(0, 3),
    minishard_bits=st.integers(0, 3),
    shard_bits=st.integers(0, 3),
    hash=st.sampled_from(["identity", "murmurhash3_x86_128"]),
    minishard_index_encoding=st.sampled_from(["raw", "gzip"]),
    data_encoding=st.sampled_from(["raw", "gzip"]),
)
chunks = st.dictionaries(
    st.one_of(st.integers(0, 200), st.integers(0, 2**64 - 1)), st.binary(max_size=40), max_size=30
)


def _key(chunk_id: int) -> bytes:
    return struct.pack(">Q", chunk_id)  # tensorstore's key of a chunk id


def _write_ours(spec: ShardingSpec, data: dict[int, bytes], folder: Path) -> None:
    ids = np.array(list(data), np.uint64)
    shard, _ = spec.locate(ids)
    for s in set(shard.tolist()):
        mine = ids[shard == s]
        body = shard_bytes(spec, mine, [data[int(i)] for i in mine])
        (folder / spec.shard_name(s)).write_bytes(body)


def _read_ours(spec: ShardingSpec, folder: Path) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for path in folder.iterdir():
        for cid, value in shard_chunks(spec, path.read_bytes()):
            assert spec.shard_name(int(spec.locate(np.array([cid], np.uint64))[0][0])) == path.name
            assert cid not in out
            out[cid] = value
    return out


def _kvstore(spec: ShardingSpec, folder: Path) -> Any:
    doc = {"driver": "neuroglancer_uint64_sharded", "base": f"file://{folder}/"}
    return ts.KvStore.open({**doc, "metadata": spec.to_json()}).result()


@settings(max_examples=25, deadline=None)
@given(spec=specs, data=chunks)
def test_tensorstore_reads_what_we_write(
    tmp_path_factory: pytest.TempPathFactory, spec: ShardingSpec, data: dict[int, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("ours")
    _write_ours(spec, data, folder)
    assert _read_ours(spec, folder) == data
    kv = _kvstore(spec, folder)
    for cid, value in data.items():
        assert kv.read(_key(cid)).result().value == value
        body = folder / spec.shard_name(int(spec.locate(np.array([cid], np.uint64))[0][0]))
        whole = body.read_bytes()

        def ranges(start: int, stop: int, whole: bytes = whole) -> bytes:
            return whole[start:stop]

        assert read_chunk(spec, ranges, cid) == value
    assert (
        kv.read(_key(2**64 - 2 if 2**64 - 2 not in data else 1234567)).result().state == "missing"
    )


@settings(max_examples=10, deadline=None)
@given(spec=specs, data=chunks)
def test_we_read_what_tensorstore_writes(
    tmp_path_factory: pytest.TempPathFactory, spec: ShardingSpec, data: dict[int, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("theirs")
    kv = _kvstore(spec, folder)
    with ts.Transaction() as txn:
        for cid, value in data.items():
            kv.with_transaction(txn)[_key(cid)] = value
    assert _read_ours(spec, folder) == data


@settings(max_examples=50, deadline=None)
@given(
    grid=st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)),
    picks=st.lists(st.tuples(st.floats(0, 0.999), st.floats(0, 0.999), st.floats(0, 0.999))),
)
def test_morton_codes_round_trip_and_are_dense(
    grid: tuple[int, int, int], picks: list[tuple[float, float, float]]
) -> None:
    bits = morton_bits(grid)
    pos = np.array([[int(f * g) for f, g in zip(p, grid, strict=True)] for p in picks], np.int64)
    ids = compressed_morton(pos, bits)
    assert (ids < np.uint64(1 << sum(bits))).all()
    np.testing.assert_array_equal(morton_positions(ids, bits), pos.reshape(-1, 3))
    every = np.arange(1 << sum(bits), dtype=np.uint64)  # a bijection onto the padded grid
    assert len(np.unique(morton_positions(every, bits), axis=0)) == len(every)


@pytest.mark.parametrize("size", [(64, 48, 40), (32, 32, 32), (96, 16, 8)])
def test_chunk_ids_are_tensorstores(tmp_path: Path, size: tuple[int, int, int]) -> None:
    """tensorstore writes a sharded volume whose chunk c holds the value c; each chunk
    id our reader finds decodes (morton_positions) to the grid position holding it."""
    chunk = (8, 8, 8)
    gx, gy, gz = (-(-s // c) for s, c in zip(size, chunk, strict=True))
    grid = (gx, gy, gz)
    bits = morton_bits(grid)
    spec = choose_spec(sum(bits), chunk_bits=5)
    scale = {
        "key": "s0",
        "size": list(size),
        "resolution": [1, 1, 1],
        "voxel_offset": [0, 0, 0],
        "chunk_size": list(chunk),
        "encoding": "raw",
        "sharding": spec.to_json(),
    }
    multiscale = {"data_type": "uint16", "num_channels": 1, "type": "image"}
    store = ts.open(
        {
            "driver": "neuroglancer_precomputed",
            "kvstore": f"file://{tmp_path}/",
            "multiscale_metadata": multiscale,
            "scale_metadata": scale,
            "create": True,
        }
    ).result()
    ix, iy, iz = np.meshgrid(
        *(np.arange(s) // c for s, c in zip(size, chunk, strict=True)), indexing="ij"
    )
    value = (1 + ix + grid[0] * (iy + grid[1] * iz)).astype(np.uint16)  # 0: not stored
    store[..., 0].write(value).result()
    seen = 0
    for path in (tmp_path / "s0").iterdir():
        for cid, data in shard_chunks(spec, path.read_bytes()):
            x, y, z = morton_positions(np.array([cid], np.uint64), bits)[0].tolist()
            voxels = np.frombuffer(data, "<u2")
            assert (voxels == 1 + x + grid[0] * (y + grid[1] * z)).all()
            assert compressed_morton(np.array([[x, y, z]]), bits)[0] == cid
            seen += 1
    assert seen == grid[0] * grid[1] * grid[2]


@settings(max_examples=200, deadline=None)
@given(spec=specs, data=st.binary(max_size=300))
def test_malformed_shards_raise_codec_errors(spec: ShardingSpec, data: bytes) -> None:
    with contextlib.suppress(CodecError):  # anything else fails the test
        list(shard_chunks(spec, data))


@given(
    spec=specs,
    data=chunks.filter(bool),
    cut=st.integers(1, 50),
)
@settings(max_examples=50, deadline=None)
def test_truncated_shards_raise_codec_errors(
    spec: ShardingSpec, data: dict[int, bytes], cut: int
) -> None:
    ids = np.array(list(data), np.uint64)
    shard, _ = spec.locate(ids)
    mine = ids[shard == shard[0]]
    whole = shard_bytes(spec, mine, [data[int(i)] for i in mine])
    short = whole[: max(0, len(whole) - cut)]
    with pytest.raises(CodecError):  # the minishard indexes are last: one is cut
        list(shard_chunks(spec, short))


@pytest.mark.parametrize(
    "name",
    [
        "1.shard",
        "00.shard",
        "0.shard ",
        "../0.shard",
        "G0.shard",
        "0.SHARD",
        "0x0.shard",
        "10.shard",
        "-1.shard",
        "0" * 40 + ".shard",
    ],
)
def test_shard_names_are_exact(name: str) -> None:
    spec = ShardingSpec(0, 0, 4)
    assert spec.shard_of_name("f.shard") == 15
    assert spec.shard_of_name("0.shard") == 0
    with pytest.raises(InvalidRequest):
        spec.shard_of_name(name if name != "1.shard" else "10.shard")


def test_specs_are_checked() -> None:
    with pytest.raises(InvalidRequest, match="hash"):
        ShardingSpec.from_json({**ShardingSpec(1, 1, 1).to_json(), "hash": "md5"})
    with pytest.raises(InvalidRequest, match="lacks"):
        ShardingSpec.from_json({"@type": "neuroglancer_uint64_sharded_v1", "hash": "identity"})
    with pytest.raises(InvalidRequest, match="minishard_bits"):
        ShardingSpec(0, 40, 0)
    spec = choose_spec(15)
    assert (spec.preshift_bits, spec.minishard_bits, spec.shard_bits) == (3, 6, 6)
    assert ShardingSpec.from_json(spec.to_json()) == spec
    assert spec.shard_ids(2, 15) == range(1024, 1536)
