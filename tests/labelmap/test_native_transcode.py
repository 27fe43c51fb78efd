"""Stored ``cseg`` blocks converted straight to DVID's native format equal the slow path
(decode, map, ``encode_native``) byte for byte, mapped or not; malformed streams refused."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.labelmap.test_native_block import label_blocks

from voxhub.codecs.cseg import CsegCodec, decode_google, encode_google
from voxhub.datatypes.labelmap import cseg_streams, sub_block_labels
from voxhub.datatypes.labelmap.cseg_streams import map_cseg, map_many, ranks
from voxhub.datatypes.labelmap.index import count_labels
from voxhub.datatypes.labelmap.native_block import decode_native, encode_native
from voxhub.datatypes.labelmap.native_transcode import cseg_to_native
from voxhub.errors import CodecError

CODEC = CsegCodec()
small_sides = st.sampled_from([8, 16, 24, 32])


@pytest.fixture(autouse=True, scope="module", params=["compiled", "numpy"])
def conversion(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs on both conversions: the compiled module's and numpy's."""
    patch = pytest.MonkeyPatch()
    patch.setattr(cseg_streams, "COMPILED", request.param == "compiled")
    yield str(request.param)
    patch.undo()


def test_the_compiled_conversion_is_built() -> None:
    # `make test` installs with a C compiler; without one voxhub still works (numpy), but
    # block streams are 2x slower, so a build that lost the module must not pass unseen
    assert cseg_streams._cseg_native is not None, "voxhub.codecs._cseg_native was not built"


def _both(stored: list[bytes], shape: tuple[int, int, int]) -> list[bytes] | str:
    """What each conversion makes of ``stored``: the blocks, or "refused"; and of its
    last block mapped (every label + 1)."""
    results: list[object] = []
    for compiled in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cseg_streams, "COMPILED", compiled)
            for convert in (
                lambda: cseg_to_native(stored, shape),
                lambda: map_cseg(stored[-1], shape, lambda ids: ids + np.uint64(1)),
                lambda: map_many(stored, shape, lambda ids: ids // np.uint64(2))[0].tobytes(),
            ):
                try:
                    results.append(convert())
                except CodecError:
                    results.append("refused")
    assert results[:3] == results[3:]
    return results[0]  # type: ignore[return-value]


def test_a_table_longer_than_512_entries_maps_but_has_no_native_form() -> None:
    # 16-bit indices may name entry 600 of a table whose other entries go unused: a valid
    # stream that decoders read, and mapping keeps; DVID's format lists 512 labels at most
    block = np.full((8, 8, 8), 3, np.uint64)
    words = np.frombuffer(encode_google(block), "<u4").copy()
    table = np.zeros(601 * 2, np.uint32)
    table[1200] = 3  # entry 600 = label 3
    values = np.full(512, 600, "<u2").view("<u4")
    bare = np.concatenate([words[:3], values, table]).astype("<u4")
    bare[1] = (16 << 24) | (3 + values.size - 1)  # table after the values, 16 bits
    bare[2] = 3 - 1  # values right after the header
    stored = zstandard.ZstdCompressor().compress(bare.tobytes())
    assert np.array_equal(CODEC.decode(stored, (8, 8, 8), np.uint64), block)
    mapped = map_cseg(stored, (8, 8, 8), lambda ids: ids * np.uint64(2))
    assert np.array_equal(decode_google(mapped, (8, 8, 8), np.uint64), block * 2)
    with pytest.raises(CodecError, match="512"):
        cseg_to_native([stored], (8, 8, 8))


@settings(max_examples=150, deadline=None)
@given(
    label_blocks(st.just((16, 16, 16))),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 2**32 - 1)), min_size=1, max_size=4),
    st.booleans(),
)
def test_damaged_streams_are_refused_or_converted_alike(
    block: np.ndarray, damage: list[tuple[int, int]], cut: bool
) -> None:
    """Any word of a stream overwritten (offsets, bit widths, table entries, packed
    indices), or the stream cut: both conversions refuse it or agree on every byte."""
    words = np.frombuffer(encode_google(block), "<u4").copy()
    for at, value in damage:
        words[at % words.size] = value
    if cut:
        words = words[: max(1, words.size - 1 - damage[0][0] % 64)]
    stored = zstandard.ZstdCompressor().compress(words.tobytes())
    _both([CODEC.encode(block), stored], (16, 16, 16))


@st.composite
def same_shape_blocks(draw: st.DrawFn) -> list[np.ndarray]:
    shape = draw(st.tuples(small_sides, small_sides, small_sides))
    shapes = st.just(shape)
    return draw(st.lists(label_blocks(shapes), min_size=1, max_size=4))


def _mapping_of(table: dict[int, int]) -> object:
    def mapping(ids: np.ndarray) -> np.ndarray:
        return np.array([table.get(int(v), int(v)) for v in ids.tolist()], np.uint64)

    return mapping


@settings(max_examples=60, deadline=None)
@given(same_shape_blocks(), st.data())
def test_equals_encode_native_of_the_decoded_and_mapped_blocks(
    blocks: list[np.ndarray], data: st.DataObject
) -> None:
    shape = blocks[0].shape
    stored = [CODEC.encode(b) for b in blocks]
    assert cseg_to_native(stored, shape) == [encode_native(b) for b in blocks]
    # a mapping that merges some labels into others (bodies), retires some (0), and
    # reorders ids: sub-block lists then need deduplicating and re-sorting
    ids = sorted({int(v) for b in blocks for v in np.unique(b).tolist()})
    targets = st.sampled_from([0, *ids, 2**64 - 1, 5])
    table = data.draw(st.dictionaries(st.sampled_from(ids), targets, max_size=len(ids)))
    mapping = _mapping_of(table)
    lut = np.vectorize(lambda v: table.get(int(v), int(v)), otypes=[np.uint64])
    expected = [encode_native(lut(b).astype(np.uint64)) for b in blocks]
    got = cseg_to_native(stored, shape, mapping)  # type: ignore[arg-type]
    assert got == expected
    for native, block in zip(got, blocks, strict=True):
        assert np.array_equal(decode_native(native, shape), lut(block))


@settings(max_examples=40, deadline=None)
@given(label_blocks(st.tuples(small_sides, small_sides, small_sides)), st.data())
def test_map_cseg_decodes_to_the_mapped_block(block: np.ndarray, data: st.DataObject) -> None:
    ids = sorted({int(v) for v in np.unique(block).tolist()})
    targets = st.sampled_from([0, *ids, 2**64 - 1, 5])
    table = data.draw(st.dictionaries(st.sampled_from(ids), targets, max_size=len(ids)))
    lut = np.vectorize(lambda v: table.get(int(v), int(v)), otypes=[np.uint64])
    bare = map_cseg(CODEC.encode(block), block.shape, _mapping_of(table))  # type: ignore[arg-type]
    assert np.array_equal(decode_google(bare, block.shape, np.uint64), lut(block))


def test_a_foreign_table_order_still_decodes_to_the_same_voxels() -> None:
    """A stream whose table is not ascending (another encoder) converts correctly."""
    block = np.zeros((8, 8, 8), np.uint64)
    block[:, :, 4:] = 7
    bare = bytearray(encode_google(block))
    words = np.frombuffer(bare, "<u4").copy()
    table_at = 1 + (int(words[1]) & 0xFFFFFF)
    values_at = 1 + int(words[2])
    words[table_at : table_at + 4] = words[[table_at + 2, table_at + 3, table_at, table_at + 1]]
    words[values_at : values_at + 16] ^= 0xFFFFFFFF  # 1-bit indices flipped to match
    stored = zstandard.ZstdCompressor().compress(words.tobytes())
    assert np.array_equal(CODEC.decode(stored, (8, 8, 8), np.uint64), block)
    (native,) = cseg_to_native([stored], (8, 8, 8))
    assert native == encode_native(block)


@settings(max_examples=15, deadline=None)
@given(same_shape_blocks(), st.data())
def test_block_lists_by_sorting_equal_the_presence_table(
    blocks: list[np.ndarray], data: st.DataObject
) -> None:
    """Requests with too many blocks × labels for a presence table sort instead."""
    shape = blocks[0].shape
    stored = [CODEC.encode(b) for b in blocks]
    ids = sorted({int(v) for b in blocks for v in np.unique(b).tolist()})
    table = data.draw(st.dictionaries(st.sampled_from(ids), st.sampled_from(ids)))
    lut = np.vectorize(lambda v: table.get(int(v), int(v)), otypes=[np.uint64])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sub_block_labels, "PRESENCE_CELLS", 0)
        patch.setattr(sub_block_labels, "PRESENCE_PER_ENTRY", 0)
        got = cseg_to_native(stored, shape, _mapping_of(table))  # type: ignore[arg-type]
    assert got == [encode_native(lut(b).astype(np.uint64)) for b in blocks]


def test_a_table_shared_at_two_lengths_converts_per_sub_block() -> None:
    """Sub-blocks naming one table position but using fewer of its entries (another
    encoder's sharing) keep their own label lists."""
    block = np.zeros((8, 8, 16), np.uint64)
    block[:, :, :8] = np.array([5, 7, 9], np.uint64)[np.arange(512) % 3].reshape(8, 8, 8)
    block[:, :, 8:] = np.array([5, 7], np.uint64)[np.arange(512) % 2].reshape(8, 8, 8)
    words = np.frombuffer(encode_google(block), "<u4").copy()
    words[3] = (words[3] & 0xFF000000) | (words[1] & 0xFFFFFF)  # second table := first
    stored = zstandard.ZstdCompressor().compress(words.tobytes())
    assert np.array_equal(CODEC.decode(stored, block.shape, np.uint64), block)
    assert cseg_to_native([stored], block.shape) == [encode_native(block)]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-8],  # table cut short
        lambda b: b[:12],  # headers cut short
        lambda b: b[:4] + b"\xff\xff\xff\x7f" + b[8:],  # 127 bits per voxel
        lambda b: b"\x02\x00\x00\x00" + b[4:],  # two channels
    ],
)
def test_malformed_streams_are_codec_errors(damage: object) -> None:
    block = np.arange(16 * 16 * 16, dtype=np.uint64).reshape(16, 16, 16) % 5
    bare = damage(encode_google(block))  # type: ignore[operator]
    stored = zstandard.ZstdCompressor().compress(bare)
    with pytest.raises(CodecError):
        cseg_to_native([CODEC.encode(block), stored], (16, 16, 16))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=200))
def test_ranks_is_unique_with_inverse(values: list[int]) -> None:
    labels = np.array(values, np.uint64)
    distinct, rank = ranks(labels)
    expected, inverse = np.unique(labels, return_inverse=True)
    assert np.array_equal(distinct, expected)
    assert np.array_equal(rank, inverse)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50), st.integers(0, 2**32))
def test_ranks_of_many_labels_is_unique_with_inverse(values: list[int], seed: int) -> None:
    # past the sorting threshold: the hash-table path
    pool = np.array(values, np.uint64)
    labels = pool[np.random.default_rng(seed).integers(0, pool.size, 5000)]
    distinct, rank = ranks(labels)
    expected, inverse = np.unique(labels, return_inverse=True)
    assert np.array_equal(distinct, expected)
    assert np.array_equal(rank, inverse)


@settings(max_examples=40, deadline=None)
@given(label_blocks())
def test_count_labels_equals_numpy_unique(block: np.ndarray) -> None:
    labels, counts = np.unique(block, return_counts=True)
    expected = {int(v): int(n) for v, n in zip(labels, counts, strict=True) if v}
    assert count_labels(block) == expected


@pytest.mark.parametrize("mapped", [False, True])
def test_every_index_width_in_a_batch(mapped: bool) -> None:
    # sub-blocks of 1 to 300 labels: every packed width in (0-16 bits) and out (0-9
    # bits), including the narrowed ones (4 -> 3 bits, 8 -> 5-7 bits); ten blocks, so the
    # batched zstd path runs too
    rng = np.random.default_rng(7)
    counts = [1, 2, 3, 4, 5, 8, 9, 16, 17, 32, 33, 64, 65, 128, 129, 256, 257, 300]
    blocks = []
    for b in range(10):
        block = np.empty((16, 16, 16), np.uint64)
        for i, (z, y, x) in enumerate(np.ndindex(2, 2, 2)):
            n = counts[(b * 8 + i) % len(counts)]
            ids = rng.choice(2**40, n, replace=False).astype(np.uint64) + 1
            sub = ids[np.arange(512) % n]
            rng.shuffle(sub)
            block[z * 8 : z * 8 + 8, y * 8 : y * 8 + 8, x * 8 : x * 8 + 8] = sub.reshape(8, 8, 8)
        blocks.append(block)
    stored = [CODEC.encode(b) for b in blocks]
    if not mapped:
        assert cseg_to_native(stored, (16, 16, 16)) == [encode_native(b) for b in blocks]
        return
    # every other id mapped onto its neighbour: counts shrink, widths narrow, order moves
    ids = np.unique(np.concatenate([np.unique(b) for b in blocks]))
    table = {int(a): int(b) for a, b in zip(ids[1::2], ids[:-1:2], strict=False)}
    lut = np.vectorize(lambda v: table.get(int(v), int(v)), otypes=[np.uint64])
    got = cseg_to_native(stored, (16, 16, 16), _mapping_of(table))  # type: ignore[arg-type]
    assert got == [encode_native(lut(b).astype(np.uint64)) for b in blocks]


def test_a_corrupt_frame_in_a_batch_is_refused() -> None:
    blocks = [np.full((8, 8, 8), i + 1, np.uint64) for i in range(9)]
    stored = [CODEC.encode(b) for b in blocks]
    frame = bytearray(stored[4])
    frame[-6:] = b"\xff" * 6  # the header still states a size; the data is broken
    stored[4] = bytes(frame)
    with pytest.raises(CodecError):
        cseg_to_native(stored, (8, 8, 8))
