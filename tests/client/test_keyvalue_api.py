"""The KeyValue mapping on memory, LMDB, S3 and a real ``voxhub serve``: same class,
same answers, same exceptions."""

from __future__ import annotations

import io
import uuid

import pytest

from voxhub.client import Hub
from voxhub.errors import InvalidRequest, MergeConflict, NotFound, TooLarge, VersionLocked

CHUNK = 4096
BIG = bytes(range(256)) * 100  # 25,600 bytes: 7 chunks


def test_keyvalue_mapping_big_values_and_versions(hub: Hub) -> None:
    root = hub.create_repo(f"kv-{uuid.uuid4().hex[:8]}").master
    kv = root.create_keyvalue("files", chunk_bytes=CHUNK)
    kv["a/b.json"] = b'{"x": 1}'
    kv["é"] = b""
    assert kv.put_file("big", io.BytesIO(BIG)) == len(BIG)
    kv.update({"c": b"3", "d": BIG[:CHUNK]})
    kv.update({})  # nothing to store: no error
    assert kv["a/b.json"] == b'{"x": 1}'
    assert kv["é"] == b""
    assert kv["big"] == BIG
    assert kv.keys() == ["a/b.json", "big", "c", "d", "é"]
    assert len(kv) == 5
    assert kv.keys("b", "d") == ["big", "c"]
    assert dict(kv.items("c")) == {"c": b"3", "d": BIG[:CHUNK], "é": b""}
    assert "c" in kv
    assert "zz" not in kv
    assert kv.size("big") == len(BIG)
    assert kv.read("big", CHUNK - 3, CHUNK + 3) == BIG[CHUNK - 3 : CHUNK + 3]
    with kv.open("big") as f:
        f.seek(-10, io.SEEK_END)
        assert f.read() == BIG[-10:]
        f.seek(100)
        assert f.read(CHUNK) == BIG[100 : 100 + CHUNK]
    del kv["c"]
    with pytest.raises(KeyError):
        kv["c"]
    with pytest.raises(NotFound):
        del kv["c"]
    with pytest.raises(InvalidRequest, match="NUL"):
        kv["a\x00"] = b"x"
    with pytest.raises(TooLarge, match="at most 400 bytes"):
        kv["k" * 401] = b"x"
    root.commit()
    with pytest.raises(VersionLocked):
        kv["new"] = b"x"
    child = root.newversion()
    ckv = child.keyvalue("files")
    del ckv["big"]
    ckv["d"] = b"changed"
    assert "big" not in ckv
    assert "big" in kv
    assert kv["d"] == BIG[:CHUNK]
    assert root.diff(child, "files") == ["big", "d"]
    child.commit()
    side = root.branch("side")
    side.keyvalue("files")["d"] = b"other"
    side.commit()
    with pytest.raises(MergeConflict) as refused:
        child.merge(side)
    assert refused.value.report == {"files": ["d"]}


def test_unversioned_keyvalue_is_shared_by_every_node(hub: Hub) -> None:
    root = hub.create_repo(f"kvu-{uuid.uuid4().hex[:8]}").master
    kv = root.create_keyvalue("shared", versioned=False)
    root.commit()
    kv["a"] = b"1"  # a committed node takes writes of an unversioned instance
    child = root.newversion()
    child.keyvalue("shared")["b"] = b"2"
    assert kv.keys() == child.keyvalue("shared").keys() == ["a", "b"]
