"""DVID's labelmap native block serialization: layout, round trips and refusals."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.labelmap.native_block import decode_native, encode_native
from voxhub.errors import InvalidRequest

TOP = 2**64 - 1
sides = st.sampled_from([8, 16, 24, 32, 40, 48, 56, 64])
block_shapes = st.tuples(sides, sides, sides).filter(lambda s: s[0] * s[1] * s[2] <= 64**3 // 2)


@st.composite
def label_blocks(
    draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, int, int]] = block_shapes
) -> np.ndarray:
    """uint64 label blocks: few ids, many ids (up to 512 per sub-block), solid, empty, huge."""
    shape = draw(shapes)
    kind = draw(st.sampled_from(["few", "many", "solid", "zero", "huge", "mixed"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "zero":
        return np.zeros(shape, np.uint64)
    if kind == "solid":
        return np.full(shape, draw(st.integers(0, TOP)), np.uint64)
    if kind == "many":
        return rng.integers(0, TOP, shape, dtype=np.uint64, endpoint=True)
    ids = draw(st.lists(st.integers(0, TOP), min_size=1, max_size=20))
    if kind == "huge":
        ids += [TOP, TOP - 1, 2**63, 2**63 - 1]
    palette = np.array(ids, np.uint64)
    block: np.ndarray = palette[rng.integers(0, palette.size, shape)]
    if kind == "mixed":  # some solid sub-blocks next to noisy ones
        block[: shape[0] // 2] = palette[0]
    return block


def reference_encode(block: np.ndarray) -> bytes:
    """A deliberately naive encoder written from the spec (loops, a bit-by-bit writer)."""
    z, y, x = block.shape
    gz, gy, gx = z // 8, y // 8, x // 8
    labels = sorted({int(v) for v in block.ravel()})
    where = {label: i for i, label in enumerate(labels)}
    out = struct.pack("<4I", gx, gy, gz, len(labels))
    out += b"".join(struct.pack("<Q", label) for label in labels)
    if len(labels) == 1:
        return out
    counts, index_lists, streams = [], [], []
    for sz in range(gz):
        for sy in range(gy):
            for sx in range(gx):
                voxels = [
                    int(block[sz * 8 + vz, sy * 8 + vy, sx * 8 + vx])
                    for vz in range(8)
                    for vy in range(8)
                    for vx in range(8)
                ]
                local = sorted({where[v] for v in voxels})
                counts.append(len(local))
                index_lists.extend(local)
                bits = (len(local) - 1).bit_length()
                stream = "".join(format(local.index(where[v]), f"0{bits}b") for v in voxels if bits)
                streams.append(int(stream, 2).to_bytes(len(stream) // 8, "big") if bits else b"")
    out += struct.pack(f"<{len(counts)}H", *counts)
    out += struct.pack(f"<{len(index_lists)}I", *index_lists)
    return out + b"".join(streams)


@settings(max_examples=60, deadline=None)
@given(block=label_blocks())
def test_round_trips(block: np.ndarray) -> None:
    data = encode_native(block)
    out = decode_native(data, block.shape)
    assert out.dtype == np.uint64
    assert out.shape == block.shape
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, block)


@settings(max_examples=25, deadline=None)
@given(block=label_blocks(st.sampled_from([(8, 8, 8), (8, 16, 24), (16, 8, 8), (8, 24, 16)])))
def test_encoding_matches_the_spec_byte_for_byte(block: np.ndarray) -> None:
    assert encode_native(block) == reference_encode(block)


def test_packed_bits_are_msb_first_and_may_straddle_bytes() -> None:
    # Six labels -> 3 bits per voxel; local indices 1,2,3,4,5 then 0s pack as
    # 001 010 011 100 101 000... = 0b00101001 0b11001010 0b00000000.
    block = np.full((8, 8, 8), 10, np.uint64)
    block[0, 0, 0:5] = [11, 12, 13, 14, 15]
    data = encode_native(block)
    head = 16 + 6 * 8 + 2 + 6 * 4
    assert struct.unpack_from("<4I", data) == (1, 1, 1, 6)
    assert data[head : head + 3] == bytes([0b00101001, 0b11001010, 0])
    assert len(data) == head + 3 * 64


def test_voxels_are_x_fastest_and_sub_blocks_are_x_fastest() -> None:
    block = np.zeros((8, 8, 16), np.uint64)  # (z, y, x): two sub-blocks along x
    block[:, :, 8:] = 9
    block[0, 0, 1] = 5  # second voxel of sub-block 0 in x-fastest order
    data = encode_native(block)
    assert struct.unpack_from("<4I", data) == (2, 1, 1, 3)
    assert struct.unpack_from("<3Q", data, 16) == (0, 5, 9)
    assert struct.unpack_from("<2H", data, 40) == (2, 1)  # sub-block 0 mixed, 1 solid
    assert struct.unpack_from("<3I", data, 44) == (0, 1, 2)
    assert data[56:] == bytes([0b01000000]) + bytes(63)
    np.testing.assert_array_equal(decode_native(data, (8, 8, 16)), block)


def test_solid_and_empty_blocks_are_header_and_one_label() -> None:
    data = encode_native(np.full((64, 64, 64), TOP, np.uint64))
    assert data == struct.pack("<4IQ", 8, 8, 8, 1, TOP)
    assert encode_native(np.zeros((16, 8, 8), np.uint64)) == struct.pack("<4IQ", 1, 1, 2, 1, 0)
    out = decode_native(data, (64, 64, 64))
    assert out.dtype == np.uint64
    assert (out == np.uint64(TOP)).all()


def test_zero_count_sub_blocks_and_zero_labels_decode_as_background() -> None:
    # Sub-block 0 unset (count 0), sub-block 1 solid label 2**64-1.
    data = struct.pack("<4I2Q2HI", 2, 1, 1, 2, 7, TOP, 0, 1, 1)
    out = decode_native(data, (8, 8, 16))
    assert (out[:, :, :8] == 0).all()
    assert (out[:, :, 8:] == np.uint64(TOP)).all()
    assert (decode_native(struct.pack("<4I", 1, 1, 1, 0), (8, 8, 8)) == 0).all()


def test_encode_accepts_narrower_unsigned_and_refuses_signed_or_ragged() -> None:
    block = np.arange(512, dtype=np.uint16).reshape(8, 8, 8)
    np.testing.assert_array_equal(decode_native(encode_native(block), (8, 8, 8)), block)
    with pytest.raises(InvalidRequest, match="unsigned"):
        encode_native(np.zeros((8, 8, 8), np.int64))
    with pytest.raises(InvalidRequest, match="multiples of 8"):
        encode_native(np.zeros((8, 8, 12), np.uint64))
    with pytest.raises(InvalidRequest, match="multiples of 8"):
        decode_native(encode_native(np.zeros((8, 8, 8), np.uint64)), (8, 8, 4))


# -- refusals ------------------------------------------------------------------------------------
MIXED = np.random.default_rng(3).integers(0, 5, (16, 8, 8)).astype(np.uint64) * np.uint64(2**61)
MIXED[8:] = 3


def test_every_truncation_and_any_trailing_byte_is_refused() -> None:
    data = encode_native(MIXED)
    for n in range(len(data)):
        with pytest.raises(InvalidRequest, match="native block"):
            decode_native(data[:n], MIXED.shape)
    with pytest.raises(InvalidRequest, match="native block"):
        decode_native(data + b"\0", MIXED.shape)
    solid = encode_native(np.full((8, 8, 8), 4, np.uint64))
    with pytest.raises(InvalidRequest, match="after a solid block"):
        decode_native(solid + b"\0", (8, 8, 8))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack("<4IQ", 8, 8, 8, 1, 5), "8x8x8 sub-blocks"),  # wrong shape for (8,8,8)
        (struct.pack("<4I", 1, 1, 1, 3) + bytes(8), "cannot hold 3 labels"),
        (struct.pack("<4I2QH", 1, 1, 1, 2, 1, 2, 513), "513 labels"),
        (struct.pack("<4I2QHI", 1, 1, 1, 2, 1, 2, 1, 2), "label index 2 out of range"),
        # 3 labels in the sub-block -> 2 bits; the first voxel's index 3 does not exist.
        (
            struct.pack("<4I3QH3I", 1, 1, 1, 3, 1, 2, 3, 3, 0, 1, 2) + b"\xc0" + bytes(127),
            "index 3",
        ),
        (struct.pack("<4I2QH2I", 1, 1, 1, 2, 1, 2, 2, 0, 1) + bytes(10), "10 bytes of packed"),
    ],
)
def test_malformed_blocks_are_refused_naming_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        decode_native(data, (8, 8, 8))


@settings(max_examples=200, deadline=None)
@given(
    block=label_blocks(st.sampled_from([(8, 8, 16), (16, 16, 8)])),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1),
)
def test_corrupted_blocks_raise_or_decode_to_the_right_shape(
    block: np.ndarray, edits: list[tuple[float, int]]
) -> None:
    data = bytearray(encode_native(block))
    for where, value in edits:
        data[int(where * len(data))] = value
    try:
        out = decode_native(bytes(data), block.shape)
    except InvalidRequest as e:
        message = str(e)
    else:
        assert out.shape == block.shape
        assert out.dtype == np.uint64
        return
    assert "native block" in message
