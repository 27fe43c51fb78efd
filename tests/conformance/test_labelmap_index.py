"""Label indexes and bulk ingest as pipelines and neuclease send them: DVID's protobuf
``LabelIndex``/``LabelIndices``/``MappingOps`` bodies (written by hand here, from the
wire format), ``index?mutid=``, ``index-version`` and ``ingest-supervoxels``."""

from __future__ import annotations

import gzip
import itertools

import numpy as np
import pytest

from . import dvid_wire
from . import protobuf_wire as pb
from .conftest import SEG, SOLID, Dvid

_names = itertools.count()
SIZES = dict(zip(*np.unique(SEG, return_counts=True), strict=True))
N = {int(sv): int(n) for sv, n in SIZES.items()}


@pytest.fixture
def fresh(dvid: Dvid) -> str:
    """An empty labelmap at the open node, for ingests."""
    name = f"ingest{next(_names)}"
    dvid.labelmap(name)
    return name


@pytest.mark.covers("labelmap", "GET /index/{label}", "GET /indices", "GET /index-version/{label}")
def test_index_indices_and_index_version(dvid: Dvid) -> None:
    reply = dvid.ok("GET", dvid.at("seg", "index/1"))
    assert reply.headers["Content-Type"] == "application/octet-stream"
    label, blocks, mutid = pb.read_label_index(reply.content)
    assert (label, blocks) == (1, {(0, 0, 0): {1: N[1], 2: N[2]}})
    (merge,) = dvid.json(dvid.at("seg", "mutations", dvid.committed))
    assert mutid == merge["MutationID"]
    # as it stood before the root's merge of 2 into 1
    before = dvid.ok("GET", dvid.at("seg", "index/1"), params={"mutid": mutid}).content
    assert pb.read_label_index(before)[:2] == (1, {(0, 0, 0): {1: N[1]}})
    meta = dvid.json(dvid.at("seg", "index/1"), params={"metadata-only": "true"})
    assert meta["num_voxels"] == N[1] + N[2]
    assert meta["last_mutid"] == mutid

    got = dvid.ok("GET", dvid.at("seg", "indices"), json=[4, 1, 424242]).content
    assert [(i[0], i[1]) for i in pb.read_label_indices(got)] == [
        (4, {(0, 0, 1): {SOLID: 64**3}}),
        (1, blocks),
        (424242, {}),
    ]
    assert dvid.ok("GET", dvid.at("seg", "index-version/1")).text == dvid.committed
    assert dvid.get(dvid.at("seg", "index-version/424242")).status_code == 404
    assert dvid.get(dvid.at("seg", "index/1"), params={"mutid": "-1"}).status_code == 400


@pytest.mark.covers("labelmap", "POST /index/{label}", "POST /indices")
def test_post_index_and_indices(dvid: Dvid, fresh: str) -> None:
    body = pb.label_index(7, {(0, 0, 0): {7: 100, 8: 28}}, mutid=3, user="pipe", app="x")
    dvid.ok("POST", dvid.at(fresh, "index/7"), data=body)
    got = pb.read_label_index(dvid.ok("GET", dvid.at(fresh, "index/7")).content)
    assert got == (7, {(0, 0, 0): {7: 100, 8: 28}}, 3)
    assert dvid.json(dvid.at(fresh, "supervoxel-sizes/7")) == {
        "supervoxels": [7, 8],
        "sizes": [100, 28],
    }
    assert dvid.ok("GET", dvid.at(fresh, "index-version/7")).text == dvid.node
    many = pb.label_indices([pb.label_index(9, {(-1, 2, 3): {9: 1}}), pb.label_index(7, {})])
    dvid.ok("POST", dvid.at(fresh, "indices"), data=many)
    assert dvid.get(dvid.at(fresh, "index/7")).status_code == 404  # no blocks: deleted
    assert pb.read_label_index(dvid.ok("GET", dvid.at(fresh, "index/9")).content)[1] == {
        (-1, 2, 3): {9: 1}
    }
    # refused whole, naming what is wrong
    bad = pb.label_indices([pb.label_index(10, {(0, 0, 0): {10: 1}}), b"\x10\x00"])
    reply = dvid.post(dvid.at(fresh, "indices"), data=bad)
    assert reply.status_code == 400
    assert "label 0" in reply.json()["error"]
    assert dvid.get(dvid.at(fresh, "index/10")).status_code == 404
    reply = dvid.post(dvid.at(fresh, "index/11"), data=pb.label_index(12, {(0, 0, 0): {12: 1}}))
    assert reply.status_code == 400
    committed = dvid.post(dvid.at("seg", "index/11", dvid.committed), data=body)
    assert committed.status_code in (400, 409)


@pytest.mark.covers("labelmap", "POST /mappings")
def test_post_mappings(dvid: Dvid, fresh: str) -> None:
    dvid.ok("POST", dvid.at(fresh, "mappings"), data=pb.mapping_ops([(20, [21, 22]), (30, [31])]))
    assert dvid.json(
        dvid.at(fresh, "mapping"), params={"nolookup": "true"}, json=[21, 22, 31, 5]
    ) == [
        20,
        20,
        30,
        5,
    ]
    assert dvid.json(dvid.at(fresh, "nextlabel"))["nextlabel"] > 31
    assert dvid.post(dvid.at(fresh, "mappings"), data=b"\x0a\x05\x01").status_code == 400


@pytest.mark.covers("labelmap", "POST /ingest-supervoxels")
def test_ingest_supervoxels(dvid: Dvid, fresh: str) -> None:
    records = [((0, 0, 0), gzip.compress(dvid_wire.encode_block(SEG))),
               ((2, 0, 0), gzip.compress(dvid_wire.solid_block(SOLID)))]  # fmt: skip
    dvid.ok("POST", dvid.at(fresh, "ingest-supervoxels"), data=dvid_wire.stream(records))
    assert dvid.json(dvid.at(fresh, "size/3"), params={"supervoxels": "true"}) == {"voxels": N[3]}
    assert dvid.json(dvid.at(fresh, "maxlabel")) == {"maxlabel": 6}
    raw = dvid.ok("GET", dvid.at(fresh, "raw/0_1_2/64_64_64/128_0_0")).content
    assert (np.frombuffer(raw, "<u8") == SOLID).all()
    half = [((0, 0, 0), gzip.compress(dvid_wire.solid_block(9)))]
    dvid.ok("POST", dvid.at(fresh, "ingest-supervoxels"), params={"scale": "1"},
            data=dvid_wire.stream(half))  # fmt: skip
    low = dvid.ok("GET", dvid.at(fresh, "raw/0_1_2/64_64_64/0_0_0"), params={"scale": "1"})
    assert (np.frombuffer(low.content, "<u8") == 9).all()
    truncated = dvid_wire.stream(records)[:-3]
    reply = dvid.post(dvid.at(fresh, "ingest-supervoxels"), data=truncated)
    assert reply.status_code == 400
