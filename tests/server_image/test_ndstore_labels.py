"""ndstore and BossDB URLs over a labelmap: cutouts of body ids, POSTs of supervoxels, the
id and ids services, and bounding boxes (tight checked against numpy)."""

from __future__ import annotations

import io
import itertools
import pickle
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import blosc  # type: ignore[import-untyped]
import h5py
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from voxhub.client import EmbeddedHub, Node
from voxhub.datatypes.labelmap.routes_ndstore import false_colour
from voxhub.geometry import Box
from voxhub.server.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient deprecation of httpx
    from starlette.testclient import TestClient

LIMIT = 1 << 20
A = 3  # body that absorbs supervoxel D
B = 2**40 + 5
C = 2**40 + 123_456_789
D = 7
E = 2**63 + 9  # above int64: must never pass through a signed type
SHAPE = (20, 24, 36)  # z, y, x


@dataclass
class LEnv:
    client: TestClient
    hub: EmbeddedHub
    node: Node
    svs: np.ndarray  # supervoxels written to "seg"
    bodies: np.ndarray  # what body reads should give (D merged into A)


def _volume() -> np.ndarray:
    data = np.zeros(SHAPE, np.uint64)
    data[2:5, 3:9, 4:20] = A
    data[10:17, 1:4, 30:35] = B
    data[0:2, 20:24, 0:3] = C
    data[15:20, 10:12, 17:19] = D
    data[6, 6, 6] = E
    return data


@pytest.fixture
def lenv() -> Iterator[LEnv]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("demo", "labels").master
    seg = node.create_labels("seg", block_shape=(16, 16, 16), max_scale=1)
    svs = _volume()
    seg.write((0, 0, 0), svs)
    seg.merge(A, [D])
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    bodies = np.where(svs == D, np.uint64(A), svs)
    with TestClient(create_app(hub, max_request_bytes=LIMIT)) as client:
        yield LEnv(client, hub, node, svs, bodies)
    hub.close()


def _np_bbox(mask: np.ndarray) -> Box:
    where = np.nonzero(mask)
    lo = tuple(int(w.min()) for w in where)
    hi = tuple(int(w.max()) + 1 for w in where)
    return Box((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]))


def _npz(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return zlib.compress(buf.getvalue())


def _load_npz(content: bytes) -> np.ndarray:
    return np.load(io.BytesIO(zlib.decompress(content)))


def _hdf5_body(array: np.ndarray, datatype: str | None) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("seg/CUTOUT", data=array)
        if datatype is not None:
            f.create_dataset("seg/DATATYPE", data=datatype)
    return buf.getvalue()


# -- cutouts -----------------------------------------------------------------------------
def test_cutouts_hold_uint64_body_ids(lenv: LEnv) -> None:
    full = "0,36/0,24/0,20/"
    got = _load_npz(lenv.client.get(f"/ca/demo/seg/npz/0/{full}").content)
    assert got.dtype == np.uint64
    assert np.array_equal(got[0], lenv.bodies)  # D reads as A: bodies, not supervoxels
    r = lenv.client.get(f"/ca/demo/seg/blosc/0/{full}")
    assert r.headers["content-type"] == "product/blosc"
    assert np.array_equal(blosc.unpack_array(r.content)[0], lenv.bodies)
    raw = lenv.client.get(f"/sd/demo/seg/raw/0/{full}").content
    assert raw == lenv.bodies.astype("<u8").tobytes()
    tif = tifffile.imread(io.BytesIO(lenv.client.get(f"/ca/demo/seg/tiff/0/{full}").content))
    assert tif.dtype == np.uint64
    assert np.array_equal(tif, lenv.bodies)
    r = lenv.client.get("/nd/ca/demo/seg/hdf5/0/4,20/3,9/2,7/")
    with h5py.File(io.BytesIO(r.content), "r") as f:
        assert np.array_equal(f["seg/CUTOUT"][()], lenv.bodies[2:7, 3:9, 4:20])
        assert f["seg/CHANNELTYPE"][()] == b"annotation"
        assert f["seg/DATATYPE"][()] == b"uint64"


def test_cutout_at_resolution_one_reads_the_label_pyramid(lenv: LEnv) -> None:
    r = lenv.client.get("/ca/demo/seg/npz/1/0,18/0,12/0,10/")
    expected = lenv.node.labels("seg").read(Box((0, 0, 0), (10, 12, 18)), 1)
    assert np.array_equal(_load_npz(r.content)[0], expected)
    r = lenv.client.get("/ca/demo/seg/npz/1/0,19/0,12/0,10/")
    assert r.status_code == 400
    assert r.json()["error"] == (
        "cutout x [0,19) y [0,12) z [0,10) lies outside the bounds "
        "x [0,18) y [0,12) z [0,10) of channel 'seg' at resolution 1"
    )


@pytest.mark.parametrize(
    ("url", "plane"),
    [
        ("/ca/demo/seg/xy/0/0,36/0,24/6/", lambda v: v[6]),
        ("/ca/demo/seg/xz/0/0,36/6/0,20/", lambda v: v[:, 6, :]),
        ("/ca/demo/seg/yz/0/6/0,24/0,20/", lambda v: v[:, :, 6]),
    ],
)
def test_slices_are_false_coloured_rgba(lenv: LEnv, url: str, plane) -> None:  # type: ignore[no-untyped-def]
    r = lenv.client.get(url)
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.mode == "RGBA"
    rgba = np.asarray(image)
    ids = plane(lenv.bodies)
    assert np.array_equal(rgba, false_colour(ids))
    assert np.array_equal(rgba[..., 3] == 0, ids == 0)  # background alone is transparent
    # colours tell the ids of the slice apart: equal colour exactly where ids are equal
    labelled = ids != 0
    colours = {tuple(c) for c in rgba[labelled].tolist()}
    assert len(colours) == len(np.unique(ids[labelled]))


def test_false_colour_spreads_high_bits() -> None:
    ids = np.array([[1, 1 + 2**40, 1 + 2**63, 0]], np.uint64)
    rgba = false_colour(ids)
    assert len({tuple(c) for c in rgba[0, :3].tolist()}) == 3
    assert rgba[0, 3].tolist() == [0, 0, 0, 0]


# -- writes ------------------------------------------------------------------------------
def _sv(lenv: LEnv, box: Box) -> np.ndarray:
    return lenv.node.labels("seg").read(box, supervoxels=True)


@pytest.mark.parametrize("dtype", [np.uint64, np.uint32])
def test_post_npz_writes_supervoxels(lenv: LEnv, dtype: type) -> None:
    big = 2**40 + 77 if dtype is np.uint64 else 2**32 - 1
    data = np.full((1, 2, 3, 4), big, dtype)
    data[0, 0, 0, 0] = 0
    r = lenv.client.post("/ca/demo/seg/npz/0/30,34/20,23/18,20/", content=_npz(data))
    assert r.status_code == 200, r.text
    got = _sv(lenv, Box((18, 20, 30), (20, 23, 34)))
    assert got.dtype == np.uint64
    assert np.array_equal(got, data[0].astype(np.uint64))
    ids = lenv.client.get("/ca/demo/seg/ids/0/30,34/20,23/18,20/").text
    assert ids == str(big)


def test_post_blosc_and_hdf5(lenv: LEnv) -> None:
    box = Box((0, 0, 30), (2, 2, 32))
    url = "/ca/demo/seg/{}/0/30,32/0,2/0,2/"
    cases = [
        ("blosc", bytes(blosc.pack_array(np.full((1, 2, 2, 2), B + 1, np.uint64))), B + 1),
        ("blosc", bytes(blosc.pack_array(np.full((2, 2, 2), 9, np.uint32))), 9),
        ("blosc", blosc.compress(np.full(8, E, "<u8").tobytes(), typesize=8), E),
        ("blosc", blosc.compress(np.full(8, 11, "<u4").tobytes(), typesize=4), 11),
        ("hdf5", _hdf5_body(np.full((1, 2, 2, 2), C, np.uint64), "uint64"), C),
        ("hdf5", _hdf5_body(np.full((2, 2, 2), 12, np.uint32), "uint32"), 12),
    ]
    for fmt, body, value in cases:
        r = lenv.client.post(url.format(fmt), content=body)
        assert r.status_code == 200, (fmt, value, r.text)
        assert np.array_equal(_sv(lenv, box), np.full((2, 2, 2), value, np.uint64)), value


def test_post_refusals(lenv: LEnv) -> None:
    url = "/ca/demo/seg/npz/0/0,2/0,2/0,2/"
    r = lenv.client.post(url, content=_npz(np.ones((1, 2, 2, 2), np.uint16)))
    assert r.status_code == 400
    assert r.json()["error"] == (
        "Wrong datatype in POST: labelmap channel 'seg' takes uint64 or uint32 ids "
        "(Wrong datatype in POST: the body is uint16, channel 'seg' holds uint64)"
    )
    r = lenv.client.post(url, content=_npz(np.ones((1, 2, 2, 3), np.uint64)))
    assert r.status_code == 400
    assert r.json()["error"].startswith("mismatched dimensions: the body array has shape")
    body = _hdf5_body(np.ones((2, 2, 2), np.uint64), "uint32")
    r = lenv.client.post(url.replace("npz", "hdf5"), content=body)
    assert r.status_code == 400
    assert "takes uint64 or uint32" in r.json()["error"]
    evil = blosc.compress(pickle.dumps(print), typesize=1)
    r = lenv.client.post(url.replace("npz", "blosc"), content=evil)
    assert r.status_code == 400
    assert "builtins.print" in r.json()["error"]
    r = lenv.client.post(url.replace("/0/", "/1/"), content=_npz(np.ones((2, 2, 2), np.uint64)))
    assert r.status_code == 400
    assert r.json()["error"].startswith("resolution: writes go to resolution 0")
    assert np.array_equal(_sv(lenv, Box((0, 0, 0), (2, 2, 2))), lenv.svs[:2, :2, :2])


def test_post_to_committed_node_is_refused(lenv: LEnv) -> None:
    lenv.node.commit()
    r = lenv.client.post(
        "/ca/demo/seg/npz/0/0,2/0,2/0,2/", content=_npz(np.ones((2, 2, 2), np.uint64))
    )
    assert r.status_code == 409


# -- id and ids --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("xyz", "expected"),
    [((4, 3, 2), A), ((17, 10, 15), A), ((30, 1, 10), B), ((2, 23, 1), C), ((6, 6, 6), E)],
)
def test_id_at_voxel(lenv: LEnv, xyz: tuple[int, int, int], expected: int) -> None:
    x, y, z = xyz
    r = lenv.client.get(f"/ca/demo/seg/id/0/{x}/{y}/{z}/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == str(expected)


def test_id_background_and_resolution(lenv: LEnv) -> None:
    assert lenv.client.get("/sd/demo/seg/id/0/35/23/19").text == "0"
    scaled = lenv.node.labels("seg").read(Box((5, 1, 15), (6, 2, 16)), 1)
    assert lenv.client.get("/ca/demo/seg/id/1/15/1/5/").text == str(int(scaled[0, 0, 0]))


def test_ids_in_box(lenv: LEnv) -> None:
    r = lenv.client.get("/ca/demo/seg/ids/0/0,36/0,24/0,20/")
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == f"{A},{B},{C},{E}"  # D is part of A now; 0 never listed
    assert lenv.client.get("/ca/demo/seg/ids/0/20,30/12,20/0,4/").text == ""
    assert lenv.client.get("/ca/demo/seg/ids/0/0,10/0,24/0,3/").text == f"{A},{C}"
    sub = lenv.node.labels("seg").read(Box((0, 0, 0), (10, 12, 18)), 1)
    wanted = ",".join(str(v) for v in np.unique(sub).tolist() if v)
    assert lenv.client.get("/ca/demo/seg/ids/1/0,18/0,12/0,10/").text == wanted


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        (
            "/ca/demo/seg/id/0/36/0/0/",
            400,
            "voxel x [36,37) y [0,1) z [0,1) lies outside the bounds "
            "x [0,36) y [0,24) z [0,20) of channel 'seg' at resolution 0",
        ),
        (
            "/ca/demo/seg/ids/0/0,37/0,24/0,20/",
            400,
            "ids box x [0,37) y [0,24) z [0,20) lies outside the bounds "
            "x [0,36) y [0,24) z [0,20) of channel 'seg' at resolution 0",
        ),
        ("/ca/demo/seg/id/0/1,2/0/0/", 400, "x coordinate '1,2' must be an integer"),
        ("/ca/demo/seg/ids/0/2,1/0,2/0,2/", 400, "x range '2,1' must have start < stop"),
        ("/ca/demo/seg/id/2/0/0/0/", 400, "resolution 2 out of range 0..1 for channel 'seg'"),
        (
            "/ca/demo/gray/id/0/0/0/0/",
            400,
            "the id service needs a labelmap (annotation) channel; channel 'gray' is a uint8blk",
        ),
        (
            "/ca/demo/gray/ids/0/0,1/0,1/0,1/",
            400,
            "the ids service needs a labelmap (annotation) channel; channel 'gray' is a uint8blk",
        ),
        ("/ca/demo/nochan/id/0/0/0/0/", 404, None),
    ],
)
def test_id_service_errors(lenv: LEnv, url: str, status: int, error: str | None) -> None:
    r = lenv.client.get(url)
    assert r.status_code == status
    if error is not None:
        assert r.json()["error"] == error


def test_post_to_id_service_is_refused(lenv: LEnv) -> None:
    r = lenv.client.post("/ca/demo/seg/ids/0/0,2/0,2/0,2/", content=b"x")
    assert r.status_code == 400
    assert r.json()["error"] == "POST takes npz, blosc, hdf5 bodies, not 'ids'"


# -- bounding boxes ----------------------------------------------------------------------
def _read_bbox(content: bytes) -> dict[str, dict[str, list[int]]]:
    with h5py.File(io.BytesIO(content), "r") as f:
        return {
            name: {key: np.asarray(group[key][()]).tolist() for key in group}
            for name, group in f.items()
        }


@pytest.mark.parametrize("label", [A, B, C, E])
@pytest.mark.parametrize("prefix", ["/sd", "/ca", "/nd/sd"])
def test_ndstore_boundingbox_is_tight(lenv: LEnv, label: int, prefix: str) -> None:
    r = lenv.client.get(f"{prefix}/demo/seg/{label}/boundingbox/0/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "product/hdf5"
    box = _np_bbox(lenv.bodies == label)
    assert _read_bbox(r.content) == {
        str(label): {
            "RESOLUTION": 0,
            "XYZOFFSET": list(box.start[::-1]),
            "XYZDIMENSION": list(box.shape[::-1]),
        }
    }


def test_boundingbox_of_merged_body_covers_its_supervoxels(lenv: LEnv) -> None:
    got = _read_bbox(lenv.client.get(f"/sd/demo/seg/{A}/boundingbox/0").content)[str(A)]
    assert got["XYZOFFSET"] == [4, 3, 2]  # x, y, z: A's own corner
    # x stops at A's own edge (20), y and z at D's (12, 20): the box spans both supervoxels
    assert got["XYZDIMENSION"] == [20 - 4, 12 - 3, 20 - 2]


def test_boundingbox_at_resolution_one_covers_the_scale0_box(lenv: LEnv) -> None:
    got = _read_bbox(lenv.client.get(f"/sd/demo/seg/{B}/boundingbox/1/").content)[str(B)]
    # B: x [30,35) y [1,4) z [10,17) -> x [15,18) y [0,2) z [5,9)
    assert got == {"RESOLUTION": 1, "XYZOFFSET": [15, 0, 5], "XYZDIMENSION": [3, 2, 4]}


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        (
            "/sd/demo/seg/99/boundingbox/0/",
            404,
            "label 99 does not exist (no voxels) at this version",
        ),
        ("/sd/demo/seg/0/boundingbox/0/", 400, "label 0 is the protected background value"),
        (f"/sd/demo/seg/{D}/boundingbox/0/", 404, None),  # merged away: no body D any more
        ("/sd/demo/seg/x1/boundingbox/0/", 400, "label 'x1' must be a decimal unsigned 64-bit id"),
        (f"/sd/demo/seg/{2**64}/boundingbox/0/", 400, None),
        ("/sd/demo/seg/3/boundingbox/2/", 400, "resolution 2 out of range 0..1 for channel 'seg'"),
        (
            "/sd/demo/gray/3/boundingbox/0/",
            400,
            "boundingbox needs a labelmap (annotation) channel; channel 'gray' is a uint8blk",
        ),
        ("/sd/nope/seg/3/boundingbox/0/", 404, None),
    ],
)
def test_boundingbox_errors(lenv: LEnv, url: str, status: int, error: str | None) -> None:
    r = lenv.client.get(url)
    assert r.status_code == status, r.text
    if error is not None:
        assert r.json()["error"] == error


def test_bossdb_boundingbox_tight_and_loose(lenv: LEnv) -> None:
    for label in (A, B, C, E):
        box = _np_bbox(lenv.bodies == label)
        r = lenv.client.get(f"/v1/boundingbox/demo/master/seg/0/{label}/?type=tight")
        assert r.status_code == 200
        assert r.json() == {
            "x_range": [box.start[2], box.stop[2]],
            "y_range": [box.start[1], box.stop[1]],
            "z_range": [box.start[0], box.stop[0]],
            "t_range": [0, 1],
        }
        start = [s // 16 * 16 for s in box.start]
        stop = [-(-s // 16) * 16 for s in box.stop]
        loose = {
            "x_range": [start[2], stop[2]],
            "y_range": [start[1], stop[1]],
            "z_range": [start[0], stop[0]],
            "t_range": [0, 1],
        }
        assert lenv.client.get(f"/v1/boundingbox/demo/master/seg/0/{label}?type=loose").json() == (
            loose
        )
        assert lenv.client.get(f"/v1/boundingbox/demo/master/seg/0/{label}/").json() == loose


def test_bossdb_loose_is_the_union_of_blocks(lenv: LEnv) -> None:
    # A spans blocks z 0 and 1 (through D), y 0, x 0 and 1
    r = lenv.client.get(f"/v1/boundingbox/demo/master/seg/0/{A}/")
    assert r.json() == {
        "x_range": [0, 32],
        "y_range": [0, 16],
        "z_range": [0, 32],
        "t_range": [0, 1],
    }
    r = lenv.client.get(f"/v1/boundingbox/demo/master/seg/1/{A}/?type=loose")
    assert r.json()["z_range"] == [0, 16]


def test_bossdb_experiment_is_the_branch(lenv: LEnv) -> None:
    lenv.node.commit()
    proof = lenv.node.branch("proofread")
    proof.labels("seg").write((19, 0, 0), np.full((1, 1, 1), B, np.uint64))
    master = lenv.client.get(f"/v1/boundingbox/demo/master/seg/0/{B}/?type=tight").json()
    branch = lenv.client.get(f"/v1/boundingbox/demo/proofread/seg/0/{B}/?type=tight").json()
    assert master["z_range"] == [10, 17]
    assert branch["z_range"] == [10, 20]
    assert branch["x_range"] == [0, 35]
    assert lenv.client.get(f"/sd/demo:proofread/seg/{B}/boundingbox/0/").status_code == 200


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        (f"/v1/boundingbox/demo/master/seg/0/{A}/?type=snug", 400, None),
        ("/v1/boundingbox/demo/master/seg/0/99/", 404, None),
        ("/v1/boundingbox/demo/master/seg/0/0/?type=tight", 400, None),
        ("/v1/boundingbox/demo/nobranch/seg/0/3/", 404, None),
        ("/v1/boundingbox/nope/master/seg/0/3/", 404, None),
        (
            "/v1/boundingbox/demo/master/gray/0/3/",
            400,
            "boundingbox needs a labelmap (annotation) channel; channel 'gray' is a uint8blk",
        ),
    ],
)
def test_bossdb_boundingbox_errors(lenv: LEnv, url: str, status: int, error: str | None) -> None:
    r = lenv.client.get(url)
    assert r.status_code == status, r.text
    if error is not None:
        assert r.json()["error"] == error
    if "snug" in url:
        assert r.json()["error"] == "bounding box type 'snug' is not one of loose, tight"


_names = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mask=st.lists(st.booleans(), min_size=6 * 5 * 7, max_size=6 * 5 * 7),
    offset=st.tuples(*(st.integers(0, 20),) * 3),
    label=st.integers(1, 2**64 - 1),
)
def test_tight_bbox_matches_numpy(
    lenv: LEnv, mask: list[bool], offset: tuple[int, int, int], label: int
) -> None:
    """Any shape at any offset (across block edges): the tight box is numpy's."""
    cube = np.array(mask, bool).reshape(6, 5, 7)
    if not cube.any():
        cube[0, 0, 0] = True
    name = f"p{next(_names)}"
    lenv.node.create_labels(name, block_shape=(16, 16, 16))
    lenv.node.labels(name).write(offset, np.where(cube, np.uint64(label), np.uint64(0)))
    box = _np_bbox(cube).translate(offset)
    got = _read_bbox(lenv.client.get(f"/sd/demo/{name}/{label}/boundingbox/0/").content)
    assert got[str(label)]["XYZOFFSET"] == list(box.start[::-1])
    assert got[str(label)]["XYZDIMENSION"] == list(box.shape[::-1])
    tight = lenv.client.get(f"/v1/boundingbox/demo/master/{name}/0/{label}/?type=tight").json()
    assert tight["z_range"] == [box.start[0], box.stop[0]]


# -- the real application ----------------------------------------------------------------
def test_routes_are_served_by_the_real_app(lenv: LEnv) -> None:
    with TestClient(create_app(lenv.hub)) as client:
        assert client.get("/ca/demo/seg/id/0/30/1/10").text == str(B)
        assert client.get(f"/v1/boundingbox/demo/master/seg/0/{C}/?type=tight").json() == {
            "x_range": [0, 3],
            "y_range": [20, 24],
            "z_range": [0, 2],
            "t_range": [0, 1],
        }
        r = client.get("/sd/demo/seg/1234/boundingbox/0/")
        assert r.status_code == 404
        assert r.json() == {
            "error": "label 1234 does not exist (no voxels) at this version",
            "type": "NotFound",
        }
