"""Error statuses a DVID client meets: 404 unknown, 400 malformed, 409 committed node.

Where voxhub differs from DVID on purpose (404 for an unknown instance or node, 409 for a
committed node where DVID answers 400) the help's difference list says so; every error
body is JSON ``{"error": message, "type": class}`` naming what was wrong.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from . import dvid_wire
from .conftest import Dvid


def refused(dvid: Dvid, status: int, method: str, path: str, **kw: object) -> str:
    reply = dvid.request(method, path, **kw)  # type: ignore[arg-type]
    assert reply.status_code == status, (method, path, reply.status_code, reply.text[:300])
    body = reply.json()
    assert set(body) == {"error", "type"}
    assert body["error"]
    message: str = body["error"]
    return message


def test_unknown_node_and_instance_are_404(dvid: Dvid) -> None:
    assert "nosuch" in refused(dvid, 404, "GET", dvid.at("nosuch", "info"))
    refused(dvid, 404, "GET", dvid.at("seg", "info", node="0123456789abcdef0123456789abcdef"))
    refused(dvid, 404, "POST", dvid.at("nosuch", "merge"), json=[1, 2])


@pytest.mark.parametrize(
    "rest",
    [
        "size/424242",
        "supervoxels/424242",
        "supervoxel-sizes/424242",
        "sparsevol/424242",
        "sparsevol-size/424242",
        "sparsevol-coarse/424242",
        "lastmod/424242",
        "index/424242",
    ],
)
def test_unknown_label_is_404(dvid: Dvid, rest: str) -> None:
    refused(dvid, 404, "GET", dvid.at("seg", rest))


@pytest.mark.parametrize(
    ("method", "rest", "kw"),
    [
        ("GET", "size/0", {}),  # DVID: 0 is the protected background label
        ("GET", "label/1_2", {}),
        ("GET", "label/a_b_c", {}),
        ("GET", "raw/0_1_2/64_64/0_0_0", {}),
        ("GET", "labels", {"data": b"not json"}),
        ("GET", "mapping", {"json": {"not": "a list"}}),
        ("GET", "sizes", {"json": [-1]}),
        ("GET", "blocks/64_64_64/1_0_0", {}),  # not block aligned
        ("GET", "specificblocks", {"params": {"blocks": "1,2"}}),
        ("GET", "sparsevol/5", {"params": {"format": "nonsense"}}),
        ("GET", "label/1_1_1", {"params": {"scale": "9"}}),
        ("GET", "raw/0_1_2/8_8_8/0_0_0", {"params": {"supervoxels": "maybe"}}),
        ("POST", "raw/0_1_2/8_8_8/0_0_0", {"data": b"\x00" * 7}),  # wrong length
        ("POST", "blocks", {"data": dvid_wire.stream([((0, 0, 0), b"not gzip")])}),
        ("POST", "blocks", {"data": b"\x00" * 10}),  # a truncated record header
        ("POST", "merge", {"json": [1]}),
        ("POST", "merge", {"json": "1,2"}),
        ("POST", "cleave/1", {"json": [1, 2]}),  # every supervoxel of the body
        ("POST", "split/1", {"data": b"\x00\x03"}),  # truncated rles header
        ("POST", "renumber", {"json": [7]}),  # pairs
        ("POST", "nextlabel/x", {}),
    ],
)
def test_malformed_requests_are_400(
    dvid: Dvid, method: str, rest: str, kw: dict[str, object]
) -> None:
    refused(dvid, 400, method, dvid.at("seg", rest), **kw)


def test_a_failed_post_blocks_writes_nothing(dvid: Dvid) -> None:
    """One bad record in a stream refuses the whole stream (atomic per request)."""
    good = ((2, 0, 0), gzip.compress(dvid_wire.solid_block(77)))
    stream = dvid_wire.stream([good, ((3, 0, 0), b"not gzip")])
    refused(dvid, 400, "POST", dvid.at("seg", "blocks"), data=stream)
    assert dvid.json(dvid.at("seg", "label/130_0_0")) == {"Label": 0}


@pytest.mark.parametrize(
    ("instance", "method", "rest", "kw"),
    [
        ("seg", "POST", "raw/0_1_2/8_8_8/0_0_0", {"data": np.zeros(512, "<u8").tobytes()}),
        ("seg", "POST", "blocks", {"data": dvid_wire.stream([])}),
        ("seg", "POST", "merge", {"json": [1, 3]}),
        ("seg", "POST", "cleave/1", {"json": [2]}),
        ("seg", "POST", "renumber", {"json": [100, 3]}),
        ("seg", "POST", "split/3", {"data": dvid_wire.rles_body([(40, 40, 0, 2)])}),
        ("seg", "POST", "split-supervoxel/3", {"data": dvid_wire.rles_body([(40, 40, 0, 2)])}),
        ("seg", "POST", "nextlabel/3", {}),
        ("seg", "POST", "pyramid", {}),
        ("em", "POST", "raw/0_1_2/8_8_8/0_0_0", {"data": bytes(512)}),
        ("em", "POST", "blocks/0_0_0/1", {"data": bytes(32**3)}),
        ("em", "POST", "extents", {"json": {"MinPoint": [0, 0, 0], "MaxPoint": [9, 9, 9]}}),
    ],
)
def test_writes_to_a_committed_node_are_409(
    dvid: Dvid, instance: str, method: str, rest: str, kw: dict[str, object]
) -> None:
    refused(dvid, 409, method, dvid.at(instance, rest, node=dvid.committed), **kw)


@pytest.mark.parametrize(
    ("method", "rest", "kw"),
    [
        ("GET", "raw/0_1/8_8/0_0", {}),
        ("GET", "raw/0_1_2/8_8_8/0_0_0", {"params": {"scale": "5"}}),
        ("GET", "raw/xy/8_8/0_0_0/nonsense", {}),
        ("GET", "isotropic/0_1_2/8_8/0_0_0", {}),
        ("GET", "subvolblocks/40_32_32/0_0_0", {}),  # not block aligned
        ("GET", "subvolblocks/32_32_32/0_0_0", {"params": {"compression": "bogus"}}),
        ("GET", "specificblocks", {"params": {"blocks": "0,0"}}),
        ("GET", "blocks/0_0_0/-1", {}),
        ("GET", "arb/0_0_0/0_0_0/0_0_0/1", {}),  # degenerate plane
        ("POST", "raw/0_1_2/8_8_8/0_0_0", {"data": bytes(511)}),
        ("POST", "blocks/0_0_0/1", {"data": bytes(10)}),
        ("POST", "extents", {"data": b"{not json"}),
    ],
)
def test_malformed_image_requests_are_400(
    dvid: Dvid, method: str, rest: str, kw: dict[str, object]
) -> None:
    refused(dvid, 400, method, dvid.at("em", rest), **kw)


def test_unknown_label_instance_or_node_on_image_routes_is_404(dvid: Dvid) -> None:
    refused(dvid, 404, "GET", dvid.at("nosuch", "raw/0_1_2/8_8_8/0_0_0"))
    refused(dvid, 404, "GET", dvid.at("em", "raw/0_1_2/8_8_8/0_0_0", node="ffffffffffff"))
    refused(dvid, 404, "GET", dvid.at("em", "nosuchroute"))


@pytest.mark.parametrize(
    ("instance", "method", "rest"),
    [
        ("em", "GET", "raw/0_1_2/8_8_8/0_0_0"),
        ("em", "GET", "raw/xy/8_8/0_0_0/png"),
        ("em", "GET", "isotropic/0_1_2/8_8_8/0_0_0"),
        ("seg", "GET", "raw/0_1_2/8_8_8/0_0_0"),
        ("seg", "GET", "isotropic/0_1_2/8_8_8/0_0_0"),
        ("seg", "GET", "pseudocolor/xy/8_8/0_0_0"),
    ],
)
def test_a_read_masked_by_a_missing_roi_is_404_not_unmasked(
    dvid: Dvid, instance: str, method: str, rest: str
) -> None:
    """DVID masks by ``?roi=``: a read naming an ROI that does not exist must not answer
    unmasked voxels as if it had applied one."""
    message = refused(dvid, 404, method, dvid.at(instance, rest), params={"roi": "cells"})
    assert "'cells'" in message


@pytest.mark.parametrize(("instance", "itemsize"), [("em", 1), ("seg", 8)])
def test_a_write_limited_to_a_missing_roi_is_404_not_written_whole(
    dvid: Dvid, instance: str, itemsize: int
) -> None:
    """DVID writes only the voxels inside the ROI; one that does not exist must not let
    the write through unmasked (tests/roi/test_masked_writes.py has the masked writes)."""
    rest = "raw/0_1_2/8_8_8/0_0_0"
    data = bytes(itemsize * 512)
    message = refused(
        dvid, 404, "POST", dvid.at(instance, rest), params={"roi": "cells"}, data=data
    )
    assert "'cells'" in message
