"""``POST /api/repo/{uuid}/instance`` takes what DVID takes: settings a type does not use
are ignored and listed (answer and ``info``), a malformed value of a setting DVID parses
is a 400 naming it as the client spelled it."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub
from voxhub.server import create_app

#: what neuclease's create_labelmap_instance sends (create_voxel_instance + labelmap's)
NEUCLEASE_LABELMAP = {
    "typename": "labelmap",
    "dataname": "seg",
    "versioned": "true",
    "BlockSize": "64,64,64",
    "VoxelSize": "8.0,8.0,8.0",
    "VoxelUnits": "nanometers,nanometers,nanometers",
    "IndexedLabels": "true",
    "CountLabels": "true",
    "MaxDownresLevel": "2",
}
#: a uint8blk with every setting DVID's datastore and imageblk parse
DVID_UINT8 = {
    "typename": "uint8blk",
    "dataname": "em",
    "versioned": "false",
    "BlockSize": "32,32,32",
    "VoxelSize": "4,4,40",
    "VoxelUnits": "nanometers",
    "Compression": "jpeg",
    "Checksum": "crc32",
    "Tags": "type=em,source=fib",
    "Sync": "seg",
    "Background": "255",
    "MinPoint": "0,0,0",
    "MaxPoint": "511,511,511",
    "MinIndex": "0,0,0",
    "MaxIndex": "15,15,15",
    "GridStore": "precomputed-em",
    "ScaleLevel": "0",
    "MaxDownresLevel": "3",
}

_names = itertools.count()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    hub = EmbeddedHub.open("memory://")
    hub.create_repo("settings", "instance settings")
    with TestClient(create_app(hub)) as c:
        yield c
    hub.close()


def _root(client: TestClient) -> str:
    (root,) = client.get("/api/repos/info").json()
    return str(root)


def _create(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post(f"/api/repo/{_root(client)}/instance", json=body)


def _info(client: TestClient, name: str) -> Any:
    return client.get(f"/api/node/{_root(client)}/{name}/info").json()


def test_neuclease_labelmap_and_a_full_uint8blk_are_created(client: TestClient) -> None:
    r = _create(client, NEUCLEASE_LABELMAP)
    assert r.status_code == 200, r.text
    assert r.json()["IgnoredSettings"] == ["CountLabels"]
    info = _info(client, "seg")
    assert info["Base"]["IgnoredSettings"] == ["CountLabels"]
    assert info["Extended"]["MaxDownresLevel"] == 2
    assert info["Extended"]["BlockSize"] == [64, 64, 64]
    r = _create(client, DVID_UINT8)
    assert r.status_code == 200, r.text
    ignored = ["Checksum", "GridStore", "MaxIndex", "MaxPoint", "MinIndex", "MinPoint"]
    ignored += ["ScaleLevel", "Sync"]
    assert r.json()["IgnoredSettings"] == ignored
    info = _info(client, "em")
    assert info["Base"]["IgnoredSettings"] == ignored
    assert info["Base"]["Versioned"] is False
    assert info["Base"]["Tags"] == {"type": "em", "source": "fib"}  # DVID's Tags setting
    assert info["Extended"]["BlockSize"] == [32, 32, 32]
    assert info["Extended"]["VoxelSize"] == [4.0, 4.0, 40.0]
    assert info["Extended"]["Background"] == 255
    assert info["Extended"]["MaxDownresLevel"] == 3
    # kept in the record: /api/repos/info shows the same
    repo = client.get("/api/repos/info").json()[_root(client)]
    assert repo["DataInstances"]["em"]["Base"]["IgnoredSettings"] == ignored


def _spelled(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from([key, key.lower(), key.upper()])


#: valid values of every DVID setting (either type), some with their effect on voxhub
VALID: dict[str, st.SearchStrategy[str]] = {
    "BlockSize": st.sampled_from(["16,16,16", "32,64,16", "64,64,64"]),
    "VoxelSize": st.sampled_from(["8,8,8", "4.0,4.0,40.0", "8"]),
    "VoxelUnits": st.sampled_from(["nanometers", "nm,nm,nm"]),
    "MaxDownresLevel": st.sampled_from(["0", "1", "3"]),
    "Compression": st.sampled_from(["none", "lz4", "gzip", "gzip:5", "jpeg", "zstd", "snappy"]),
    "Background": st.sampled_from(["0", "255"]),
    "IndexedLabels": st.sampled_from(["true", "false", "1", "0"]),
    "CountLabels": st.sampled_from(["true", "false"]),
    "Checksum": st.sampled_from(["none", "crc32", "CRC32"]),
    "Tags": st.sampled_from(["", "type=meshes", "a=b,c=d", "bad,=x"]),
    "Sync": st.sampled_from(["seg", "seg,bodies"]),
    "GridStore": st.just("store"),
    "ScaleLevel": st.sampled_from(["0", "2"]),
    "MinPoint": st.just("0,0,0"),
    "MaxIndex": st.just("9,9,9"),
    "versioned": st.sampled_from(["true", "false", "0"]),
    "Foo": st.text(max_size=5),  # no type knows it: ignored, whatever its value
}
IMAGE_USES = {"blocksize", "voxelsize", "voxelunits", "maxdownreslevel", "compression"}
IMAGE_USES |= {"background"}
LABEL_USES = {"blocksize", "voxelsize", "voxelunits", "maxdownreslevel"}


def _expected_ignored(typename: str, body: dict[str, str]) -> list[str]:
    """The model: what each type uses; everything else but versioned is ignored."""
    uses = set(LABEL_USES if typename == "labelmap" else IMAGE_USES)
    indexed = body.get(next((k for k in body if k.lower() == "indexedlabels"), ""), "0")
    if typename == "labelmap" and indexed in ("true", "1"):
        uses.add("indexedlabels")
    compression = next((v for k, v in body.items() if k.lower() == "compression"), "")
    if compression == "snappy":  # DVID's, no voxhub codec: the default serves
        uses.discard("compression")
    shared = {"typename", "dataname", "versioned", "tags"}  # every datatype uses these
    return sorted(k for k in body if k.lower() not in uses | shared)


@st.composite
def dvid_bodies(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    typename = draw(st.sampled_from(["labelmap", "uint8blk"]))
    keys = draw(st.lists(st.sampled_from(sorted(VALID)), unique=True, max_size=8))
    body = {"typename": typename, "dataname": f"i{next(_names)}"}
    for key in keys:
        body[draw(_spelled(key))] = draw(VALID[key])
    return typename, body


@settings(max_examples=25, deadline=None)
@given(dvid_bodies())
def test_any_dvid_settings_create_and_list_what_was_ignored(
    client: TestClient, drawn: tuple[str, dict[str, str]]
) -> None:
    typename, body = drawn
    r = _create(client, body)
    assert r.status_code == 200, (body, r.text)
    want = _expected_ignored(typename, body)
    assert r.json()["IgnoredSettings"] == want
    base = _info(client, body["dataname"])["Base"]
    assert base["IgnoredSettings"] == want
    tags = next((v for k, v in body.items() if k.lower() == "tags"), "")
    pairs = [p.split("=") for p in tags.split(",")]  # DVID: "name=value" pieces, others skipped
    assert base["Tags"] == {p[0]: p[1] for p in pairs if len(p) == 2 and p[0]}


#: malformed values of settings DVID parses (used by the type or not)
MALFORMED = {
    "BlockSize": st.sampled_from(["64,x,64", "64,64", ""]),
    "VoxelSize": st.sampled_from(["a,b,c", "1,2"]),
    "MaxDownresLevel": st.sampled_from(["-1", "x", "256", "1.5"]),
    "versioned": st.sampled_from(["maybe", "yes", "2"]),
    "IndexedLabels": st.sampled_from(["maybe", "2"]),
    "CountLabels": st.sampled_from(["maybe", ""]),
    "Checksum": st.sampled_from(["md5", "sha1"]),
    "ScaleLevel": st.sampled_from(["x", "-2"]),
    "MinPoint": st.sampled_from(["1,2", "a,b,c"]),
    "Background": st.sampled_from(["x", "dark"]),
    "Compression": st.sampled_from(["bogus", "gzip:x"]),
}


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["labelmap", "uint8blk"]),
    st.sampled_from(sorted(MALFORMED)).flatmap(lambda k: st.tuples(_spelled(k), MALFORMED[k])),
)
def test_a_malformed_setting_is_a_400_naming_it(
    client: TestClient, typename: str, bad: tuple[str, str]
) -> None:
    key, value = bad
    name = f"bad{next(_names)}"
    r = _create(client, {"typename": typename, "dataname": name, key: value})
    assert r.status_code == 400, (key, value, r.text)
    assert key in r.json()["error"], r.json()
    assert client.get(f"/api/node/{_root(client)}/{name}/info").status_code == 404
