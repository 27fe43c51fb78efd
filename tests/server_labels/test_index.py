"""Label indexes in DVID's protobuf (index, indices, index-version, ?mutid=), and the bulk
ingests (POST index/indices, POST mappings, ingest-supervoxels), through the real app."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import protobuf_wire as pb
from voxhub.datatypes.labelmap import dvid_proto
from voxhub.datatypes.labelmap.dvid_proto import MappingOp, decode_index, encode_index
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.native_block import encode_native
from voxhub.datatypes.wire.block_stream import encode_stream

from .conftest import BIG, Env

FIRST = 1_000_000_001  # the first mutation id of a repo


def wire_index(index: LabelIndex) -> bytes:
    """``LabelIndex`` bytes built by hand from the wire format (not by protobuf)."""
    meta = index.meta
    return pb.label_index(
        index.body,
        index.blocks,
        mutid=meta.get("mutation id", 0),
        user=meta.get("last mod user", ""),
        app=meta.get("last mod app", ""),
        time=meta.get("last mod time", ""),
    )


def _entry(block_key: int) -> bytes:
    """A ``blocks`` entry of ``LabelIndex`` with any key: one voxel of supervoxel 5."""
    sv_count = pb.bytes_field(1, pb.uint_field(1, 5) + pb.uint_field(2, 1))
    return pb.bytes_field(1, pb.uint_field(1, block_key) + pb.bytes_field(2, sv_count))


coords = st.tuples(*[st.integers(-(2**20) + 1, 2**20 - 1)] * 3)
ids = st.integers(1, 2**64 - 1)
indexes = st.builds(
    LabelIndex,
    ids,
    st.dictionaries(
        coords, st.dictionaries(ids, st.integers(1, 2**32 - 1), min_size=1), max_size=6
    ),
    st.one_of(
        st.just({}),
        st.fixed_dictionaries(
            {
                "mutation id": st.integers(1, 2**64 - 1),
                "last mod time": st.text(max_size=8),
                "last mod user": st.text(max_size=8),
                "last mod app": st.text(max_size=8),
            }
        ),
    ),
)


@settings(max_examples=60, deadline=None)
@given(indexes)
def test_label_index_protobuf_round_trips_and_matches_hand_built_bytes(index: LabelIndex) -> None:
    assert decode_index(encode_index(index)) == index
    assert decode_index(wire_index(index)) == index
    assert dvid_proto.decode_indices(dvid_proto.encode_indices([index, index])) == [index] * 2


@settings(max_examples=60, deadline=None)
@given(coords)
def test_block_keys_are_dvids(coord: tuple[int, int, int]) -> None:
    key = dvid_proto.encode_block(coord)
    assert key == pb.block_key(*coord)
    assert dvid_proto.decode_block(key) == coord


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**64 - 1), st.lists(ids, max_size=4)), max_size=4))
def test_mapping_ops_round_trip_and_match_hand_built_bytes(
    ops: list[tuple[int, list[int]]],
) -> None:
    parsed = [MappingOp(m, tuple(o), mutid=7) for m, o in ops]
    assert dvid_proto.decode_mapping_ops(dvid_proto.encode_mapping_ops(parsed)) == parsed
    packed = pb.mapping_ops(ops, mutid=7)
    assert dvid_proto.decode_mapping_ops(packed) == parsed


def _json_index(env: Env, label: int, query: str = "") -> LabelIndex:
    r = env.client.get(env.url(f"index/{label}{query}"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    return decode_index(r.content)


# -- reads ---------------------------------------------------------------------------------------
def test_index_is_dvids_protobuf_or_json(env: Env) -> None:
    c = env.client
    c.post(env.url("merge?u=ann"), json=[1, 3])
    index = _json_index(env, 1)
    assert index.blocks == {(0, 0, 0): {1: 4096}, (0, 0, 1): {3: 2048}}
    assert index.meta["mutation id"] == FIRST
    assert index.meta["last mod user"] == "ann"
    body = c.get(env.url("index/1?format=json")).json()
    assert body["label"] == 1
    assert body["last_mut_id"] == FIRST
    assert body["blocks"] == {"0,0,0": {"1": 4096}, "1,0,0": {"3": 2048}}
    assert "blocks" not in c.get(env.url("index/1?format=json&metadata-only=true")).json()
    meta = c.get(env.url("index/1?metadata-only=true")).json()
    assert meta["num_voxels"] == 6144
    assert (meta["last_mutid"], meta["last_mod_user"]) == (FIRST, "ann")
    assert c.get(env.url("index/1?format=xml")).status_code == 400

    r = c.request("GET", env.url("indices"), json=[3, BIG, 1, 77])
    got = dvid_proto.decode_indices(r.content)
    assert [i.body for i in got] == [3, BIG, 1, 77]
    assert got[2] == index
    assert got[1].blocks == {(0, 0, 2): {BIG: 1}}
    assert got[0].blocks == got[3].blocks == {}  # merged away, never existed
    listed = c.request("GET", env.url("indices?format=json"), json=[1]).json()
    assert listed == [body]
    assert c.request("GET", env.url("indices"), json={"a": 1}).status_code == 400


def test_index_as_of_a_mutation(env: Env) -> None:
    c = env.client
    before_1, before_3 = _json_index(env, 1), _json_index(env, 3)
    merged = c.post(env.url("merge"), json=[1, 3]).json()["MutationID"]
    after_merge = _json_index(env, 1)
    got = c.post(env.url("cleave/1"), json=[3]).json()
    cleaved, new = got["MutationID"], got["CleavedLabel"]
    assert _json_index(env, 1, f"?mutid={merged}") == before_1
    assert _json_index(env, 1, "?mutid=0") == before_1
    assert _json_index(env, 1, f"?mutid={cleaved}") == after_merge
    assert _json_index(env, 1, f"?mutid={cleaved + 1}") == _json_index(env, 1)
    assert _json_index(env, 3, f"?mutid={merged}") == before_3
    assert c.get(env.url(f"index/3?mutid={cleaved}")).status_code == 404  # merged away
    assert c.get(env.url(f"index/{new}?mutid={cleaved}")).status_code == 404  # not yet made
    assert _json_index(env, new, f"?mutid={cleaved + 1}").blocks == {(0, 0, 1): {3: 2048}}
    assert c.get(env.url("index/1?mutid=x")).status_code == 400

    # a child node sees its branch's history and adds its own
    env.hub.catalog.commit(env.node.uuid)
    child = env.hub.catalog.newversion(env.node.uuid).uuid
    again = c.post(env.url("merge", child), json=[1, new]).json()["MutationID"]
    r = c.get(env.url(f"index/1?mutid={merged}", child))
    assert decode_index(r.content) == before_1
    r = c.get(env.url(f"index/1?mutid={again}", child))
    assert decode_index(r.content) == _json_index(env, 1)  # the parent's, unchanged


def test_index_version_names_the_node_that_stored_it(env: Env) -> None:
    c = env.client
    root = env.node.uuid
    assert c.get(env.url("index-version/1")).text == root
    env.hub.catalog.commit(root)
    child = env.hub.catalog.newversion(root).uuid
    assert c.get(env.url("index-version/1", child)).text == root
    c.post(env.url("merge", child), json=[1, 2])
    assert c.get(env.url("index-version/1", child)).text == child
    assert c.get(env.url("index-version/2", child)).status_code == 404  # merged away here
    assert c.get(env.url("index-version/2")).text == root
    assert c.get(env.url("index-version/0")).status_code == 400


# -- index ingest ------------------------------------------------------------------------------
def test_post_index_stores_what_it_is_given(env: Env) -> None:
    c = env.client
    index = LabelIndex(50, {(0, 0, 2): {50: 10, 51: 5}}, {
        "mutation id": 9, "last mod time": "2024-01-01T00:00:00Z",
        "last mod user": "pipe", "last mod app": "ingest"})  # fmt: skip
    assert c.post(env.url("index/50"), content=wire_index(index)).status_code == 200
    assert _json_index(env, 50) == index
    assert c.get(env.url("supervoxels/50")).json() == [50, 51]
    assert c.get(env.url("size/50")).json() == {"voxels": 15}
    assert c.get(f"/api/node/{env.node.uuid}/seg/nextlabel").json()["nextlabel"] == 52
    # an index with no blocks deletes the body's
    assert c.post(env.url("index/50"), content=pb.uint_field(2, 50)).status_code == 200
    assert c.get(env.url("index/50")).status_code == 404
    # the JSON form too
    body = {"label": 60, "blocks": {"1,0,0": {"60": 7}}}
    assert c.post(env.url("index/60?format=json"), json=body).status_code == 200
    assert _json_index(env, 60).blocks == {(0, 0, 1): {60: 7}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x0a\xff\xff", "not a protobuf LabelIndex"),
        (pb.uint_field(2, 51), "posted to label 50"),
        (_entry(1 << 63) +
         pb.uint_field(2, 50), "bits above the 63"),
        (_entry(1 << 20) +
         pb.uint_field(2, 50), "negative zero"),
        (wire_index(LabelIndex(50, {(0, 0, 0): {50: 4097}})), "more than the 4096"),
        (wire_index(LabelIndex(50, {(0, 0, 0): {0: 3}})), "supervoxel 0"),
        (pb.bytes_field(1, pb.uint_field(1, 5)) + pb.uint_field(2, 50), "lists no supervoxel"),
        (b"", "needs a body"),
    ],
)  # fmt: skip
def test_post_index_refuses_malformed_indexes(env: Env, body: bytes, message: str) -> None:
    r = env.client.post(env.url("index/50"), content=body)
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert env.client.get(env.url("index/50")).status_code == 404


def test_post_indices_is_all_or_nothing(env: Env) -> None:
    c = env.client
    good = LabelIndex(70, {(0, 0, 0): {70: 1}})
    bad = LabelIndex(71, {(0, 0, 0): {71: 5000}})
    r = c.post(env.url("indices"), content=dvid_proto.encode_indices([good, bad]))
    assert r.status_code == 400
    assert "label 71, block (0, 0, 0) counts 5000 voxels" in r.json()["error"]
    assert c.get(env.url("index/70")).status_code == 404
    r = c.post(env.url("indices"), content=dvid_proto.encode_indices([good, good]))
    assert r.status_code == 400
    assert "two label indexes" in r.json()["error"]
    empty_1 = LabelIndex(1)
    r = c.post(env.url("indices"), content=dvid_proto.encode_indices([good, empty_1]))
    assert r.status_code == 200
    assert _json_index(env, 70) == good
    assert c.get(env.url("index/1")).status_code == 404
    json_body = [{"label": 72, "blocks": {"0,0,0": {"72": 3}}}, {"label": 70}]
    assert c.post(env.url("indices?format=json"), json=json_body).status_code == 200
    assert c.get(env.url("index/70")).status_code == 404
    assert _json_index(env, 72).blocks == {(0, 0, 0): {72: 3}}
    r = c.post(env.url("indices?format=json"), json=[{"label": 73, "blocks": {"0,0": {}}}])
    assert r.status_code == 400
    assert "x,y,z" in r.json()["error"]


def test_index_writes_are_refused_on_a_committed_node(env: Env) -> None:
    env.hub.catalog.commit(env.node.uuid)
    r = env.client.post(
        env.url("index/50"), content=wire_index(LabelIndex(50, {(0, 0, 0): {50: 1}}))
    )
    assert r.status_code == 409


# -- mappings ----------------------------------------------------------------------------------
def test_post_mappings(env: Env) -> None:
    c = env.client
    ops = [MappingOp(1, (2, 3), mutid=5), MappingOp(900, (BIG,))]
    assert (
        c.post(env.url("mappings"), content=dvid_proto.encode_mapping_ops(ops)).status_code == 200
    )
    got = c.request("GET", env.url("mapping?nolookup=true"), json=[1, 2, 3, BIG]).json()
    assert got == [1, 1, 1, 900]
    assert c.get(env.url("nextlabel")).json()["nextlabel"] == 901
    assert "2 1\n" in c.get(env.url("mappings")).text
    # its own id removes a mapping; a conflict or supervoxel 0 stores nothing
    assert (
        c.post(env.url("mappings?format=json"), json=[{"mapped": 2, "original": [2]}]).status_code
        == 200
    )
    assert c.request("GET", env.url("mapping?nolookup=true"), json=[2]).json() == [2]
    conflict = [MappingOp(7, (3,)), MappingOp(8, (3, 2))]
    r = c.post(env.url("mappings"), content=dvid_proto.encode_mapping_ops(conflict))
    assert r.status_code == 400
    assert "supervoxel 3 is mapped to both 7 and 8" in r.json()["error"]
    r = c.post(env.url("mappings"), content=dvid_proto.encode_mapping_ops([MappingOp(7, (0,))]))
    assert r.status_code == 400
    assert "supervoxel 0" in r.json()["error"]
    assert c.post(env.url("mappings"), content=b"\xff").status_code == 400
    assert c.request("GET", env.url("mapping?nolookup=true"), json=[2, 3]).json() == [2, 1]


# -- ingest-supervoxels --------------------------------------------------------------------------
def _stream(blocks: dict[tuple[int, int, int], np.ndarray]) -> bytes:
    return encode_stream([(c, gzip.compress(encode_native(b))) for c, b in blocks.items()])


def test_ingest_supervoxels(env: Env) -> None:
    c = env.client
    block = np.full((16, 16, 16), 7, np.uint64)
    block[:, :, 8:] = 8
    r = c.post(env.url("ingest-supervoxels"), content=_stream({(0, 0, 4): block, (0, 0, 0): block}))
    assert r.status_code == 200, r.text
    assert c.get(env.url("size/7")).json() == {"voxels": 4096}
    assert c.get(env.url("size/1")).status_code == 404  # its only block was replaced
    assert c.get(env.url("size/3")).json() == {"voxels": 2048}  # untouched block
    assert c.get(env.url("extents")).json()["MaxPoint"] == [79, 15, 15]
    assert c.get(env.url("maxlabel")).json()["maxlabel"] == BIG  # BIG was there already
    assert c.get(env.url("nextlabel")).json()["nextlabel"] == 9
    raw = c.get(env.url("raw/0_1_2/16_16_16/64_0_0?supervoxels=true")).content
    assert np.array_equal(np.frombuffer(raw, "<u8").reshape(16, 16, 16), block)
    # the pyramid is the pipeline's: scale 1 is as it was until it posts it
    half = np.full((16, 16, 16), 9, np.uint64)
    lvl1 = c.get(env.url("raw/0_1_2/16_16_16/32_0_0?scale=1&supervoxels=true")).content
    assert not np.frombuffer(lvl1, "<u8").any()
    assert (
        c.post(
            env.url("ingest-supervoxels?scale=1"), content=_stream({(0, 0, 2): half})
        ).status_code
        == 200
    )
    lvl1 = c.get(env.url("raw/0_1_2/16_16_16/32_0_0?scale=1&supervoxels=true")).content
    assert np.array_equal(np.frombuffer(lvl1, "<u8").reshape(16, 16, 16), half)
    assert c.get(env.url("size/9")).status_code == 404  # scale 1 is not indexed


@pytest.mark.parametrize(
    ("query", "body", "message"),
    [
        ("", "twice", "appears twice"),
        ("", "gzip", "not gzip"),
        ("?scale=5", "ok", "scale"),
    ],
)
def test_ingest_supervoxels_refusals_store_nothing(
    env: Env, query: str, body: str, message: str
) -> None:
    block = np.full((16, 16, 16), 7, np.uint64)
    good = gzip.compress(encode_native(block))
    records = {
        "twice": [((0, 0, 4), good), ((0, 0, 4), good)],
        "gzip": [((0, 0, 4), good), ((0, 0, 5), b"not gzip")],
        "ok": [((0, 0, 4), good)],
    }[body]
    r = env.client.post(env.url(f"ingest-supervoxels{query}"), content=encode_stream(records))
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert env.client.get(env.url("size/7")).status_code == 404


def test_ingests_log_their_user_and_app_and_refusals_log_nothing(env: Env) -> None:
    def log() -> list[str]:
        return list(env.client.get(f"/api/node/{env.node.uuid}/log").json()["log"])

    block = np.full((16, 16, 16), 7, np.uint64)
    posts = [
        ("index/50", wire_index(LabelIndex(50, {(0, 0, 0): {50: 1}}))),
        ("indices", dvid_proto.encode_indices([LabelIndex(51, {(0, 0, 0): {51: 1}})])),
        ("mappings", dvid_proto.encode_mapping_ops([MappingOp(1, (2,))])),
        ("ingest-supervoxels", _stream({(0, 0, 4): block})),
    ]
    for rest, body in posts:
        before = log()
        assert (
            env.client.post(env.url(f"{rest}?u=pipe&app=ingest"), content=body).status_code == 200
        )
        after = log()
        assert len(after) == len(before) + 1
        assert after[-1].endswith(f" u=pipe app=ingest: POST seg/{rest}"), after[-1]
        assert env.client.post(env.url(f"{rest}?u=pipe"), content=b"\xff").status_code == 400
        assert log() == after


def test_index_before_each_pair_of_a_renumber(env: Env) -> None:
    c = env.client
    before_1, before_3 = _json_index(env, 1), _json_index(env, 3)
    ids = c.post(env.url("renumber"), json=[100, 1, 300, 3]).json()["MutationIDs"]
    assert len(ids) == 2
    for mid in ids:
        assert _json_index(env, 1, f"?mutid={mid}") == before_1
        assert _json_index(env, 3, f"?mutid={mid}") == before_3
        assert c.get(env.url(f"index/100?mutid={mid}")).status_code == 404
    assert _json_index(env, 100, f"?mutid={ids[-1] + 1}").blocks == before_1.blocks


def test_index_history_keys_are_described_and_ordered_by_body_then_mutation() -> None:
    from voxhub.datatypes.labelmap.keys import describe_tkey, index_history_key, index_history_of

    assert describe_tkey(index_history_key(5, FIRST)) == f"index-history:5@{FIRST}"
    assert index_history_of(index_history_key(BIG, 2**64 - 1)) == (BIG, 2**64 - 1)
    keys = [index_history_key(b, m) for b in (1, 2, 2**40) for m in (0, 7, 2**63)]
    assert keys == sorted(keys)
