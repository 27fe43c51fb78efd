"""``cseg_member_mask`` and ``cseg_member_runs`` (and its batched form): label membership
(as a mask, or as runs along x) read off ``cseg`` blocks without decoding them.

The reference is the full decode (which validates the stream and runs the C decoder)
followed by ``np.isin`` (and ``runs_from_mask`` for runs): the answers must equal it on
every well-formed block, and must raise :class:`CodecError` on exactly the streams the
decoder refuses.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs import CsegCodec
from voxhub.codecs.cseg import encode_google
from voxhub.codecs.cseg_mask import (
    bare_stream,
    bare_streams_into,
    bare_streams_joined,
    cseg_member_mask,
    cseg_member_runs,
    cseg_member_runs_blocks,
    cseg_member_runs_many,
)
from voxhub.datatypes.labelmap.rle import runs_from_mask
from voxhub.errors import CodecError

TOP = 2**64 - 1
sides = st.sampled_from([8, 16, 32, 64])
block_shapes = st.tuples(sides, sides, sides).filter(lambda s: s[0] * s[1] * s[2] <= 64**3 // 2)


@st.composite
def uint64_blocks(
    draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, int, int]] = block_shapes
) -> np.ndarray:
    """Label blocks with few ids (1-4 bit sub-blocks), many ids (8-16 bits), solid ones,
    blobs (mostly solid sub-blocks with a few boundaries) and ids at the top of uint64."""
    shape = draw(shapes)
    kind = draw(st.sampled_from(["few", "many", "solid", "blobs", "huge"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "solid":
        return np.full(shape, draw(st.integers(0, TOP)), np.uint64)
    if kind == "many":
        return rng.integers(0, TOP, shape, dtype=np.uint64, endpoint=True)
    ids = draw(st.lists(st.integers(0, TOP), min_size=1, max_size=40))
    if kind == "huge":
        ids += [TOP, TOP - 1, 2**63, 2**63 - 1, 2**32, 2**32 - 1]
    palette = np.array(ids, np.uint64)
    if kind == "blobs":  # nearest of a few seeds: large regions, like a segmentation
        seeds = rng.integers(0, max(shape), (len(ids), 3))
        grid = np.moveaxis(np.indices(shape), 0, -1)  # (z, y, x, 3)
        d = ((grid[..., None, :] - seeds) ** 2).sum(axis=-1)
        blobs: np.ndarray = palette[d.argmin(axis=-1)]
        return blobs
    runs = rng.integers(0, palette.size, (*shape[:2], shape[2] // 4 + 1))
    block: np.ndarray = palette[np.repeat(runs, 4, axis=2)[..., : shape[2]]]
    return block


@st.composite
def wanted_labels(draw: st.DrawFn, block: np.ndarray) -> np.ndarray:
    """Some of the block's ids, some absent ones, or none; sometimes more than 16 (the
    np.isin path)."""
    present = np.unique(block)
    chosen = draw(st.lists(st.sampled_from(present.tolist()), max_size=min(30, present.size)))
    absent = draw(st.lists(st.integers(0, TOP), max_size=draw(st.sampled_from([2, 30]))))
    return np.array(chosen + absent, dtype=np.uint64)


def expected(value: bytes, shape: tuple[int, int, int], labels: np.ndarray) -> np.ndarray:
    return np.isin(CsegCodec().decode(value, shape, np.uint64), labels)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mask_equals_isin_of_the_decoded_block(data: st.DataObject) -> None:
    block = data.draw(uint64_blocks())
    labels = data.draw(wanted_labels(block))
    value = CsegCodec().encode(block)
    mask = cseg_member_mask(value, block.shape, labels)
    assert mask.dtype == np.bool_
    assert mask.shape == block.shape
    assert mask.flags.c_contiguous
    np.testing.assert_array_equal(mask, np.isin(block, labels))


@settings(max_examples=30, deadline=None)
@given(block=uint64_blocks(st.just((64, 64, 64))), level=st.sampled_from([-3, 1, 9]))
def test_every_present_label_alone_masks_exactly_its_voxels(block: np.ndarray, level: int) -> None:
    value = CsegCodec(level).encode(block)
    for label in np.unique(block)[:12]:
        mask = cseg_member_mask(value, block.shape, np.array([label], np.uint64))
        np.testing.assert_array_equal(mask, block == label)


def test_sub_blocks_land_x_fastest_then_y_then_z() -> None:
    # one label per 8³ sub-block, each in a different place: a transposition would move them
    block = np.zeros((16, 24, 32), np.uint64)
    block[0:8, 0:8, 8:16] = 5
    block[0:8, 16:24, 0:8] = 6
    block[8:16, 0:8, 24:32] = TOP
    block[9, 3, 30] = 7  # one voxel in a packed sub-block
    value = CsegCodec().encode(block)
    for label in [5, 6, TOP, 7]:
        mask = cseg_member_mask(value, block.shape, np.array([label], np.uint64))
        np.testing.assert_array_equal(mask, block == label)


def test_no_labels_and_absent_labels_give_an_empty_mask() -> None:
    block = np.arange(64**3, dtype=np.uint64).reshape(64, 64, 64) % 3 + 1
    value = CsegCodec().encode(block)
    assert not cseg_member_mask(value, block.shape, np.array([], np.uint64)).any()
    assert not cseg_member_mask(value, block.shape, np.array([0, 4, TOP], np.uint64)).any()


# -- malformed input ------------------------------------------------------------------------
def test_wrong_shape_truncation_and_garbage_raise_codec_error() -> None:
    block = np.full((16, 16, 16), 7, dtype=np.uint64)
    value = CsegCodec().encode(block)
    labels = np.array([7], np.uint64)
    for shape in [(16, 16, 24), (8, 16, 16), (16, 16, 8)]:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_mask(value, shape, labels)
    for bad in [b"", b"\x01\x02garbage" * 3, value[: len(value) // 2]]:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_mask(bad, (16, 16, 16), labels)
    with pytest.raises(CodecError, match="multiples of 8"):
        cseg_member_mask(value, (16, 16, 12), labels)


def test_oversized_frames_are_refused_before_decompressing() -> None:
    frame = zstandard.ZstdCompressor().compress(bytes(10_000_000))
    with pytest.raises(CodecError, match=r"cseg.*more than"):
        cseg_member_mask(frame, (8, 8, 8), np.array([1], np.uint64))


@settings(max_examples=300, deadline=None)
@given(
    block=uint64_blocks(st.sampled_from([(8, 16, 24), (16, 16, 16), (32, 32, 32)])),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1),
    cut=st.none() | st.floats(0, 1, exclude_max=True),
    data=st.data(),
)
def test_corrupt_streams_are_refused_exactly_when_the_decoder_refuses_them(
    block: np.ndarray, edits: list[tuple[float, int]], cut: float | None, data: st.DataObject
) -> None:
    # Damage the bare stream and re-wrap it in a valid zstd frame, so the checks of the
    # compressed_segmentation structure are what is exercised (not zstd's checksum).
    bare = bytearray(encode_google(block))
    for where, value in edits:
        bare[int(where * len(bare))] = value
    if cut is not None:
        bare = bare[: int(cut * len(bare))]
    frame = zstandard.ZstdCompressor().compress(bytes(bare))
    labels = data.draw(wanted_labels(block))
    try:
        reference = expected(frame, block.shape, labels)
    except CodecError:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_mask(frame, block.shape, labels)
        return
    np.testing.assert_array_equal(cseg_member_mask(frame, block.shape, labels), reference)


@settings(max_examples=150, deadline=None)
@given(garbage=st.binary(max_size=3000))
def test_garbage_streams_raise_codec_error_or_agree_with_the_decoder(garbage: bytes) -> None:
    frame = zstandard.ZstdCompressor().compress(garbage)
    labels = np.frombuffer(garbage[:16].ljust(16, b"\0"), np.uint64)
    try:
        reference = expected(frame, (8, 16, 24), labels)
    except CodecError:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_mask(frame, (8, 16, 24), labels)
        return
    np.testing.assert_array_equal(cseg_member_mask(frame, (8, 16, 24), labels), reference)


def test_a_reused_out_buffer_is_wholly_overwritten_and_returned() -> None:
    block = np.zeros((16, 16, 16), np.uint64)
    block[3:11, 2:9, 5:13] = 9
    value = CsegCodec().encode(block)
    for junk in [True, False]:
        out = np.full(block.shape, junk)
        got = cseg_member_mask(value, block.shape, np.array([9], np.uint64), out)
        assert got is out
        np.testing.assert_array_equal(out, block == 9)
    with pytest.raises(ValueError, match="out must be"):
        cseg_member_mask(value, block.shape, np.array([9], np.uint64), np.zeros((16, 16, 8), bool))


# -- runs ------------------------------------------------------------------------------------
starts = st.tuples(*[st.integers(-(2**27), 2**27 - 9).map(lambda v: v * 8)] * 3)


def expected_runs(
    value: bytes, shape: tuple[int, int, int], labels: np.ndarray, start: tuple[int, int, int]
) -> np.ndarray:
    return runs_from_mask(expected(value, shape, labels), start).astype(np.int64)


def assert_runs_equal(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == np.int64
    assert got.shape == want.shape  # same rows, same order: z, then y, then x
    np.testing.assert_array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), start=starts)
def test_runs_equal_runs_from_mask_of_the_decoded_block(
    data: st.DataObject, start: tuple[int, int, int]
) -> None:
    block = data.draw(uint64_blocks())
    labels = data.draw(wanted_labels(block))
    value = CsegCodec().encode(block)
    got = cseg_member_runs(value, block.shape, labels, start)
    assert_runs_equal(got, expected_runs(value, block.shape, labels, start))


@settings(max_examples=30, deadline=None)
@given(
    block=uint64_blocks(st.just((64, 64, 64))),
    start=starts,
    shuffle=st.randoms(use_true_random=False),
)
def test_runs_of_label_sets_of_full_size_blocks(
    block: np.ndarray, start: tuple[int, int, int], shuffle: random.Random
) -> None:
    # 64-voxel rows fill the whole row word: runs touching bit 0 and bit 63 matter most
    value = CsegCodec().encode(block)
    present = np.unique(block).tolist()
    shuffle.shuffle(present)
    for count in (1, 2, len(present) // 2 + 1):
        labels = np.array(present[:count], np.uint64)
        got = cseg_member_runs(value, block.shape, labels, start)
        assert_runs_equal(got, expected_runs(value, block.shape, labels, start))


@settings(max_examples=40, deadline=None)
@given(
    block=uint64_blocks(st.sampled_from([(8, 8, 72), (8, 16, 128), (16, 8, 136)])),
    data=st.data(),
)
def test_runs_of_rows_longer_than_64_voxels(block: np.ndarray, data: st.DataObject) -> None:
    labels = data.draw(wanted_labels(block))
    value = CsegCodec().encode(block)
    got = cseg_member_runs(value, block.shape, labels, (0, -8, 64))
    assert_runs_equal(got, expected_runs(value, block.shape, labels, (0, -8, 64)))


def test_runs_cross_sub_block_edges_and_stop_at_the_block_edge() -> None:
    block = np.zeros((8, 16, 64), np.uint64)
    block[:, :8, :] = 5  # solid sub-blocks the whole row: one run of 64 per row
    block[2, 9, 3:61] = 5  # one run through 8 sub-blocks, mixed at both ends
    block[4, 12, 0] = block[4, 12, 63] = 5  # the row's first and last voxels
    value = CsegCodec().encode(block)
    got = cseg_member_runs(value, block.shape, np.array([5], np.uint64), (16, 8, 128))
    rows = [[128, 8 + y, 16 + z, 64] for z in range(8) for y in range(8)]
    extra = [[131, 17, 18, 58], [128, 20, 20, 1], [191, 20, 20, 1]]
    want = sorted(rows + extra, key=lambda r: (r[2], r[1], r[0]))
    assert got.tolist() == want


def test_runs_of_no_labels_are_empty() -> None:
    block = np.arange(64**3, dtype=np.uint64).reshape(64, 64, 64) % 3 + 1
    value = CsegCodec().encode(block)
    for labels in [np.array([], np.uint64), np.array([0, 4, TOP], np.uint64)]:
        got = cseg_member_runs(value, block.shape, labels, (0, 0, 0))
        assert got.shape == (0, 4)
        assert got.dtype == np.int64


def test_runs_refuse_wrong_shapes_truncation_and_garbage() -> None:
    block = np.full((16, 16, 16), 7, dtype=np.uint64)
    value = CsegCodec().encode(block)
    labels = np.array([7], np.uint64)
    for shape in [(16, 16, 24), (8, 16, 16), (16, 16, 8)]:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_runs(value, shape, labels, (0, 0, 0))
    for bad in [b"", b"\x01\x02garbage" * 3, value[: len(value) // 2]]:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_runs(bad, (16, 16, 16), labels, (0, 0, 0))
    with pytest.raises(CodecError, match="multiples of 8"):
        cseg_member_runs(value, (16, 16, 12), labels, (0, 0, 0))


@settings(max_examples=300, deadline=None)
@given(
    block=uint64_blocks(st.sampled_from([(8, 16, 24), (16, 16, 16), (8, 8, 64), (8, 8, 80)])),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1),
    cut=st.none() | st.floats(0, 1, exclude_max=True),
    data=st.data(),
)
def test_corrupt_streams_give_runs_exactly_when_the_decoder_accepts_them(
    block: np.ndarray, edits: list[tuple[float, int]], cut: float | None, data: st.DataObject
) -> None:
    bare = bytearray(encode_google(block))
    for where, value in edits:
        bare[int(where * len(bare))] = value
    if cut is not None:
        bare = bare[: int(cut * len(bare))]
    frame = zstandard.ZstdCompressor().compress(bytes(bare))
    labels = data.draw(wanted_labels(block))
    try:
        reference = expected_runs(frame, block.shape, labels, (8, 0, -8))
    except CodecError:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_runs(frame, block.shape, labels, (8, 0, -8))
        return
    assert_runs_equal(cseg_member_runs(frame, block.shape, labels, (8, 0, -8)), reference)


# -- runs of many blocks at once ----------------------------------------------------------------
@st.composite
def block_lists(
    draw: st.DrawFn, max_size: int = 6
) -> tuple[tuple[int, int, int], list[np.ndarray]]:
    """Blocks of one shape (as a body's blocks are), each of its own kind."""
    shape = draw(st.sampled_from([(8, 8, 8), (8, 16, 24), (16, 16, 16), (32, 32, 32), (8, 8, 64)]))
    blocks = draw(st.lists(uint64_blocks(st.just(shape)), min_size=1, max_size=max_size))
    return shape, blocks


def per_block(
    values: list[bytes],
    shape: tuple[int, int, int],
    labels: list[np.ndarray],
    origins: list[tuple[int, int, int]],
) -> list[np.ndarray]:
    return [
        cseg_member_runs(v, shape, x, o) for v, x, o in zip(values, labels, origins, strict=True)
    ]


@settings(max_examples=150, deadline=None)
@given(drawn=block_lists(), data=st.data(), same=st.booleans())
def test_runs_of_many_blocks_equal_the_per_block_runs_concatenated(
    drawn: tuple[tuple[int, int, int], list[np.ndarray]], data: st.DataObject, same: bool
) -> None:
    shape, blocks = drawn
    values = [CsegCodec().encode(b) for b in blocks]
    if same:  # one label set for all (a body's supervoxels), drawn from every block
        one = data.draw(wanted_labels(np.concatenate([b.ravel() for b in blocks])))
        labels = [one] * len(blocks)
    else:  # each block its own labels (those the index lists for it)
        labels = [data.draw(wanted_labels(b)) for b in blocks]
    origins = [data.draw(starts) for _ in blocks]
    want = per_block(values, shape, labels, origins)
    assert_runs_equal(cseg_member_runs_many(values, shape, labels, origins), np.concatenate(want))
    split = cseg_member_runs_blocks(values, shape, labels, origins)
    assert len(split) == len(want)
    for got_one, want_one in zip(split, want, strict=True):
        assert_runs_equal(got_one, want_one)


def test_per_block_labels_are_not_shared_between_blocks() -> None:
    # Both blocks hold 5 and 6; each asks for a different one: the union would be wrong.
    block = np.full((16, 16, 16), 5, np.uint64)
    block[8:] = 6
    values = [CsegCodec().encode(block)] * 2
    labels = [np.array([5], np.uint64), np.array([6], np.uint64)]
    origins = [(0, 0, 0), (0, 0, 16)]
    got = cseg_member_runs_many(values, block.shape, labels, origins)
    want = np.concatenate(per_block(values, block.shape, labels, origins))
    assert_runs_equal(got, want)
    assert set(got[got[:, 0] == 0, 2].tolist()) == set(range(8))
    assert set(got[got[:, 0] == 16, 2].tolist()) == set(range(8, 16))


def test_runs_of_no_blocks_are_empty() -> None:
    got = cseg_member_runs_many([], (64, 64, 64), [], [])
    assert got.shape == (0, 4)
    assert got.dtype == np.int64
    assert cseg_member_runs_blocks([], (64, 64, 64), [], []) == []


@settings(max_examples=200, deadline=None)
@given(
    drawn=block_lists(max_size=4),
    bad_at=st.integers(0, 3),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1),
    cut=st.none() | st.floats(0, 1, exclude_max=True),
    data=st.data(),
)
def test_a_corrupt_block_among_good_ones_raises_exactly_when_its_own_call_does(
    drawn: tuple[tuple[int, int, int], list[np.ndarray]],
    bad_at: int,
    edits: list[tuple[float, int]],
    cut: float | None,
    data: st.DataObject,
) -> None:
    # The damaged block sits between good ones: its offsets must be checked against its
    # own stream, not the concatenation (a table running into the next block's words).
    shape, blocks = drawn
    values = [CsegCodec().encode(b) for b in blocks]
    i = bad_at % len(blocks)
    bare = bytearray(encode_google(blocks[i]))
    for where, value in edits:
        bare[int(where * len(bare))] = value
    if cut is not None:
        bare = bare[: int(cut * len(bare))]
    values[i] = zstandard.ZstdCompressor().compress(bytes(bare))
    labels = [data.draw(wanted_labels(b)) for b in blocks]
    origins = [data.draw(starts) for _ in blocks]
    try:
        want = per_block(values, shape, labels, origins)
    except CodecError as e:
        message = str(e)
    else:
        message = None
    if message is not None:  # the same error, naming the same problem
        with pytest.raises(CodecError, match=f"^{re.escape(message)}$"):
            cseg_member_runs_many(values, shape, labels, origins)
        return
    assert_runs_equal(cseg_member_runs_many(values, shape, labels, origins), np.concatenate(want))


def test_truncated_and_wrong_shape_blocks_among_good_ones_raise_codec_error() -> None:
    good = CsegCodec().encode(np.arange(16**3, dtype=np.uint64).reshape(16, 16, 16) % 7)
    labels = [np.array([1, 3], np.uint64)] * 3
    origins = [(0, 0, 0)] * 3
    for bad in [b"", good[: len(good) // 2], CsegCodec().encode(np.ones((8, 16, 16), np.uint64))]:
        with pytest.raises(CodecError, match="cseg"):
            cseg_member_runs_many([good, bad, good], (16, 16, 16), labels, origins)


@settings(max_examples=25, deadline=None)
@given(
    blocks=st.lists(uint64_blocks(st.just((16, 16, 16))), min_size=1, max_size=6),
    spare=st.integers(0, 3000),
)
def test_bare_streams_into_a_reused_buffer(blocks: list[np.ndarray], spare: int) -> None:
    """Stored blocks decompressed one after the other into a caller's buffer (larger or
    smaller than needed) are the bare streams, in order; a corrupt frame is refused."""
    from voxhub.codecs.cseg_mask import bare_stream, bare_streams_into

    codec = CsegCodec()
    values = [codec.encode(b) for b in blocks]
    out = bytearray(b"\xff" * spare)
    sizes = bare_streams_into(values, 8, out)
    expected = [bare_stream(v, 8) for v in values]
    assert sizes == [len(e) for e in expected]
    assert bytes(out[: sum(sizes)]) == b"".join(expected)
    with pytest.raises(CodecError):  # cut inside its data (a lost checksum goes unseen)
        bare_streams_into([*values[:-1], values[-1][: len(values[-1]) // 2]], 8, out)
    joined, joined_sizes = bare_streams_joined(values, 8)
    assert joined_sizes == sizes
    assert joined.tobytes() == b"".join(expected)
    with pytest.raises(CodecError):
        bare_streams_joined([*values[:-1], values[-1][: len(values[-1]) // 2]], 8)


@pytest.mark.parametrize("batch", ["one by one", "into a buffer", "joined"])
def test_a_stored_value_whose_checksum_does_not_match_is_refused(batch: str) -> None:
    """The export paths check a stored block's zstd checksum as every read does."""
    labels = np.random.default_rng(5).integers(1, 9, (32, 32, 32), dtype=np.uint64)
    good = CsegCodec().encode(labels)
    bad = good[:-1] + bytes([good[-1] ^ 0xFF])  # the frame's last byte: its checksum
    nblocks = 4**3

    def read(value: bytes) -> object:
        if batch == "one by one":
            return bare_stream(value, nblocks)
        if batch == "into a buffer":
            return bare_streams_into([value, value], nblocks, bytearray())
        return bare_streams_joined([value] * 9, nblocks)

    read(good)
    with pytest.raises(CodecError, match="checksum"):
        read(bad)


def test_bare_streams_into_a_page_aligned_mapping_after_a_reserved_head() -> None:
    """An mmap (an export's staging buffer) grows in place, keeps the bytes before ``at``
    and receives the streams from ``at`` on."""
    import mmap

    from voxhub.codecs.cseg_mask import bare_stream, bare_streams_into

    rng = np.random.default_rng(8)
    values = [CsegCodec().encode(rng.integers(1, 5, (16, 16, 16), np.uint64)) for _ in range(9)]
    out = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE)
    out[:1024] = b"h" * 1024
    sizes = bare_streams_into(values, 8, out, at=1024)
    assert out[:1024] == b"h" * 1024
    assert out[1024 : 1024 + sum(sizes)] == b"".join(bare_stream(v, 8) for v in values)
