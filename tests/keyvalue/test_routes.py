"""keyvalue's single-key and listing routes through the real app."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import numpy as np
from httpx import Response

from voxhub.datatypes.keyvalue.keys import MAX_KEY_BYTES

from .conftest import CHUNK, LIMIT, Env
from .test_instance import chunk_keys


def test_post_get_head_delete_of_one_key(env: Env) -> None:
    c = env.client
    assert c.head(env.url("key/a")).status_code == 404
    r = c.get(env.url("key/a"))
    assert r.status_code == 404
    assert "'a' not found" in r.json()["error"]
    assert c.post(env.url("key/a"), content=b"hello").status_code == 200
    r = c.get(env.url("key/a"))
    assert r.content == b"hello"
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["accept-ranges"] == "bytes"
    r = c.head(env.url("key/a"))
    assert r.status_code == 200
    assert r.headers["content-length"] == "5"
    r = c.delete(env.url("key/a"))
    assert r.status_code == 200
    assert r.headers["voxhub-key-existed"] == "true"
    r = c.delete(env.url("key/a"))
    assert r.status_code == 200
    assert r.headers["voxhub-key-existed"] == "false"
    assert c.get(env.url("key/a")).status_code == 404


def test_keys_are_any_percent_encoded_utf8_and_sort_by_its_bytes(env: Env) -> None:
    c = env.client
    names = ["b/c.swc", "Zz", "é t", "a", "ab", "é"]
    for name in names:
        assert c.post(env.url(f"key/{quote(name, safe='')}"), content=name.encode()).is_success
    assert c.get(env.url(f"key/{quote('é t', safe='')}")).content == "é t".encode()
    assert c.get(env.url("key/b/c.swc")).content == b"b/c.swc"  # '/' unencoded works too
    assert c.get(env.url("keys")).json() == sorted(names, key=lambda k: k.encode())
    assert c.get(env.url("keyrange/a/b")).json() == ["a", "ab"]  # both bounds included
    assert c.get(env.url(f"keyrange/ab/{quote('é', safe='')}")).json() == [
        "ab",
        "b/c.swc",
        "é",
    ]
    assert c.get(env.url("keyrange/z/a")).json() == []


def test_key_limits_are_refused_naming_the_key(env: Env) -> None:
    c = env.client
    r = c.post(env.url("key/" + "k" * (MAX_KEY_BYTES + 1)), content=b"x")
    assert r.status_code == 413
    assert f"at most {MAX_KEY_BYTES} bytes" in r.json()["error"]
    r = c.post(env.url("key/a%00b"), content=b"x")
    assert r.status_code == 400
    assert "NUL" in r.json()["error"]
    assert c.get(env.url("keys")).json() == []


def test_http_ranges_and_dvid_byte_ranges(env: Env) -> None:
    c = env.client
    c.post(env.url("key/v"), content=b"0123456789")

    def get(
        headers: dict[str, str] | None = None, params: dict[str, int] | None = None
    ) -> Response:
        return c.get(env.url("key/v"), headers=headers, params=params)

    r = get({"Range": "bytes=2-4"})
    assert r.status_code == 206
    assert r.content == b"234"
    assert r.headers["content-range"] == "bytes 2-4/10"
    assert get({"Range": "bytes=-3"}).content == b"789"
    r = get({"Range": "bytes=7-99"})  # clamped
    assert r.content == b"789"
    assert r.headers["content-range"] == "bytes 7-9/10"
    r = get({"Range": "bytes=10-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */10"
    r = get({"Range": "bytes=1-2,4-5"})  # several ranges: ignored, the whole value
    assert r.status_code == 200
    assert r.content == b"0123456789"
    r = get(params={"byte_start": 1, "byte_end": 3})
    assert r.status_code == 200
    assert r.content == b"123"
    assert get(params={"byte_start": 1, "byte_end": 10}).status_code == 400
    r = get({"Range": "bytes=1-2"}, {"byte_start": 1, "byte_end": 3})
    assert r.status_code == 400


def test_big_values_stream_in_and_out_a_chunk_at_a_time(env: Env) -> None:
    c = env.client
    data = np.random.default_rng(0).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()

    def body() -> Iterator[bytes]:  # no Content-Length: the server reads as it comes
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    assert c.post(env.url("key/big"), content=body()).status_code == 200
    assert env.store.largest_data_put <= CHUNK  # never more than a chunk per store write
    assert chunk_keys(env.hub, env.root, "kv") == -(-len(data) // CHUNK)
    with c.stream("GET", env.url("key/big")) as r:
        assert r.headers["content-length"] == str(len(data))
        assert b"".join(r.iter_bytes()) == data
    before = env.store.chunk_reads
    r = c.get(env.url("key/big"), headers={"Range": f"bytes={CHUNK - 5}-{CHUNK + 4}"})
    assert r.status_code == 206
    assert r.content == data[CHUNK - 5 : CHUNK + 5]
    assert env.store.chunk_reads - before == 2  # only the chunks holding the range
    assert c.head(env.url("key/big")).headers["content-length"] == str(len(data))


def test_an_upload_past_the_limit_is_refused_and_leaves_nothing(env: Env) -> None:
    c = env.client
    c.post(env.url("key/k"), content=b"old")

    def body() -> Iterator[bytes]:
        for _ in range(LIMIT // 65536 + 2):
            yield b"x" * 65536

    r = c.post(env.url("key/k"), content=body())
    assert r.status_code == 413
    assert c.get(env.url("key/k")).content == b"old"
    assert chunk_keys(env.hub, env.root, "kv") == 0  # the upload's chunks were dropped


def test_versions_tombstones_and_committed_nodes(env: Env) -> None:
    c = env.client
    c.post(env.url("key/a"), content=b"1")
    c.post(env.url("key/b"), content=b"x" * (3 * CHUNK))
    env.root.commit()
    r = c.post(env.url("key/a"), content=b"2")
    assert r.status_code == 409
    assert "committed" in r.json()["error"]
    assert c.delete(env.url("key/a")).status_code == 409
    child = env.root.newversion()
    assert c.delete(env.url("key/b", child)).status_code == 200
    assert c.get(env.url("keys", child)).json() == ["a"]
    assert c.head(env.url("key/b", child)).status_code == 404
    assert c.get(env.url("key/b")).content == b"x" * (3 * CHUNK)  # the parent keeps it
    assert c.get(env.url("keys")).json() == ["a", "b"]


def test_dvid_creation_with_versioned_false_and_info(env: Env) -> None:
    c = env.client
    body = {"typename": "keyvalue", "dataname": "shared", "versioned": "false"}
    assert c.post(f"/api/repo/{env.root.uuid}/instance", json=body).status_code == 200
    env.root.commit()
    url = f"/api/node/{env.root.uuid}/shared"
    assert c.post(f"{url}/key/a", content=b"1").status_code == 200  # committed: still writable
    child = env.root.newversion()
    assert c.get(f"/api/node/{child.uuid}/shared/key/a").content == b"1"
    info = c.get(f"{url}/info").json()
    assert info["Base"]["TypeName"] == "keyvalue"
    assert info["Base"]["Versioned"] is False
    assert info["Extended"]["ChunkBytes"] == 4 << 20
    assert c.get(env.url("info")).json()["Extended"]["ChunkBytes"] == CHUNK
    assert "/keyrangevalues/{firstkey}/{lastkey}" in c.get("/api/help/keyvalue").text
