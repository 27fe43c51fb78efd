"""Sparsevols at every pyramid level, in runs and in DVID's binary block format, through
the real app, against numpy ground truth (the written supervoxels, downsampled level by
level with the pyramid's mode and mapped through the merges)."""

from __future__ import annotations

import itertools
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.client import EmbeddedHub, Node
from voxhub.datatypes.labelmap.body_blocks import body_blocks
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.rle import decode_rles, decode_srles, mask_in_box
from voxhub.datatypes.labelmap.sparsevol_blocks import decode_blocks, encode_block
from voxhub.geometry import Box
from voxhub.server import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BLOCK = (8, 16, 16)  # (z, y, x): 2x2x1 sub-blocks, so their order matters
MAX_SCALE = 2
_names = itertools.count()


@dataclass
class Server:
    client: TestClient
    node: Node


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("scales", "sparsevols at every scale").master
    with TestClient(create_app(hub)) as client:
        yield Server(client, node)
    hub.close()


@dataclass
class Case:
    name: str
    levels: list[np.ndarray]  # body ids per level, (z, y, x) from the origin
    sv_levels: list[np.ndarray]  # supervoxel ids per level


@st.composite
def volumes(draw: st.DrawFn) -> tuple[np.ndarray, bool, bool]:
    """A small volume of supervoxels 1..4 painted as boxes, whether 2 merges into 1, and
    whether the pyramid is anisotropic."""
    shape = tuple(draw(st.integers(1, n)) for n in (20, 20, 28))
    vol = np.zeros(shape, np.uint64)
    for _ in range(draw(st.integers(1, 6))):
        lo = [draw(st.integers(0, s - 1)) for s in shape]
        hi = [draw(st.integers(a + 1, s)) for a, s in zip(lo, shape, strict=True)]
        vol[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = draw(st.integers(1, 4))
    return vol, draw(st.booleans()), draw(st.booleans())


def _make(server: Server, vol: np.ndarray, merge: bool, anisotropic: bool) -> Case:
    name = f"seg{next(_names)}"
    seg = server.node.create_labels(
        name, block_shape=BLOCK, max_scale=MAX_SCALE, anisotropic=anisotropic
    )
    seg.write((0, 0, 0), vol)
    factor = (1, 2, 2) if anisotropic else (2, 2, 2)
    svs = [vol]
    for _ in range(MAX_SCALE):
        svs.append(downsample_labels(svs[-1], factor))
    bodies = svs
    if merge and (vol == 1).any() and (vol == 2).any():
        server.client.post(f"/api/node/{server.node.uuid}/{name}/merge", json=[1, 2])
        bodies = [np.where(level == 2, np.uint64(1), level) for level in svs]
    return Case(name, bodies, svs)


def _url(server: Server, case: Case, rest: str) -> str:
    return f"/api/node/{server.node.uuid}/{case.name}/{rest}"


def _frame(case: Case, scale: int) -> Box:
    return Box.from_shape(case.levels[scale].shape)  # type: ignore[arg-type]


bounds_st = st.fixed_dictionaries(
    {},
    optional={k: st.integers(-2, 24) for k in ("minx", "maxx", "miny", "maxy", "minz", "maxz")},
)


def _in_bounds(shape: tuple[int, ...], bounds: dict[str, int]) -> np.ndarray:
    """The voxels of a level's frame within DVID's inclusive bounds."""
    keep = np.ones(shape, bool)
    for axis, name in ((0, "z"), (1, "y"), (2, "x")):
        idx = np.arange(shape[axis]).reshape([-1 if a == axis else 1 for a in range(3)])
        keep &= (idx >= bounds.get(f"min{name}", -(2**31))) & (
            idx <= bounds.get(f"max{name}", 2**31)
        )
    return keep


@settings(max_examples=25, deadline=None)
@given(
    volumes(),
    st.integers(0, MAX_SCALE),
    st.integers(1, 4),
    st.booleans(),
    bounds_st,
    st.sampled_from(["rles", "srles", "blocks"]),
)
def test_sparsevol_at_scale_matches_numpy(
    server: Server,
    volume: tuple[np.ndarray, bool, bool],
    scale: int,
    label: int,
    supervoxels: bool,
    bounds: dict[str, int],
    fmt: str,
) -> None:
    case = _make(server, *volume)
    truth = (case.sv_levels if supervoxels else case.levels)[scale] == label
    truth &= _in_bounds(truth.shape, bounds)
    query = {"scale": scale, "format": fmt, **bounds}
    if supervoxels:
        query["supervoxels"] = "true"
    params = "&".join(f"{k}={v}" for k, v in query.items())
    r = server.client.get(_url(server, case, f"sparsevol/{label}?{params}"))
    head = server.client.head(_url(server, case, f"sparsevol/{label}?{params}"))
    if not truth.any():
        assert r.status_code == 404
        assert head.status_code == 204
        return
    assert r.status_code == 200, r.text
    assert head.status_code == 200
    frame = _frame(case, scale)
    if fmt == "blocks":
        got_label, blocks = decode_blocks(r.content)
        assert got_label == label
        assert struct.unpack_from("<III", r.content) == (2, 2, 1)  # sub-blocks along x, y, z
        got = np.zeros(truth.shape, bool)
        starts = [b.start for b, _ in blocks]
        assert starts == sorted(starts)  # block order
        for box, mask in blocks:
            assert mask.any()
            inner = box.intersect(frame)
            assert not (mask.sum() - mask[inner.relative_to(box.start)].sum())  # nothing outside
            got[inner.relative_to((0, 0, 0))] |= mask[inner.relative_to(box.start)]
    else:
        runs = decode_rles(r.content) if fmt == "rles" else decode_srles(r.content)
        assert int(runs[:, 3].sum()) == int(truth.sum())  # no voxel twice, none outside
        got = mask_in_box(runs, frame)
    assert np.array_equal(got, truth)


@settings(max_examples=15, deadline=None)
@given(volumes(), st.integers(0, MAX_SCALE), st.data())
def test_sparsevol_by_point_at_scale(
    server: Server, volume: tuple[np.ndarray, bool, bool], scale: int, data: st.DataObject
) -> None:
    case = _make(server, *volume)
    level = case.levels[scale]
    z, y, x = (data.draw(st.integers(0, s - 1)) for s in level.shape)
    r = server.client.get(_url(server, case, f"sparsevol-by-point/{x}_{y}_{z}?scale={scale}"))
    label = int(level[z, y, x])
    if label == 0:
        assert r.status_code == 400
        return
    assert r.status_code == 200
    assert np.array_equal(mask_in_box(decode_rles(r.content), _frame(case, scale)), level == label)


@settings(max_examples=25, deadline=None)
@given(volumes(), st.integers(0, MAX_SCALE), st.integers(1, 4))
def test_level_blocks_come_from_the_index(
    volume: tuple[np.ndarray, bool, bool], scale: int, label: int
) -> None:
    """The planned blocks of a level are exactly those the body reaches at that level
    (never one it does not), and blocks planned as filled are wholly the body's."""
    vol, _, anisotropic = volume
    factor = (1, 2, 2) if anisotropic else (2, 2, 2)
    index = LabelIndex(label)
    for c in itertools.product(*(range(-(-s // b)) for s, b in zip(vol.shape, BLOCK, strict=True))):
        block = vol[tuple(slice(i * b, (i + 1) * b) for i, b in zip(c, BLOCK, strict=True))]
        n = int((block == label).sum())
        if n:
            index.add(c, label, n)  # type: ignore[arg-type]
    level = vol
    for _ in range(scale):
        level = downsample_labels(level, factor)
    scaled = tuple(f**scale for f in factor)
    plan = body_blocks(index, {label}, scaled, BLOCK)  # type: ignore[arg-type]
    where = np.argwhere(level == label)
    reached = {tuple(int(v) // b for v, b in zip(p, BLOCK, strict=True)) for p in where}
    assert reached <= set(plan.coords)
    for c in plan.coords:  # every planned block holds the body at scale 0 under it
        assert c in {tuple(k // f for k, f in zip(b, scaled, strict=True)) for b in index.blocks}
    for c in plan.filled:
        box = tuple(slice(i * b, (i + 1) * b) for i, b in zip(c, BLOCK, strict=True))
        assert level[box].shape == BLOCK
        assert (level[box] == label).all()


def test_blocks_format_bytes() -> None:
    """DVID's layout, byte for byte: a mixed 8³ block of 16³ (2x2x2 sub-blocks)."""
    mask = np.zeros((16, 16, 16), bool)
    mask[:8, :8, 8:] = True  # sub-block 1 (x fastest) full
    mask[8, 0, 0] = mask[8, 0, 9] = True  # sub-block 4: voxel 0; sub-block 5: voxel 1
    body = encode_block((16, -16, 32), mask)
    flags_and_masks = bytes([0, 1, 0, 0]) + bytes([2, 1] + [0] * 63) + bytes([2, 2] + [0] * 63)
    assert body == struct.pack("<iiiB", 32, -16, 16, 2) + flags_and_masks + bytes([0, 0])
    assert encode_block((0, 0, 0), np.ones((8, 8, 8), bool)) == struct.pack("<iiiB", 0, 0, 0, 1)
    assert encode_block((0, 0, 0), np.zeros((8, 8, 8), bool)) == b""
