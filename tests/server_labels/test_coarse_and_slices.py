"""labelmap ``sparsevols-coarse``, bounded ``sparsevol-coarse``, ``isotropic`` and
``pseudocolor`` through the real app (fixture ``env``: see conftest)."""

from __future__ import annotations

import gzip
import io
import struct

import numpy as np
from PIL import Image

from voxhub.datatypes.labelmap.pseudocolor import murmur3_labels, pseudocolor
from voxhub.datatypes.labelmap.rle import decode_rles

from .conftest import BIG, SEG, Env

# MurmurHash3_x86_32, seed 0, of each label's 8 little-endian bytes, computed with the
# mmh3 package (the reference implementation's Python binding)
MMH3 = {0: 1669671676, 1: 1392991556, 2: 3323962100, 3: 2738575283, BIG: 1222806974}


def _coarse(*bodies: tuple[int, list[tuple[int, int, int, int]]]) -> bytes:
    out = b""
    for label, spans in bodies:
        out += struct.pack("<Qi", label, len(spans))
        out += b"".join(struct.pack("<4i", *s) for s in spans)
    return out


def test_sparsevols_coarse_streams_each_body_in_range(env: Env) -> None:
    c = env.client
    r = c.get(env.url("sparsevols-coarse/1/3"))
    assert r.status_code == 200
    assert r.content == _coarse((1, [(0, 0, 0, 1)]), (2, [(1, 0, 0, 1)]), (3, [(1, 0, 0, 1)]))
    # inclusive at both ends, ids near 2**64 kept exact
    assert c.get(env.url(f"sparsevols-coarse/3/{BIG}")).content == _coarse(
        (3, [(1, 0, 0, 1)]), (BIG, [(2, 0, 0, 1)])
    )
    assert c.get(env.url(f"sparsevols-coarse/{BIG}/{2**64 - 1}")).content == _coarse(
        (BIG, [(2, 0, 0, 1)])
    )
    # bodies with no block within the voxel bounds are listed with 0 spans (DVID)
    r = c.get(env.url("sparsevols-coarse/1/2?minx=20&maxx=31"))
    assert r.content == _coarse((1, []), (2, [(1, 0, 0, 1)]))
    assert c.post(env.url("merge"), json=[1, 2]).status_code == 200
    assert c.get(env.url("sparsevols-coarse/1/3")).content == _coarse(
        (1, [(0, 0, 0, 2)]), (3, [(1, 0, 0, 1)])
    )
    assert c.get(env.url("sparsevols-coarse/3/1")).content == b""
    assert c.get(env.url("sparsevols-coarse/0/3")).status_code == 400
    assert c.get(env.url("sparsevols-coarse/1/3?minx=a")).status_code == 400


def test_sparsevol_coarse_bounds(env: Env) -> None:
    c = env.client
    assert c.post(env.url("merge"), json=[1, 2]).status_code == 200
    whole = decode_rles(c.get(env.url("sparsevol-coarse/1")).content)
    assert whole.tolist() == [[0, 0, 0, 2]]
    right = decode_rles(c.get(env.url("sparsevol-coarse/1?minx=16")).content)
    assert right.tolist() == [[1, 0, 0, 1]]
    # no block within the bounds: DVID's header with 0 spans
    assert decode_rles(c.get(env.url("sparsevol-coarse/1?minz=16")).content).tolist() == []


def test_isotropic_resamples_coarse_z_by_nearest_neighbour(env: Env) -> None:
    c = env.client
    # cubic voxels: isotropic is raw
    raw = c.get(env.url("raw/0_1_2/48_16_16/0_0_0")).content
    assert c.get(env.url("isotropic/0_1_2/48_16_16/0_0_0")).content == raw
    aniso = env.node.create_labels("aniso", block_shape=(16, 16, 16), voxel_size=(16, 8, 8))
    aniso.write((0, 0, 0), SEG)
    r = c.get(env.url("isotropic/0_1_2/48_16_32/0_0_0?compression=gzip", name="aniso"))
    assert r.status_code == 200
    got = np.frombuffer(gzip.decompress(r.content), "<u8").reshape(32, 16, 48)
    assert np.array_equal(got, SEG[np.arange(32) // 2])
    r = c.get(env.url("isotropic/0_1_2/8_8_8/0_0_0?supervoxels=true&scale=0", name="aniso"))
    assert np.array_equal(
        np.frombuffer(r.content, "<u8").reshape(8, 8, 8), SEG[np.arange(8) // 2, :8, :8]
    )
    assert c.get(env.url("isotropic/xy/8_8/0_0_0")).status_code == 400
    assert c.get(env.url("isotropic/0_1_2/8_8_8/0_0_0?compression=zip")).status_code == 400
    assert c.get(env.url("isotropic/0_1_2/8_8_8/0_0_0?scale=5")).status_code == 400


def _png(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGBA"
    return np.asarray(image)


def test_pseudocolor_colors_labels_as_dvid(env: Env) -> None:
    assert murmur3_labels(np.array(list(MMH3), np.uint64)).tolist() == list(MMH3.values())
    c = env.client
    r = c.get(env.url("pseudocolor/xy/48_16/0_0_0"))
    assert r.headers["content-type"] == "image/png"
    rgba = _png(r.content)
    assert rgba.shape == (16, 48, 4)
    h = MMH3[1]  # R, G, B are the hash's three high bytes
    assert rgba[0, 0].tolist() == [h >> 24, (h >> 16) & 255, (h >> 8) & 255, 255]
    assert np.array_equal(rgba, pseudocolor(SEG[0]))
    # bodies, not supervoxels: after a merge 2 takes 1's color
    assert c.post(env.url("merge"), json=[1, 2]).status_code == 200
    merged = np.where(SEG == 2, np.uint64(1), SEG)
    xz = _png(c.get(env.url("pseudocolor/xz/48_16/0_3_0")).content)
    assert np.array_equal(xz, pseudocolor(merged[:, 3, :]))
    yz = _png(c.get(env.url("pseudocolor/yz/16_16/20_0_0")).content)
    assert np.array_equal(yz, pseudocolor(merged[:, :, 20]))
    small = _png(c.get(env.url("pseudocolor/xy/24_8/0_0_0?scale=1")).content)
    assert small.shape == (8, 24, 4)
    assert c.get(env.url("pseudocolor/0_1_2/8_8_8/0_0_0")).status_code == 400
    assert c.get(env.url("pseudocolor/xy/100000_100000/0_0_0")).status_code == 413
