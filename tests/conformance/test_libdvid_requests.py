"""Requests exactly as libdvid-cpp's DVIDNodeService builds them (query strings included)."""

from __future__ import annotations

import gzip

import lz4.block
import numpy as np

from . import dvid_wire
from .conftest import EM, SEG, SOLID, Dvid


def test_gray_raw_lz4_with_throttle(dvid: Dvid) -> None:
    """get_gray3D(..., throttle=true, compress=true): raw lz4 bytes, no size prefix."""
    url = dvid.at("em", "raw/0_1_2/32_16_8/8_4_2?throttle=true&compression=lz4")
    plain = lz4.block.decompress(dvid.ok("GET", url).content, uncompressed_size=32 * 16 * 8)
    assert np.array_equal(np.frombuffer(plain, np.uint8).reshape(8, 16, 32), EM[2:10, 4:20, 8:40])


def test_label_blocks_as_get_labelblocks3d_sends_them(dvid: Dvid) -> None:
    url = dvid.at("seg", "blocks/128_64_64/0_0_0?compression=blocks&throttle=on&supervoxels=true")
    stream = dvid_wire.parse_stream(dvid.ok("GET", url).content)
    assert np.array_equal(dvid_wire.gunzip_block(stream[(0, 0, 0)]), SEG)
    assert dvid_wire.gunzip_block(stream[(1, 0, 0)]).max() == SOLID


def test_specificblocks_prefetch_and_uncompressed(dvid: Dvid) -> None:
    """prefetch_specificblocks3D only warms a cache: any 200 does; then the real read."""
    assert dvid.get(dvid.at("em", "specificblocks?prefetch=on&blocks=0,0,0")).status_code == 200
    url = dvid.at("em", "specificblocks?blocks=1,1,1&compression=uncompressed")
    block = dvid_wire.parse_stream(dvid.ok("GET", url).content)[(1, 1, 1)]
    assert np.array_equal(np.frombuffer(block, np.uint8).reshape(32, 32, 32), EM[32:, 32:, 32:])


def test_put_labelblocks3d_with_throttle_and_noindexing(dvid: Dvid) -> None:
    """put_labelblocks3D posts ``blocks?throttle=on`` (and neuclease ``noindexing=true``):
    voxhub indexes anyway (consistency is synchronous), so sizes are right at once."""
    dvid.labelmap("libdvid")
    block = np.full((64, 64, 64), 21, np.uint64)
    block[:, :, :8] = 22
    records = [((0, 0, 0), gzip.compress(dvid_wire.encode_block(block)))]
    body = dvid_wire.stream(records)
    dvid.ok("POST", dvid.at("libdvid", "blocks?throttle=on&noindexing=true"), data=body)
    sizes = dvid.json(dvid.at("libdvid", "sizes"), json=[21, 22])
    assert sizes == [64 * 64 * 56, 64 * 64 * 8]
