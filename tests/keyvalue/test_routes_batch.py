"""keyvalue's batch routes (keyrangevalues, keyvalues) through the real app."""

from __future__ import annotations

import io
import json
import tarfile

from voxhub.datatypes.keyvalue import proto_format, tar_format

from .conftest import CHUNK, Env
from .test_instance import chunk_keys

BIG = bytes(range(256)) * (3 * CHUNK // 256 + 1)  # a chunked value: 3+ chunks


def untar(body: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def unproto(body: bytes) -> list[tuple[str, bytes]]:
    msg = proto_format.MESSAGES["KeyValues"]()
    msg.ParseFromString(body)
    return [(kv.key, kv.value) for kv in msg.kvs]


def seed(env: Env) -> None:
    pairs = [("a", b'{"n": 1}'), ("b", BIG), ("ç/d", b"[1, 2]"), ("e", b"")]
    body = proto_format.encode_key_values(pairs)
    assert env.client.post(env.url("keyvalues"), content=body).status_code == 200


def test_keyrangevalues_in_protobuf_tar_and_json(env: Env) -> None:
    c = env.client
    seed(env)
    r = c.get(env.url("keyrangevalues/a/%C3%BF"))  # a..ÿ: byte order puts ç after e
    assert r.headers["content-type"] == "application/octet-stream"
    assert unproto(r.content) == [("a", b'{"n": 1}'), ("b", BIG), ("e", b""), ("ç/d", b"[1, 2]")]
    for flag in ("tar", "jsontar"):
        r = c.get(env.url("keyrangevalues/b/d"), params={flag: "true"})
        assert r.headers["content-type"] == "application/tar"
        assert untar(r.content) == {"b": BIG}
    r = c.get(env.url("keyrangevalues/a/a"), params={"json": "true"})
    assert r.json() == {"a": {"n": 1}}
    r = c.get(env.url("keyrangevalues/a/b"), params={"json": "true"})
    assert r.status_code == 400
    assert "'b'" in r.json()["error"]
    r = c.get(env.url("keyrangevalues/a/b"), params={"json": "true", "tar": "true"})
    assert r.status_code == 400
    assert "not both" in r.json()["error"]


def test_keyvalues_get_with_keys_and_byte_ranges(env: Env) -> None:
    c = env.client
    seed(env)
    wanted = proto_format.MESSAGES["Keys"](keys=["b", "missing"])
    wanted.key_ranges.add(key="b", byte_start=CHUNK - 1, byte_end=CHUNK + 1)
    r = c.request("GET", env.url("keyvalues"), content=wanted.SerializeToString())
    assert unproto(r.content) == [("b", BIG), ("missing", b""), ("b", BIG[CHUNK - 1 : CHUNK + 2])]
    body = json.dumps(["ç/d", "missing", {"key": "a", "byte_start": 6, "byte_end": 6}])
    r = c.request("GET", env.url("keyvalues"), params={"json": "true"}, content=body)
    assert r.json() == {"ç/d": [1, 2], "missing": {}, "a": 1}
    r = c.request("GET", env.url("keyvalues"), params={"tar": "true"}, content='["e", "x"]')
    assert untar(r.content) == {"e": b"", "x": b""}
    bad = json.dumps([{"key": "a", "byte_start": 0, "byte_end": 99}])
    r = c.request("GET", env.url("keyvalues"), params={"tar": "true"}, content=bad)
    assert r.status_code == 400
    assert "byte_end 99 is outside" in r.json()["error"]
    half = json.dumps([{"key": "a", "byte_start": 0}])
    r = c.request("GET", env.url("keyvalues"), params={"tar": "true"}, content=half)
    assert r.status_code == 400
    assert "requires both" in r.json()["error"]


def test_post_keyvalues_takes_tar_archives_in_one_transaction(env: Env) -> None:
    c = env.client
    entries = [("x/1", 3, iter([b"one"])), ("big", len(BIG), iter([BIG]))]
    archive = b"".join(tar_format.archive(iter(entries)))
    r = c.post(env.url("keyvalues"), content=archive, headers={"Content-Type": "application/x-tar"})
    assert r.status_code == 200
    assert c.get(env.url("key/x/1")).content == b"one"
    assert c.get(env.url("key/big")).content == BIG
    assert env.store.largest_data_put <= CHUNK
    assert untar(c.get(env.url("keyrangevalues/a/y"), params={"tar": "true"}).content) == {
        "big": BIG,
        "x/1": b"one",
    }


def test_malformed_batches_store_nothing(env: Env) -> None:
    c = env.client
    chunks = chunk_keys(env.hub, env.root, "kv")
    good = b"".join(tar_format.archive(iter([("fine", 4, iter([b"fine"]))])))
    bad_keys = [("ok", 2, iter([b"ok"])), ("k" * 500, 1, iter([b"x"]))]
    cases = {
        "truncated tar": (good[:-1100], {"tar": "true"}),
        "garbage after a member": (good[:1024] + b"\xff" * 512 + good[1536:], {"tar": "true"}),
        "not a tar": (b"hello world" * 100, {"tar": "true"}),
        "key over the limit": (b"".join(tar_format.archive(iter(bad_keys))), {"tar": "true"}),
        "bad protobuf": (b"\x0a\xff\xff\xff\x0f", {}),
        "protobuf key over the limit": (
            proto_format.encode_key_values([("ok", BIG), ("k" * 500, b"x")]),
            {},
        ),
    }
    for what, (body, params) in cases.items():
        r = c.post(env.url("keyvalues"), content=body, params=params)
        assert r.status_code in (400, 413), what
        assert c.get(env.url("keys")).json() == [], what
    assert chunk_keys(env.hub, env.root, "kv") == chunks
