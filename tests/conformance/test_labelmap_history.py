"""Mutation history as neuclease reads it: ``mutations`` per node, ``mutations-range``,
``history``, ``supervoxel-splits``, and a renumber of several pairs."""

from __future__ import annotations

import re

import pytest

from . import dvid_wire
from .conftest import APP, SEG, USER, Dvid, label_raw

#: neuclease's parse of DVID's Timestamp (``kafka_msgs_to_df``)
DVID_TIME = re.compile(r"(\d\d\d\d-\d\d-\d\d) (\d\d:\d\d:\d\d.\d+) (.\d\d\d\d) .*")


@pytest.mark.covers(
    "labelmap",
    "GET /mutations",
    "GET /mutations-range/{beg}/{end}",
    "GET /history/{label}/{from}/{to}",
    "GET /supervoxel-splits",
)
def test_history_across_versions(dvid: Dvid) -> None:
    root, node = dvid.committed, dvid.node
    [merge] = dvid.json(dvid.at("seg", "mutations", root))
    assert merge == merge | {"Action": "merge-complete", "UUID": root, "Target": 1, "Labels": [2]}
    assert (merge["User"], merge["App"]) == (USER, APP)
    assert DVID_TIME.fullmatch(merge["Timestamp"])
    assert dvid.json(dvid.at("seg", "mutations", root), params={"userid": "nobody"}) == []
    # the range from the root to the open node ends with the root's records
    assert dvid.json(dvid.at("seg", f"mutations-range/{root}/{node}"))[-1] == merge
    assert dvid.get(dvid.at("seg", f"mutations-range/{node}/{root}")).status_code == 400
    events = dvid.json(dvid.at("seg", f"history/1/{root}/{node}"))
    assert events[0] == {"Action": "merge", "Target": 1, "Labels": [2]}
    assert dvid.get(dvid.at("seg", f"history/1/{node}/{root}")).status_code == 400
    assert dvid.json(dvid.at("seg", "supervoxel-splits", root)) == []


@pytest.mark.covers(
    "labelmap",
    "POST /renumber",
    "POST /split-supervoxel/{label}",
    "GET /mutations",
    "GET /supervoxel-splits",
)
def test_renumber_pairs_and_supervoxel_splits(dvid: Dvid) -> None:
    dvid.labelmap("hist")
    label_raw(dvid, "hist", SEG, (0, 0, 0))
    dvid.ok("POST", dvid.at("hist", "renumber"), json=[100, 1, 300, 3])
    top = [(56, y, z, 8) for z in range(56, 60) for y in range(56, 64)]  # half of sv 5
    split = dvid.ok("POST", dvid.at("hist", "split-supervoxel/5"), data=dvid_wire.rles_body(top))
    records = dvid.json(dvid.at("hist", "mutations"))
    assert [(r["Action"], r.get("NewLabel"), r.get("OrigLabel")) for r in records] == [
        ("renumber-complete", 100, 1),
        ("renumber-complete", 300, 3),
        ("split-supervoxel-complete", None, None),
    ]
    parts = split.json()
    row = [parts["MutationID"], 5, parts["RemainSupervoxel"], parts["SplitSupervoxel"]]
    assert dvid.json(dvid.at("hist", "supervoxel-splits")) == [dvid.node, [row]]
