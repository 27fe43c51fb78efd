"""The keyvalue datatype through the embedded API: chunked values, versions, merges."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.client import EmbeddedHub, Node
from voxhub.client.keyvalue import KeyValue
from voxhub.datatypes.keyvalue.keys import KEY_CHUNK
from voxhub.errors import InvalidRequest, MergeConflict, NotFound, VersionLocked
from voxhub.versioning.catalog import InstanceInfo
from voxhub.versioning.keys import instance_range, tkey_of

from .recording import RecordingStore

CHUNK = 64


@pytest.fixture
def hub() -> Iterator[EmbeddedHub]:
    with EmbeddedHub(RecordingStore()) as h:
        yield h


def chunk_keys(hub: EmbeddedHub, node: Node, name: str) -> int:
    """Physical chunk keys of an instance, every version and marker."""
    iid = hub.catalog.instance(node.uuid, name).instance_id
    found = hub.store.scan(*instance_range(iid), keys_only=True)
    return sum(1 for k, _ in found if tkey_of(k)[0] == KEY_CHUNK)


def test_mapping_basics(hub: EmbeddedHub) -> None:
    kv = hub.create_repo("r").master.create_keyvalue("files", chunk_bytes=CHUNK)
    kv["b"] = b"2"
    kv["a/x.json"] = b'{"x": 1}'
    kv["é"] = b""
    assert kv["b"] == b"2"
    assert kv["é"] == b""
    assert kv.get("nope") is None
    assert "b" in kv
    assert "nope" not in kv
    assert 3 not in kv
    assert list(kv) == ["a/x.json", "b", "é"]
    assert len(kv) == 3
    assert kv.keys("b") == ["b", "é"]
    assert kv.keys(None, "b") == ["a/x.json"]
    assert dict(kv.items("a", "c")) == {"a/x.json": b'{"x": 1}', "b": b"2"}
    del kv["b"]
    with pytest.raises(KeyError, match="'b' not found"):
        kv["b"]
    with pytest.raises(NotFound):
        del kv["b"]
    with pytest.raises(InvalidRequest, match="NUL"):
        kv["a\x00"] = b"x"


@settings(max_examples=40, deadline=None)
@given(
    data=st.binary(max_size=5 * CHUNK + 3),
    cuts=st.lists(st.integers(0, 6 * CHUNK), min_size=2, max_size=2),
    streamed=st.booleans(),
)
def test_values_of_any_size_read_back_whole_and_in_ranges_through_chunks_no_larger_than_one(
    data: bytes, cuts: list[int], streamed: bool
) -> None:
    with EmbeddedHub(RecordingStore()) as hub:
        node = hub.create_repo("r").master
        kv = node.create_keyvalue("files", chunk_bytes=CHUNK)
        if streamed:
            assert kv.put_file("k", io.BytesIO(data)) == len(data)
        else:
            kv["k"] = data
        assert kv["k"] == data
        assert kv.size("k") == len(data)
        start, stop = sorted(cuts)
        assert kv.read("k", start, stop) == data[start:stop]
        with kv.open("k") as f:
            f.seek(start)
            assert f.read(stop - start) == data[start:stop]
            assert f.read() == data[stop:]
        # no store write is larger than a chunk (memory stays bounded by it)
        assert isinstance(hub.store, RecordingStore)
        assert hub.store.largest_data_put <= CHUNK
        expected_chunks = 0 if len(data) < CHUNK else -(-len(data) // CHUNK)
        assert chunk_keys(hub, node, "files") == expected_chunks


class Boom(Exception):
    pass


def test_a_failed_upload_leaves_nothing_visible_nor_stored(hub: EmbeddedHub) -> None:
    node = hub.create_repo("r").master
    kv = node.create_keyvalue("files", chunk_bytes=CHUNK)
    kv["k"] = b"old" * 50  # chunked: 150 bytes

    def failing() -> Iterator[bytes]:
        yield b"x" * (3 * CHUNK)
        raise Boom

    class File(io.RawIOBase):
        pieces = failing()

        def read(self, n: int = -1) -> bytes:
            return next(self.pieces)

    with pytest.raises(Boom):
        kv.put_file("k", File())  # type: ignore[arg-type]
    assert kv["k"] == b"old" * 50
    assert chunk_keys(hub, node, "files") == 3  # the old value's only


def test_replacing_a_value_drops_its_chunks_at_its_node_but_keeps_ancestors(
    hub: EmbeddedHub,
) -> None:
    root = hub.create_repo("r").master
    kv = root.create_keyvalue("files", chunk_bytes=CHUNK)
    kv["k"] = b"a" * (2 * CHUNK)
    kv["k"] = b"b" * (3 * CHUNK)  # the first upload's 2 chunks go
    assert chunk_keys(hub, root, "files") == 3
    root.commit()
    child = root.newversion()
    ckv = child.keyvalue("files")
    ckv["k"] = b"c" * (2 * CHUNK)
    ckv["k"] = b"small"
    del ckv["k"]  # a tombstone: the root's value stays visible at the root only
    assert "k" not in ckv
    assert ckv.keys() == []
    assert root.keyvalue("files")["k"] == b"b" * (3 * CHUNK)
    assert chunk_keys(hub, root, "files") == 3
    with pytest.raises(VersionLocked):
        root.keyvalue("files")["k"] = b"x"
    ckv["k"] = b"back"
    assert ckv["k"] == b"back"
    assert kv["k"] == b"b" * (3 * CHUNK)


def test_unversioned_instances_share_one_set_of_keys(hub: EmbeddedHub) -> None:
    root = hub.create_repo("r").master
    kv = root.create_keyvalue("shared", versioned=False)
    kv["a"] = b"1"
    root.commit()
    child = root.newversion()
    child.keyvalue("shared")["b"] = b"2"
    kv["c"] = b"3"  # the committed root still takes writes
    assert root.keyvalue("shared").keys() == child.keyvalue("shared").keys() == ["a", "b", "c"]


def test_merges_name_keys_changed_on_both_sides_and_diffs_list_keys_once(
    hub: EmbeddedHub,
) -> None:
    root = hub.create_repo("r").master
    kv: KeyValue = root.create_keyvalue("files", chunk_bytes=CHUNK)
    kv["shared"] = b"0"
    root.commit()
    a, b = root.newversion(), root.branch("side")
    a.keyvalue("files")["shared"] = b"A"
    a.keyvalue("files")["big"] = b"x" * (4 * CHUNK)
    b.keyvalue("files")["shared"] = b"B"
    b.keyvalue("files")["own"] = b"b"
    assert root.diff(a, "files") == ["big", "shared"]
    a.commit()
    b.commit()
    with pytest.raises(MergeConflict) as refused:
        a.merge(b)
    assert refused.value.report == {"files": ["shared"]}
    merged = a.merge(b, resolve=True)
    mkv = merged.keyvalue("files")
    assert dict(mkv.items()) == {"big": b"x" * (4 * CHUNK), "own": b"b", "shared": b"A"}


def test_a_batch_is_stored_whole_or_not_at_all(hub: EmbeddedHub) -> None:
    kv = hub.create_repo("r").master.create_keyvalue("files", chunk_bytes=CHUNK)
    with pytest.raises(InvalidRequest, match="empty"):
        kv.update([("a", b"1"), ("b", b"y" * (2 * CHUNK)), ("", b"3")])
    assert kv.keys() == []
    kv.update({"a": b"1", "b": b"y" * (2 * CHUNK), "c": b""})
    assert kv["b"] == b"y" * (2 * CHUNK)
    assert kv.keys() == ["a", "b", "c"]


names = st.text(st.sampled_from("ab\x01é/"), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(st.lists(names, max_size=8), names, names)
def test_listings_hold_the_keys_between_their_bounds_in_utf8_byte_order(
    stored: list[str], first: str, last: str
) -> None:
    with EmbeddedHub(RecordingStore()) as hub:
        node = hub.create_repo("r").master
        kv = node.create_keyvalue("files")
        kv.update((k, k.encode()) for k in stored)
        utf8 = sorted(set(stored), key=str.encode)
        assert kv.keys() == utf8
        lo, hi = first.encode(), last.encode()
        inclusive = [k for k in utf8 if lo <= k.encode() <= hi]
        assert hub.service.open_keyvalue(node.uuid, kv_info(hub, node)).keys(first, last) == (
            inclusive
        )
        assert kv.keys(first, last) == [k for k in utf8 if lo <= k.encode() < hi]


def kv_info(hub: EmbeddedHub, node: Node) -> InstanceInfo:
    return hub.catalog.instance(node.uuid, "files")
