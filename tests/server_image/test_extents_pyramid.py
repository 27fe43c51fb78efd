"""``GET extents`` (voxhub's addition) and ``POST pyramid`` of image instances."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from voxhub.blocks.write import write_box
from voxhub.client.embedded import EmbeddedHub
from voxhub.datatypes.imageblk.config import ImageConfig

from .conftest import Env


def _error(resp: httpx.Response, status: int, kind: str, *words: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["type"] == kind
    for word in words:
        assert word in body["error"]


def _extents(env: Env, name: str, scale: int | None = None) -> Any:
    query = "" if scale is None else f"?scale={scale}"
    resp = env.client.get(env.url(name, f"extents{query}"))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    return resp.json()


def _raw(env: Env, name: str, shape: tuple[int, int, int], scale: int, dtype: str) -> np.ndarray:
    """The cutout of ``shape`` (z, y, x) at the origin of pyramid level ``scale``."""
    z, y, x = shape
    resp = env.client.get(env.url(name, f"raw/0_1_2/{x}_{y}_{z}/0_0_0?scale={scale}"))
    assert resp.status_code == 200, resp.text
    return np.frombuffer(resp.content, dtype=dtype).reshape(shape)


def _mean2(a: np.ndarray) -> np.ndarray:
    """2x mean in z, y, x, rounded half up: the pyramid's rule for integer volumes."""
    z, y, x = a.shape
    total = a.astype(np.uint32).reshape(z // 2, 2, y // 2, 2, x // 2, 2).sum(axis=(1, 3, 5))
    out: np.ndarray = ((total + 4) // 8).astype(a.dtype)
    return out


# -- GET extents ----------------------------------------------------------------------------
def test_extents_of_the_written_box_at_each_scale(env: Env) -> None:
    # gray holds (16, 24, 32) voxels (z, y, x) at the origin; DVID points are x,y,z inclusive
    assert _extents(env, "gray") == {"MinPoint": [0, 0, 0], "MaxPoint": [31, 23, 15]}
    assert _extents(env, "gray", 0) == {"MinPoint": [0, 0, 0], "MaxPoint": [31, 23, 15]}
    assert _extents(env, "gray", 1) == {"MinPoint": [0, 0, 0], "MaxPoint": [15, 11, 7]}


def test_extents_null_before_any_write(env: Env) -> None:
    resp = env.client.get(env.url("deep", "extents"))
    assert resp.status_code == 200
    assert resp.content == b"null"
    assert resp.json() is None


def test_extents_unaligned_box_grows_and_downsamples_outward(env: Env) -> None:
    vol = env.node.create_volume("odd", "uint16", block_shape=(8, 8, 8), max_scale=1)
    # z 3..5, y 5..7, x 7..9 (exclusive stops)
    vol.write((3, 5, 7), np.ones((2, 2, 2), dtype=np.uint16))
    assert _extents(env, "odd") == {"MinPoint": [7, 5, 3], "MaxPoint": [8, 6, 4]}
    # scale 1 covers every scale-0 voxel: floor the start, ceil the stop
    assert _extents(env, "odd", 1) == {"MinPoint": [3, 2, 1], "MaxPoint": [4, 3, 2]}
    vol.write((20, 1, 40), np.ones((1, 1, 1), dtype=np.uint16))
    assert _extents(env, "odd") == {"MinPoint": [7, 1, 3], "MaxPoint": [40, 6, 20]}
    assert _extents(env, "odd", 1) == {"MinPoint": [3, 0, 1], "MaxPoint": [20, 3, 10]}


def test_extents_anisotropic_scale_keeps_z(env: Env) -> None:
    vol = env.node.create_volume(
        "flat", "uint8", block_shape=(4, 8, 8), max_scale=1, anisotropic=True
    )
    vol.write((0, 0, 0), np.ones((5, 6, 10), dtype=np.uint8))
    assert _extents(env, "flat", 0) == {"MinPoint": [0, 0, 0], "MaxPoint": [9, 5, 4]}
    assert _extents(env, "flat", 1) == {"MinPoint": [0, 0, 0], "MaxPoint": [4, 2, 4]}


def test_extents_errors(env: Env) -> None:
    c = env.client
    _error(c.get(env.url("gray", "extents?scale=2")), 400, "InvalidRequest", "out of range 0..1")
    _error(c.get(env.url("gray", "extents?scale=-1")), 400, "InvalidRequest", "out of range")
    _error(c.get(env.url("gray", "extents?scale=one")), 400, "InvalidRequest", "'one'")
    _error(c.get(env.url("deep", "extents?scale=1")), 400, "InvalidRequest", "0..0")


def test_extents_follow_the_node(env: Env) -> None:
    """A child sees its own growth; the committed parent keeps its box."""
    env.node.commit()
    child = env.node.newversion()
    child.volume("gray").write((40, 0, 0), np.ones((1, 1, 1), dtype=np.uint8))
    assert _extents(env, "gray") == {"MinPoint": [0, 0, 0], "MaxPoint": [31, 23, 15]}
    url = env.url("gray", "extents", node=child)
    assert env.client.get(url).json() == {"MinPoint": [0, 0, 0], "MaxPoint": [31, 23, 40]}


# -- POST pyramid ---------------------------------------------------------------------------
def _write_scale0_only(env: Env, name: str, offset: tuple[int, int, int], data: np.ndarray) -> None:
    """Write voxels at scale 0 without touching the pyramid (nor the extents)."""
    assert isinstance(env.hub, EmbeddedHub)  # the store is local: its views are reachable
    catalog = env.hub.catalog
    layout = ImageConfig.from_json(catalog.instance(env.node.uuid, name).config).layout(0)
    write_box(catalog.view(env.node.uuid, name), layout, offset, data)


def test_pyramid_is_current_after_writes_and_post_keeps_it(env: Env) -> None:
    want = _mean2(env.gray)
    assert np.array_equal(_raw(env, "gray", (8, 12, 16), 1, "uint8"), want)
    resp = env.client.post(env.url("gray", "pyramid"))
    assert resp.status_code == 200
    assert resp.content == b""
    assert np.array_equal(_raw(env, "gray", (8, 12, 16), 1, "uint8"), want)
    assert np.array_equal(_raw(env, "gray", (16, 24, 32), 0, "uint8"), env.gray)


def test_pyramid_recomputes_stale_levels_from_scale_0(env: Env) -> None:
    rng = np.random.default_rng(7)
    fresh = rng.integers(0, 256, size=(16, 24, 32), dtype=np.uint8)
    _write_scale0_only(env, "gray", (0, 0, 0), fresh)
    # the level is stale now: it still holds the mean of the old voxels
    assert np.array_equal(_raw(env, "gray", (8, 12, 16), 1, "uint8"), _mean2(env.gray))
    assert not np.array_equal(_mean2(fresh), _mean2(env.gray))
    assert env.client.post(env.url("gray", "pyramid")).status_code == 200
    assert np.array_equal(_raw(env, "gray", (8, 12, 16), 1, "uint8"), _mean2(fresh))
    assert np.array_equal(_raw(env, "gray", (16, 24, 32), 0, "uint8"), fresh)


def test_pyramid_two_levels_uint16(env: Env) -> None:
    vol = env.node.create_volume("two", "uint16", block_shape=(8, 8, 8), max_scale=2)
    vol.write((0, 0, 0), np.zeros((16, 16, 16), dtype=np.uint16))
    data = np.arange(16 * 16 * 16, dtype=np.uint16).reshape(16, 16, 16) * 7
    _write_scale0_only(env, "two", (0, 0, 0), data)
    assert not _raw(env, "two", (4, 4, 4), 2, "uint16").any()
    assert env.client.post(env.url("two", "pyramid")).status_code == 200
    level1 = _mean2(data)
    assert np.array_equal(_raw(env, "two", (8, 8, 8), 1, "uint16"), level1)
    assert np.array_equal(_raw(env, "two", (4, 4, 4), 2, "uint16"), _mean2(level1))


def test_pyramid_on_empty_or_flat_volume_is_a_noop(env: Env) -> None:
    c = env.client
    assert c.post(env.url("deep", "pyramid")).status_code == 200  # nothing written
    assert c.get(env.url("deep", "extents")).json() is None
    assert c.post(env.url("jpg", "pyramid")).status_code == 200  # max_scale 0


def test_pyramid_at_a_committed_node_is_409_and_changes_nothing(env: Env) -> None:
    fresh = np.full((16, 24, 32), 200, dtype=np.uint8)
    _write_scale0_only(env, "gray", (0, 0, 0), fresh)
    env.node.commit()
    resp = env.client.post(env.url("gray", "pyramid"))
    _error(resp, 409, "VersionLocked", env.node.uuid)
    assert np.array_equal(_raw(env, "gray", (8, 12, 16), 1, "uint8"), _mean2(env.gray))
    # an open child can rebuild; the committed parent keeps its (stale) level
    child = env.node.newversion()
    assert env.client.post(env.url("gray", "pyramid", node=child)).status_code == 200
    url = env.url("gray", "raw/0_1_2/16_12_8/0_0_0?scale=1", node=child)
    got = np.frombuffer(env.client.get(url).content, dtype=np.uint8).reshape(8, 12, 16)
    assert (got == 200).all()
    assert np.array_equal(_raw(env, "gray", (8, 12, 16), 1, "uint8"), _mean2(env.gray))
