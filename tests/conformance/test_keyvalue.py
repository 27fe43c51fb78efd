"""keyvalue as DVID clients use it (neuclease's ``post_key``, ``fetch_key``,
``fetch_keys``, ``fetch_keyrange``, ``fetch_keyrangevalues``, ``fetch_keyvalues``,
``post_keyvalues``): DVID's routes, status codes and bodies, the protobufs written and
read by hand from the wire format."""

from __future__ import annotations

import io
import itertools
import json
import tarfile

import pytest

from .conftest import Dvid
from .protobuf_wire import _fields, bytes_field, uint_field

_names = itertools.count()


def key_values(pairs: list[tuple[str, bytes]]) -> bytes:
    """DVID's ``KeyValues``: 1 repeated ``KeyValue`` (1 ``key``, 2 ``value``)."""
    return b"".join(
        bytes_field(1, bytes_field(1, k.encode()) + (bytes_field(2, v) if v else b""))
        for k, v in pairs
    )


def read_key_values(data: bytes) -> list[tuple[str, bytes]]:
    out = []
    for _, entry in _fields(data):
        assert isinstance(entry, bytes)
        fields = dict(_fields(entry))
        key, value = fields[1], fields.get(2, b"")
        assert isinstance(key, bytes)
        assert isinstance(value, bytes)
        out.append((key.decode(), value))
    return out


def keys_body(keys: list[str], ranges: tuple[tuple[str, int, int], ...] = ()) -> bytes:
    """DVID's ``Keys``: 1 repeated key, 2 repeated ``KeyRange`` (1 key, 2 start, 3 end)."""
    body = b"".join(bytes_field(1, k.encode()) for k in keys)
    for key, start, end in ranges:
        body += bytes_field(
            2, bytes_field(1, key.encode()) + uint_field(2, start) + uint_field(3, end)
        )
    return body


@pytest.fixture
def kv(dvid: Dvid) -> str:
    name = f"kv{next(_names)}"
    dvid.create(name, "keyvalue")
    return name


@pytest.mark.covers(
    "keyvalue", "GET /info", "POST /key/{key:path}", "GET /key/{key:path}", "DELETE /key/{key:path}"
)
def test_one_key_as_neuclease_posts_fetches_and_deletes_it(dvid: Dvid, kv: str) -> None:
    info = dvid.json(dvid.at(kv, "info"))
    assert info["Base"]["TypeName"] == "keyvalue"
    assert info["Base"]["Versioned"] is True
    dvid.ok("POST", dvid.at(kv, "key/neuron.swc"), data=b"0123456789")
    reply = dvid.ok("GET", dvid.at(kv, "key/neuron.swc"))
    assert reply.content == b"0123456789"
    assert reply.headers["Content-Type"] == "application/octet-stream"
    assert dvid.head(dvid.at(kv, "key/neuron.swc")).status_code == 200
    ranged = dvid.get(dvid.at(kv, "key/neuron.swc"), headers={"Range": "bytes=-4"})
    assert ranged.status_code == 206
    assert ranged.content == b"6789"
    assert ranged.headers["Content-Range"] == "bytes 6-9/10"
    beyond = dvid.get(dvid.at(kv, "key/neuron.swc"), headers={"Range": "bytes=10-12"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */10"
    inclusive = dvid.ok("GET", dvid.at(kv, "key/neuron.swc?byte_start=2&byte_end=3"))
    assert inclusive.content == b"23"
    dvid.ok("DELETE", dvid.at(kv, "key/neuron.swc"))
    dvid.ok("DELETE", dvid.at(kv, "key/neuron.swc"))  # absent: still 200, as DVID
    assert dvid.head(dvid.at(kv, "key/neuron.swc")).status_code == 404
    assert dvid.get(dvid.at(kv, "key/neuron.swc")).status_code == 404


@pytest.mark.covers("keyvalue", "GET /keys", "GET /keyrange/{firstkey}/{lastkey}")
def test_listings_are_sorted_and_keyrange_includes_both_ends(dvid: Dvid, kv: str) -> None:
    assert dvid.json(dvid.at(kv, "keys")) == []
    for key in ("b", "a", "ab", "c1"):
        dvid.ok("POST", dvid.at(kv, f"key/{key}"), data=key.encode())
    assert dvid.json(dvid.at(kv, "keys")) == ["a", "ab", "b", "c1"]
    assert dvid.json(dvid.at(kv, "keyrange/ab/c1")) == ["ab", "b", "c1"]
    assert dvid.json(dvid.at(kv, "keyrange/c/a")) == []


@pytest.mark.covers(
    "keyvalue",
    "POST /keyvalues",
    "GET /keyvalues",
    "GET /keyrangevalues/{firstkey}/{lastkey}",
)
def test_batches_in_protobuf_json_and_tar(dvid: Dvid, kv: str) -> None:
    pairs = [("1", b'{"a": 1}'), ("2", b"[2]"), ("3", b'"three"')]
    dvid.ok("POST", dvid.at(kv, "keyvalues"), data=key_values(pairs))
    got = dvid.ok("GET", dvid.at(kv, "keyvalues"), data=keys_body(["2", "9"], (("1", 1, 4),)))
    assert read_key_values(got.content) == [("2", b"[2]"), ("9", b""), ("1", b'"a":')]
    got = dvid.ok("GET", dvid.at(kv, "keyvalues?json=true"), data=json.dumps(["3", "9"]))
    assert got.json() == {"3": "three", "9": {}}
    got = dvid.ok("GET", dvid.at(kv, "keyvalues?jsontar=true"), data=json.dumps(["1"]))
    with tarfile.open(fileobj=io.BytesIO(got.content)) as tar:
        member = tar.getmember("1")
        assert tar.extractfile(member).read() == b'{"a": 1}'  # type: ignore[union-attr]
    got = dvid.ok("GET", dvid.at(kv, "keyrangevalues/1/2"))
    assert read_key_values(got.content) == pairs[:2]
    got = dvid.ok("GET", dvid.at(kv, "keyrangevalues/2/3?json=true"))
    assert got.json() == {"2": [2], "3": "three"}


def test_committed_nodes_keep_their_keys_and_refuse_writes(dvid: Dvid) -> None:
    """``files`` got ``readme`` before the root was committed; the open child deletes it."""
    assert dvid.ok("GET", dvid.at("files", "key/readme", dvid.committed)).content == b"hello"
    refused = dvid.post(dvid.at("files", "key/readme", dvid.committed), data=b"x")
    assert refused.status_code == 409
    dvid.ok("DELETE", dvid.at("files", "key/readme"))
    assert dvid.get(dvid.at("files", "key/readme")).status_code == 404
    assert dvid.json(dvid.at("files", "keys", dvid.committed)) == ["readme"]
    dvid.ok("POST", dvid.at("files", "key/readme"), data=b"hello")  # as the other cases found it


@pytest.mark.covers("keyvalue", "GET /tags", "POST /tags")
def test_keyvalue_tags(dvid: Dvid, kv: str) -> None:
    dvid.ok("POST", dvid.at(kv, "tags"), json={"kind": "swc"})
    assert dvid.json(dvid.at(kv, "tags")) == {"Tags": {"kind": "swc"}}


@pytest.mark.covers("keyvalue", "GET /mutations", "GET /mutations-range/{beg}/{end}")
def test_mutations_list_the_writes_of_a_version_as_dvid_logs_them(dvid: Dvid, kv: str) -> None:
    dvid.ok("POST", dvid.at(kv, "key/a"), data=b"123")
    dvid.ok("DELETE", dvid.at(kv, "key/a"))
    found = dvid.json(dvid.at(kv, "mutations"))
    assert [(r["Action"], r["Key"]) for r in found] == [("postkv", "a"), ("delkv", "a")]
    assert found[0]["Bytes"] == 3
    assert found[0]["UUID"] == dvid.node
    ranged = dvid.json(dvid.at(kv, f"mutations-range/{dvid.committed}/{dvid.node}"))
    assert ranged == found  # the committed parent wrote nothing to this instance
    assert dvid.json(dvid.at(kv, "mutations", node=dvid.committed)) == []
