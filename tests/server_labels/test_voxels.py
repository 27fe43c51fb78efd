"""labelmap voxel routes: raw, label, labels, blocks, specificblocks, POST blocks."""

from __future__ import annotations

import gzip
import hashlib
import struct

import lz4.block
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxhub.codecs.cseg import decode_google
from voxhub.datatypes.labelmap.native_block import decode_native, encode_native
from voxhub.datatypes.wire.block_stream import decode_stream, encode_stream

from .conftest import BIG, SEG, Env


def _u64(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(data, "<u8").reshape(shape)


# -- raw -------------------------------------------------------------------------------------
def test_get_raw_returns_body_ids_and_supervoxels(env: Env) -> None:
    assert env.client.post(env.url("merge"), json=[1, 2]).status_code == 200
    r = env.client.get(env.url("raw/0_1_2/48_16_16/0_0_0"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    bodies = SEG.copy()
    bodies[bodies == 2] = 1
    assert np.array_equal(_u64(r.content, (16, 16, 48)), bodies)
    r = env.client.get(env.url("raw/0_1_2/48_16_16/0_0_0?supervoxels=true"))
    assert np.array_equal(_u64(r.content, (16, 16, 48)), SEG)


def test_get_raw_compressions(env: Env) -> None:
    base = env.url("raw/0_1_2/48_16_16/0_0_0")
    lz = env.client.get(base + "?compression=lz4").content
    assert np.array_equal(
        _u64(lz4.block.decompress(lz, uncompressed_size=SEG.nbytes), SEG.shape), SEG
    )
    gz = env.client.get(base + "?compression=gzip").content
    assert np.array_equal(_u64(gzip.decompress(gz), SEG.shape), SEG)
    google = env.client.get(base + "?compression=google").content
    assert np.array_equal(decode_google(google, (16, 16, 48), np.uint64), SEG)
    r = env.client.get(base + "?compression=googlegzip")
    assert r.headers["content-encoding"] == "gzip"
    # httpx undoes the Content-Encoding: what is left is the google stream
    assert np.array_equal(decode_google(r.content, (16, 16, 48), np.uint64), SEG)
    raw = env.client.get(base + "?compression=uncompressed").content
    assert np.array_equal(_u64(raw, SEG.shape), SEG)
    r = env.client.get(base + "?compression=jpeg")
    assert r.status_code == 400
    assert "google" in r.json()["error"]


def test_google_chunk_of_one_block_is_mapped_on_its_tables(env: Env) -> None:
    """neuroglancer's chunk (one whole stored block) is served from the stored stream:
    after a merge it holds bodies (supervoxels on request), an unwritten block is 0, and
    it equals the decoded path (an unaligned box of the same voxels)."""
    assert env.client.post(env.url("merge"), json=[3, 2]).status_code == 200
    bodies = SEG.copy()
    bodies[bodies == 2] = 3
    for extra, expected in (("", bodies), ("&supervoxels=true", SEG)):
        for x in (0, 16, 32):
            url = env.url(f"raw/0_1_2/16_16_16/{x}_0_0?compression=googlegzip{extra}")
            r = env.client.get(url)
            assert r.headers["content-encoding"] == "gzip"
            got = decode_google(r.content, (16, 16, 16), np.uint64)
            assert np.array_equal(got, expected[:, :, x : x + 16])
    slow = env.client.get(env.url("raw/0_1_2/48_16_16/0_0_0?compression=google")).content
    assert np.array_equal(decode_google(slow, (16, 16, 48), np.uint64), bodies)
    unset = env.client.get(env.url("raw/0_1_2/16_16_16/48_0_0?compression=google")).content
    assert not decode_google(unset, (16, 16, 16), np.uint64).any()


def test_get_raw_scale_and_outside(env: Env) -> None:
    r = env.client.get(env.url("raw/0_1_2/24_8_8/0_0_0?scale=1&supervoxels=true"))
    assert r.status_code == 200
    down = _u64(r.content, (8, 8, 24))
    assert set(np.unique(down).tolist()) <= {0, 1, 2, 3, BIG}
    assert [down[0, 0, 0], down[0, 0, 10], down[0, 7, 10]] == [1, 2, 3]
    r = env.client.get(env.url("raw/0_1_2/4_4_4/1000_1000_1000"))
    assert r.content == bytes(4 * 4 * 4 * 8)
    assert env.client.get(env.url("raw/0_1_2/4_4_4/0_0_0?scale=2")).status_code == 400


def test_get_raw_errors(env: Env) -> None:
    r = env.client.get(env.url("raw/xy/4_4/0_0_0"))
    assert r.status_code == 400
    assert "3-D" in r.json()["error"]
    assert env.client.get(env.url("raw/0_1_2/4_4/0_0_0")).status_code == 400
    r = env.client.get(env.url("raw/0_1_2/1024_1024_1/0_0_0"))  # 8 MiB > 1 MiB limit
    assert r.status_code == 413
    assert env.client.get(env.url("raw/0_1_2/4_4_4/0_0_0?supervoxels=maybe")).status_code == 400


def test_post_raw_unaligned_and_compressed(env: Env) -> None:
    data = np.arange(1, 3 * 5 * 7 + 1, dtype=np.uint64).reshape(3, 5, 7) + np.uint64(2**63)
    url = env.url("raw/0_1_2/7_5_3/3_2_1")
    assert env.client.post(url, content=data.astype("<u8").tobytes()).status_code == 200
    got = env.client.get(url + "?supervoxels=true").content
    assert np.array_equal(_u64(got, data.shape), data)
    for name, wrapped in (
        ("lz4", lz4.block.compress((data + 1).astype("<u8").tobytes(), store_size=False)),
        ("gzip", gzip.compress((data + 2).astype("<u8").tobytes())),
    ):
        r = env.client.post(f"{url}?compression={name}", content=wrapped)
        assert r.status_code == 200, r.text
    got = env.client.get(url + "?supervoxels=true").content
    assert np.array_equal(_u64(got, data.shape), data + 2)
    # the index followed the write: the painted supervoxel has exactly one voxel
    assert env.client.get(env.url(f"size/{2**63 + 3}")).json() == {"voxels": 1}


def test_post_raw_errors(env: Env) -> None:
    url = env.url("raw/0_1_2/4_4_4/0_0_0")
    r = env.client.post(url, content=bytes(10))
    assert r.status_code == 400
    assert "512" in r.json()["error"]
    r = env.client.post(url + "?compression=gzip", content=b"not gzip")
    assert r.status_code == 400
    assert env.client.post(url + "?scale=1", content=bytes(512)).status_code == 400
    assert env.client.post(env.url("raw/xy/4_4/0_0_0"), content=bytes(128)).status_code == 400
    env.client.post(f"/api/node/{env.node.uuid}/commit", json={})
    r = env.client.post(url, content=bytes(512))
    assert r.status_code == 409


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20)),
    st.tuples(st.integers(-40, 40), st.integers(-40, 40), st.integers(-40, 40)),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["raw", "lz4", "gzip", "google"]),
)
def test_raw_round_trip(
    env: Env, shape: tuple[int, int, int], offset: tuple[int, int, int], seed: int, comp: str
) -> None:
    rng = np.random.default_rng(seed)
    pool = np.array([0, 1, 7, 2**40 + 3, 2**63 + 1, 2**64 - 1], np.uint64)
    data = pool[rng.integers(0, len(pool), size=shape)]
    size = f"{shape[2]}_{shape[1]}_{shape[0]}"
    at = f"{offset[2]}_{offset[1]}_{offset[0]}"
    url = env.url(f"raw/0_1_2/{size}/{at}")
    assert env.client.post(url, content=data.astype("<u8").tobytes()).status_code == 200
    got = env.client.get(f"{url}?supervoxels=true&compression={comp}").content
    if comp == "lz4":
        got = lz4.block.decompress(got, uncompressed_size=data.nbytes)
    elif comp == "gzip":
        got = gzip.decompress(got)
    if comp == "google":
        assert np.array_equal(decode_google(got, shape, np.uint64), data)
    else:
        assert np.array_equal(_u64(got, shape), data)


# -- label, labels ------------------------------------------------------------------------
def test_label(env: Env) -> None:
    assert env.client.get(env.url("label/40_0_0")).json() == {"Label": BIG}
    assert env.client.get(env.url("label/20_10_3")).json() == {"Label": 3}
    assert env.client.get(env.url("label/-5_0_0")).json() == {"Label": 0}
    assert env.client.get(env.url("label/5000_0_0")).json() == {"Label": 0}
    env.client.post(env.url("merge"), json=[3, 2])
    assert env.client.get(env.url("label/20_0_0")).json() == {"Label": 3}
    assert env.client.get(env.url("label/20_0_0?supervoxels=true")).json() == {"Label": 2}
    assert env.client.get(env.url("label/10_0_0?scale=1")).json() == {"Label": 3}
    r = env.client.get(env.url("label/10_0_0?scale=1&supervoxels=true"))
    assert r.json() == {"Label": 2}
    assert env.client.get(env.url("label/1_2")).status_code == 400


def test_labels(env: Env) -> None:
    points = [[0, 0, 0], [40, 0, 0], [20, 10, 3], [20, 1, 15], [-1, 0, 0], [47, 15, 15]]
    r = env.client.request("GET", env.url("labels"), json=points)
    assert r.status_code == 200
    assert r.json() == [1, BIG, 3, 2, 0, 0]
    env.client.post(env.url("merge"), json=[1, 3])
    body = b"[[20, 10, 3], [0, 0, 0]]"
    digest = hashlib.md5(body).hexdigest()
    r = env.client.request("GET", env.url(f"labels?hash={digest}"), content=body)
    assert r.json() == [1, 1]
    r = env.client.request("GET", env.url("labels?supervoxels=true"), content=body)
    assert r.json() == [3, 1]
    r = env.client.request("GET", env.url("labels?hash=00"), content=body)
    assert r.status_code == 400
    for bad in (b"{}", b"[[1, 2]]", b"[[1, 2, true]]", b"nope", b""):
        assert env.client.request("GET", env.url("labels"), content=bad).status_code == 400


# -- block streams ---------------------------------------------------------------------
def _records(data: bytes) -> dict[tuple[int, int, int], bytes]:
    return {c: p for c, p in decode_stream(data)}


def test_get_blocks_compressions(env: Env) -> None:
    url = env.url("blocks/64_16_16/0_0_0")
    block = SEG[:, :, 16:32]
    raw = _records(env.client.get(url + "?compression=uncompressed&supervoxels=true").content)
    assert sorted(raw) == [(0, 0, 0), (0, 0, 1), (0, 0, 2)]  # block x=3 was never written
    assert np.array_equal(_u64(raw[(0, 0, 1)], (16, 16, 16)), block)
    lz = _records(env.client.get(url + "?supervoxels=true").content)
    assert lz4.block.decompress(lz[(0, 0, 1)], uncompressed_size=16**3 * 8) == raw[(0, 0, 1)]
    gz = _records(env.client.get(url + "?compression=gzip&supervoxels=true").content)
    assert gzip.decompress(gz[(0, 0, 2)]) == raw[(0, 0, 2)]
    nat = _records(env.client.get(url + "?compression=blocks&supervoxels=true").content)
    assert np.array_equal(
        decode_native(gzip.decompress(nat[(0, 0, 2)]), (16, 16, 16)), SEG[:, :, 32:]
    )


def test_get_blocks_maps_bodies_and_refuses_unaligned(env: Env) -> None:
    env.client.post(env.url("merge"), json=[1, 3])
    data = env.client.get(env.url("blocks/16_16_16/16_0_0?compression=uncompressed")).content
    x, y, z, n = struct.unpack_from("<iiii", data)
    assert (x, y, z, n) == (1, 0, 0, 16**3 * 8)
    expected = SEG[:, :, 16:32].copy()
    expected[expected == 3] = 1
    assert np.array_equal(_u64(data[16:], (16, 16, 16)), expected)
    assert env.client.get(env.url("blocks/16_16_16/160_160_160")).content == b""
    r = env.client.get(env.url("blocks/16_16_16/8_0_0"))
    assert r.status_code == 400
    assert "offset" in r.json()["error"]
    assert env.client.get(env.url("blocks/20_16_16/0_0_0")).status_code == 400
    assert env.client.get(env.url("blocks/16_16_16/0_0_0?compression=jpeg")).status_code == 400


def test_native_blocks_of_bodies_equal_the_decoded_path(env: Env) -> None:
    """compression=blocks converts stored blocks without decoding them: after a merge its
    bodies equal those of compression=uncompressed (decoded and mapped voxels)."""
    env.client.post(env.url("merge"), json=[3, 2])
    url = env.url("blocks/48_16_16/0_0_0")
    middle = {}
    for extra in ("", "&supervoxels=true"):
        raw = _records(env.client.get(url + "?compression=uncompressed" + extra).content)
        nat = _records(env.client.get(url + "?compression=blocks" + extra).content)
        assert sorted(nat) == sorted(raw)
        for coord, payload in nat.items():
            block = decode_native(gzip.decompress(payload), (16, 16, 16))
            assert np.array_equal(block, _u64(raw[coord], (16, 16, 16)))
        middle[extra] = decode_native(gzip.decompress(nat[(0, 0, 1)]), (16, 16, 16))
    assert set(np.unique(middle[""]).tolist()) == {3}  # bodies: 2 merged into 3
    assert set(np.unique(middle["&supervoxels=true"]).tolist()) == {2, 3}


def test_specificblocks(env: Env) -> None:
    r = env.client.get(env.url("specificblocks?blocks=2,0,0,9,9,9,0,0,0&supervoxels=true"))
    assert r.status_code == 200
    recs = _records(r.content)
    assert sorted(recs) == [(0, 0, 0), (0, 0, 2)]  # the unset block is left out
    assert np.array_equal(
        decode_native(gzip.decompress(recs[(0, 0, 0)]), (16, 16, 16)), SEG[:, :, :16]
    )
    r = env.client.get(env.url("specificblocks?blocks=1,0,0&compression=uncompressed"))
    assert np.array_equal(_u64(_records(r.content)[(0, 0, 1)], (16, 16, 16)), SEG[:, :, 16:32])
    assert env.client.get(env.url("specificblocks?blocks=1,0")).status_code == 400
    assert env.client.get(env.url("specificblocks")).status_code == 400


def test_post_blocks(env: Env) -> None:
    a = np.full((16, 16, 16), 11, np.uint64)
    a[:, :, :3] = 2**64 - 2
    b = np.zeros((16, 16, 16), np.uint64)
    b[5, 5, 5] = 12
    stream = encode_stream(
        [((0, 1, 0), gzip.compress(encode_native(a))), ((2, 0, 4), gzip.compress(encode_native(b)))]
    )
    assert env.client.post(env.url("blocks"), content=stream).status_code == 200
    got = env.client.get(env.url("raw/0_1_2/16_16_16/0_16_0?supervoxels=true")).content
    assert np.array_equal(_u64(got, (16, 16, 16)), a)
    assert env.client.get(env.url("label/69_5_37")).json() == {"Label": 12}
    assert env.client.get(env.url("size/11")).json() == {"voxels": 13 * 256}
    assert env.client.get(env.url("size/12")).json() == {"voxels": 1}


def test_post_blocks_is_one_write_with_the_pyramid_and_extents_following(env: Env) -> None:
    """Blocks far apart land together (one transaction): a repeated coordinate keeps its
    last block, the pyramid level above holds each, extents span them all."""
    first = gzip.compress(encode_native(np.full((16, 16, 16), 31, np.uint64)))
    last = gzip.compress(encode_native(np.full((16, 16, 16), 32, np.uint64)))
    far = gzip.compress(encode_native(np.full((16, 16, 16), 33, np.uint64)))
    stream = encode_stream([((1, 0, 4), first), ((3, 2, 6), far), ((1, 0, 4), last)])
    assert env.client.post(env.url("blocks"), content=stream).status_code == 200
    assert env.client.get(env.url("size/31")).status_code == 404
    assert env.client.get(env.url("size/32")).json() == {"voxels": 16**3}
    assert env.client.get(env.url("size/33")).json() == {"voxels": 16**3}
    extents = env.client.get(env.url("extents")).json()
    assert extents["MaxPoint"] == [6 * 16 + 15, 2 * 16 + 15, 3 * 16 + 15]
    for x, y, z, label in ((32, 0, 8, 32), (48, 16, 24, 33)):  # scale 1 voxels
        r = env.client.get(env.url(f"label/{x}_{y}_{z}?scale=1"))
        assert r.json() == {"Label": label}


def test_post_blocks_errors_change_nothing(env: Env) -> None:
    good = gzip.compress(encode_native(np.full((16, 16, 16), 21, np.uint64)))
    for bad in (b"not gzip", gzip.compress(b"short")):
        stream = encode_stream([((0, 0, 5), good), ((0, 0, 6), bad)])
        assert env.client.post(env.url("blocks"), content=stream).status_code == 400
    assert env.client.post(env.url("blocks"), content=b"\x00" * 7).status_code == 400
    # decoded on the pool, the first bad record of the stream is still the one named
    records = [((0, 0, x), good) for x in range(12)]
    records[7] = ((0, 0, 7), b"not gzip")
    records[9] = ((0, 0, 9), gzip.compress(b"short"))
    r = env.client.post(env.url("blocks"), content=encode_stream(records))
    assert r.status_code == 400
    assert "(7, 0, 0)" in r.text
    assert "(9, 0, 0)" not in r.text
    assert env.client.get(env.url("size/21")).status_code == 404
    stream = encode_stream([((0, 0, 5), good)])
    assert env.client.post(env.url("blocks?scale=9"), content=stream).status_code == 400
    assert env.client.post(env.url("blocks?compression=gzip"), content=stream).status_code == 400
