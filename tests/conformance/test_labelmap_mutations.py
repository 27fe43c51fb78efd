"""A proofreading session as Neu3/neuclease sends it, on an instance of its own at the open node."""

from __future__ import annotations

import gzip
import itertools

import numpy as np
import pytest

from . import dvid_wire
from .conftest import APP, SEG, USER, Dvid, label_raw

_names = itertools.count()


@pytest.fixture
def edit(dvid: Dvid) -> str:
    """A fresh labelmap holding SEG at the open node (so mutations stay out of ``seg``)."""
    name = f"edit{next(_names)}"
    dvid.labelmap(name)
    label_raw(dvid, name, SEG, (0, 0, 0))
    return name


def mapping(dvid: Dvid, name: str, svs: list[int]) -> list[int]:
    result: list[int] = dvid.json(dvid.at(name, "mapping"), json=svs)
    return result


@pytest.mark.covers(
    "labelmap",
    "POST /raw/{dims}/{size}/{offset}",
    "POST /merge",
    "POST /cleave/{label}",
    "POST /renumber",
)
def test_merge_cleave_and_renumber(dvid: Dvid, edit: str) -> None:
    merged = dvid.ok("POST", dvid.at(edit, "merge"), json=[1, 3, 5]).json()
    assert set(merged) == {"MutationID"}
    assert isinstance(merged["MutationID"], int)
    assert mapping(dvid, edit, [1, 3, 5]) == [1, 1, 1]
    assert dvid.json(dvid.at(edit, "supervoxels/1")) == [1, 3, 5]

    next_free = dvid.json(dvid.at(edit, "nextlabel"))["nextlabel"]
    cleaved = dvid.ok("POST", dvid.at(edit, "cleave/1"), json=[3, 5]).json()
    assert set(cleaved) == {"CleavedLabel", "MutationID"}
    body = cleaved["CleavedLabel"]
    assert body >= next_free
    assert cleaved["MutationID"] > merged["MutationID"]
    assert mapping(dvid, edit, [1, 3, 5]) == [1, body, body]
    assert dvid.json(dvid.at(edit, f"size/{body}")) == {"voxels": int(np.isin(SEG, [3, 5]).sum())}

    renumbered = dvid.ok("POST", dvid.at(edit, "renumber"), json=[1000, body])
    assert set(renumbered.json()) == {"MutationID", "MutationIDs"}  # DVID: empty body
    assert mapping(dvid, edit, [3, 5]) == [1000, 1000]
    assert dvid.request("GET", dvid.at(edit, f"supervoxels/{body}")).status_code == 404

    lastmod = dvid.json(dvid.at(edit, "lastmod/1000"))
    assert lastmod["mutation id"] == renumbered.json()["MutationID"]
    assert (lastmod["last mod user"], lastmod["last mod app"]) == (USER, APP)


@pytest.mark.covers("labelmap", "POST /split-supervoxel/{label}", "POST /split/{label}")
def test_split_supervoxel_and_split(dvid: Dvid, edit: str) -> None:
    top = [(56, y, z, 8) for z in range(56, 60) for y in range(56, 64)]  # half of sv 5
    reply = dvid.ok("POST", dvid.at(edit, "split-supervoxel/5"), data=dvid_wire.rles_body(top))
    result = reply.json()
    assert set(result) == {"SplitSupervoxel", "RemainSupervoxel", "MutationID"}
    split, remain = result["SplitSupervoxel"], result["RemainSupervoxel"]
    sizes = dvid.json(
        dvid.at(edit, "sizes"), json=[split, remain, 5], params={"supervoxels": "true"}
    )
    assert sizes == [256, 256, 0]
    assert mapping(dvid, edit, [split, remain]) == [5, 5]  # both stay in body 5
    points = [[60, 60, 57], [60, 60, 62]]
    assert dvid.json(dvid.at(edit, "labels"), json=points, params={"supervoxels": "true"}) == [
        split,
        remain,
    ]

    # the split route takes the same rles body and moves those voxels to a new body
    rows = [(0, y, 0, 4) for y in range(1, 5)]  # 16 voxels of body 1
    split_body = dvid.ok("POST", dvid.at(edit, "split/1"), data=dvid_wire.rles_body(rows)).json()
    assert set(split_body) == {"label", "MutationID"}
    new = split_body["label"]
    assert dvid.json(dvid.at(edit, f"size/{new}")) == {"voxels": 16}
    _, got = dvid_wire.rles(dvid.ok("GET", dvid.at(edit, f"sparsevol/{new}")).content)
    assert dvid_wire.voxels_of(got) == {(x, y, 0) for x in range(4) for y in range(1, 5)}


@pytest.mark.covers("labelmap", "POST /nextlabel/{count}")
def test_nextlabel_reservations(dvid: Dvid, edit: str) -> None:
    first = dvid.ok("POST", dvid.at(edit, "nextlabel/5")).json()
    assert set(first) == {"start", "end"}
    assert first["end"] - first["start"] == 4
    second = dvid.ok("POST", dvid.at(edit, "nextlabel/1")).json()
    assert second["start"] > first["end"]


@pytest.mark.covers("labelmap", "POST /maxlabel/{label}")
def test_maxlabel_is_raised_by_reservations_and_posts(dvid: Dvid, edit: str) -> None:
    reserved = dvid.ok("POST", dvid.at(edit, "nextlabel/3")).json()
    assert dvid.json(dvid.at(edit, "maxlabel")) == {"maxlabel": reserved["end"]}  # DVID's rule
    top = reserved["end"] + 100
    dvid.ok("POST", dvid.at(edit, f"maxlabel/{top}"))
    dvid.ok("POST", dvid.at(edit, f"maxlabel/{top - 50}"))  # lower: ignored
    assert dvid.json(dvid.at(edit, "maxlabel")) == {"maxlabel": top}
    assert dvid.json(dvid.at(edit, "nextlabel")) == {"nextlabel": top + 1}
    assert dvid.request("POST", dvid.at(edit, "maxlabel/0")).status_code == 400


@pytest.mark.covers("labelmap", "GET /mutations")
def test_mutations_are_listed_with_who_made_them(dvid: Dvid, edit: str) -> None:
    dvid.ok("POST", dvid.at(edit, "merge"), json=[1, 3])
    dvid.ok("POST", dvid.at(edit, "cleave/1"), json=[3])
    records = dvid.json(dvid.at(edit, "mutations"))
    assert [r["Action"] for r in records] == ["merge-complete", "cleave-complete"]
    for r in records:
        assert {"MutationID", "Action", "UUID", "User", "App", "Timestamp"} <= set(r)
        assert (r["User"], r["App"]) == (USER, APP)
    assert dvid.json(dvid.at(edit, "mutations"), params={"userid": "nobody"}) == []


@pytest.mark.covers("labelmap", "POST /pyramid")
def test_pyramid_rebuild(dvid: Dvid, edit: str) -> None:
    dvid.ok("POST", dvid.at(edit, "pyramid"))
    assert dvid.json(dvid.at(edit, "label/30_30_30"), params={"scale": "1"}) == {"Label": 5}


@pytest.mark.covers("labelmap", "POST /blocks")
def test_post_blocks_takes_gzipped_native_blocks(dvid: Dvid) -> None:
    """neuclease's post_labelmap_blocks: gzip'd native blocks, several labels per sub-block."""
    name = f"edit{next(_names)}"
    dvid.labelmap(name)
    rng = np.random.default_rng(7)
    mixed = rng.choice(np.array([9, 10, 2**40 + 3], np.uint64), size=(64, 64, 64))
    mixed[:32] = 11  # solid sub-blocks next to mixed ones
    records = [
        ((0, 1, 0), gzip.compress(dvid_wire.encode_block(mixed))),
        ((2, 0, 1), gzip.compress(dvid_wire.solid_block(12))),
    ]
    dvid.ok("POST", dvid.at(name, "blocks"), data=dvid_wire.stream(records))
    back = dvid.ok("GET", dvid.at(name, "raw/0_1_2/64_64_64/0_64_0")).content
    assert np.array_equal(np.frombuffer(back, "<u8").reshape(64, 64, 64), mixed)
    assert dvid.json(dvid.at(name, "label/130_0_70")) == {"Label": 12}
    listed = np.frombuffer(dvid.ok("GET", dvid.at(name, "listlabels")).content, "<u8")
    assert listed.tolist() == [9, 10, 11, 12, 2**40 + 3]
    stream = dvid.ok("GET", dvid.at(name, "specificblocks"), params={"blocks": "0,1,0"})
    block = dvid_wire.parse_stream(stream.content)[(0, 1, 0)]
    assert np.array_equal(dvid_wire.gunzip_block(block), mixed)


@pytest.mark.covers("labelmap", "POST /split-supervoxel/{label}")
def test_split_supervoxel_with_chosen_ids(dvid: Dvid, edit: str) -> None:
    """neuclease's split_supervoxel(split_id=, remain_id=), as copy_splits replays splits."""
    top = dvid_wire.rles_body([(56, y, 56, 8) for y in range(56, 64)])
    url = dvid.at(edit, "split-supervoxel/5")
    reply = dvid.ok(
        "POST", url, data=top, params={"split": "5000", "remain": "5001", "downres": "true"}
    )
    assert reply.json() == reply.json() | {"SplitSupervoxel": 5000, "RemainSupervoxel": 5001}
    sizes = dvid.json(dvid.at(edit, "sizes"), json=[5000, 5001], params={"supervoxels": "true"})
    assert sizes == [64, 512 - 64]
    assert dvid.json(dvid.at(edit, "nextlabel"))["nextlabel"] > 5001  # never handed out
    # one id chosen, the other fresh; an id in use is a conflict and changes nothing
    part = dvid_wire.rles_body([(56, 57, 57, 4)])  # 4 voxels of 5001
    only = dvid.ok(
        "POST", dvid.at(edit, "split-supervoxel/5001"), data=part, params={"remain": "6000"}
    )
    assert only.json()["RemainSupervoxel"] == 6000
    assert only.json()["SplitSupervoxel"] not in (5000, 5001, 6000)
    clash = dvid_wire.rles_body([(40, 40, 0, 2)])
    in_use = dvid.request(
        "POST", dvid.at(edit, "split-supervoxel/3"), data=clash, params={"split": "1"}
    )
    assert in_use.status_code == 409
    assert dvid.json(dvid.at(edit, "label/40_40_0"), params={"supervoxels": "true"}) == {"Label": 3}


@pytest.mark.covers("labelmap", "POST /blocks")
def test_post_blocks_at_a_level(dvid: Dvid) -> None:
    """neuclease's post_labelmap_blocks(scale=1, downres=False): a pipeline posts its own
    downres blocks; they are stored at that level as sent, scale 0 is left alone."""
    name = f"edit{next(_names)}"
    dvid.labelmap(name)
    dvid.ok(
        "POST",
        dvid.at(name, "blocks"),
        data=dvid_wire.stream([((0, 0, 0), gzip.compress(dvid_wire.solid_block(3)))]),
    )
    level = dvid_wire.stream([((0, 0, 0), gzip.compress(dvid_wire.solid_block(8)))])
    dvid.ok("POST", dvid.at(name, "blocks"), data=level, params={"scale": "1"})
    assert dvid.json(dvid.at(name, "label/0_0_0"), params={"scale": "1"}) == {"Label": 8}
    assert dvid.json(dvid.at(name, "label/0_0_0")) == {"Label": 3}
