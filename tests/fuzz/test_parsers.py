"""Hypothesis over every wire parser: whatever the bytes or text, the answer is a value or
an ``InvalidRequest``, ``CodecError`` or ``TooLarge`` (a 4xx),
never another exception (a 500); well-formed input round-trips."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable
from typing import Any

import blosc
import lz4.block
import numpy as np
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs import codec_from_json, known_codecs
from voxhub.datatypes.labelmap import native_block, rle
from voxhub.datatypes.registry import datatype_for, typenames
from voxhub.datatypes.wire import block_stream, bodies, formats, ndstore_bodies, url_geometry
from voxhub.datatypes.wire.json_input import (
    MAX_NESTING,
    depth_without_escapes,
    exact_depth,
    nesting_depth,
    parse_json,
)
from voxhub.datatypes.wire.numbers import UINT64_MAX, parse_int, parse_label, parse_uint64
from voxhub.errors import CodecError, InvalidRequest, TooLarge
from voxhub.server.settings import parse_new_instance

FUZZ = settings(max_examples=60, deadline=None)
# text a hostile client sends: digits of every script, signs, separators, huge numbers
DIGITISH = st.text(alphabet=st.sampled_from("0123456789²³¹٣٤੩০-+_, .e\x00é"), max_size=40)
TEXT = st.one_of(DIGITISH, st.text(max_size=40), st.integers().map(str), st.just("9" * 5000))


def refused_or(fn: Callable[[], Any]) -> Any:
    """``fn()``, or ``None`` if it refused with one of voxhub's 4xx errors."""
    try:
        return fn()
    except (InvalidRequest, CodecError, TooLarge):
        return None


@FUZZ
@given(TEXT)
def test_numbers_parse_ascii_decimals_in_range_or_refuse(text: str) -> None:
    value = refused_or(lambda: parse_int(text, "n", -(2**40), 2**40))
    if value is not None:
        assert text.lstrip("+-").isascii()
        assert -(2**40) <= value <= 2**40
        assert value == int(text)
    label = refused_or(lambda: parse_label(text))
    assert label is None or 0 < label <= UINT64_MAX


@FUZZ
@given(st.integers(min_value=0, max_value=UINT64_MAX))
def test_every_uint64_parses_back(value: int) -> None:
    assert parse_uint64(str(value), "id") == value


@FUZZ
@given(TEXT, TEXT, TEXT)
def test_url_geometry_parsers_answer_a_value_or_400(dims: str, size: str, offset: str) -> None:
    refused_or(lambda: url_geometry.dvid_box(url_geometry.parse_dims(dims), size, offset))
    refused_or(lambda: url_geometry.dvid_box(url_geometry.Dims((0, 1, 2)), size, offset))
    refused_or(lambda: url_geometry.parse_block_list(offset))
    refused_or(lambda: url_geometry.parse_floats(offset, 3, "corner"))
    refused_or(lambda: url_geometry.parse_block_span(offset, size))
    refused_or(lambda: url_geometry.ndstore_range(size, "x"))
    refused_or(lambda: url_geometry.aligned_box(size, offset, (8, 8, 8), "blocks"))
    refused_or(lambda: formats.parse_image_format(dims))
    refused_or(lambda: bodies.parse_compression(dims))
    refused_or(lambda: block_stream.parse_payload(dims))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@FUZZ
@given(JSON_VALUES)
def test_json_values_round_trip_and_their_depth_is_counted_exactly(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert nesting_depth(raw) == min(_depth(value), MAX_NESTING + 1)
    assert parse_json(raw) == value


@FUZZ
@given(st.binary(max_size=200) | st.text(alphabet='[]{}"\\:,0123456789aeflnrstu ', max_size=200))
def test_any_json_body_is_a_value_or_400(raw: bytes | str) -> None:
    refused_or(lambda: parse_json(raw))


@FUZZ
@given(st.integers(min_value=MAX_NESTING + 1, max_value=5000), st.sampled_from(["[]", "{}"]))
def test_deep_nesting_is_refused_before_parsing(depth: int, brackets: str) -> None:
    opening, closing = brackets
    inner = "1" if opening == "[" else '{"a": 1}'
    key = "" if opening == "[" else '"k": '
    raw = (opening + key) * depth + inner + closing * depth
    assert refused_or(lambda: parse_json(raw)) is None


VOXELS = st.binary(min_size=64, max_size=64)


def _compressed(data: bytes, how: str) -> bytes:
    return {
        "raw": lambda: data,
        "lz4": lambda: lz4.block.compress(data, store_size=False),
        "gzip": lambda: gzip.compress(data),
        "zstd": lambda: zstandard.ZstdCompressor().compress(data),
    }[how]()


@FUZZ
@given(VOXELS, st.sampled_from(bodies.COMPRESSIONS), st.data())
def test_bodies_decompress_to_exactly_the_box_or_400(voxels: bytes, how: str, data: Any) -> None:
    body = _compressed(voxels, how)
    assert bodies.decompress(body, how, 64) == voxels
    cut = data.draw(st.integers(0, len(body)))
    flip = data.draw(st.integers(0, max(len(body) - 1, 0)))
    mangled = [body[:cut], bytearray(body), data.draw(st.binary(max_size=100))]
    if body:
        mangled[1][flip] ^= 0xFF
    for wrong in mangled:
        out = refused_or(lambda w=bytes(wrong): bodies.decompress(w, how, 64))
        assert out is None or len(out) == 64
    bomb = _compressed(bytes(1 << 16), how)
    assert refused_or(lambda: bodies.decompress(bomb, how, 64)) is None


@FUZZ
@given(st.lists(st.tuples(st.integers(-(2**31), 2**31 - 1), st.binary(max_size=20)), max_size=4))
def test_block_streams_round_trip_and_any_prefix_is_whole_records_or_400(
    records: list[tuple[int, bytes]],
) -> None:
    coded = [((c, -c if c > -(2**31) else c, 0), payload) for c, payload in records]
    stream = block_stream.encode_stream(coded)
    assert block_stream.decode_stream(stream) == coded
    for cut in range(0, len(stream), 5):
        refused_or(lambda cut=cut: block_stream.decode_stream(stream[:cut]))


@FUZZ
@given(st.binary(max_size=120))
def test_rles_and_native_blocks_decode_or_400(data: bytes) -> None:
    refused_or(lambda: rle.decode_rles(data))
    refused_or(lambda: rle.decode_srles(data))
    refused_or(lambda: rle.decode_rles(bytes([0, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]) + data))
    refused_or(lambda: native_block.decode_native(data, (8, 8, 8)))


@FUZZ
@given(
    st.sampled_from(known_codecs()), st.binary(max_size=200), st.sampled_from(["uint8", "uint64"])
)
def test_every_codec_decodes_garbage_to_a_codec_error(name: str, data: bytes, dtype: str) -> None:
    refused_or(lambda: codec_from_json(name).decode(data, (4, 4, 4), dtype))


def _npz(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return zlib.compress(buf.getvalue())


EXPECTED = ndstore_bodies.Expected((2, 2, 2), np.dtype(np.uint8), "gray", "box", 1 << 20)


@FUZZ
@given(st.sampled_from(["npz", "blosc", "hdf5"]), st.data())
def test_ndstore_bodies_mangled_any_way_decode_or_400(fmt: str, data: Any) -> None:
    volume = np.arange(8, dtype=np.uint8).reshape(1, 2, 2, 2)
    good = {
        "npz": lambda: _npz(volume),
        "blosc": lambda: bytes(blosc.pack_array(volume)),
        "hdf5": lambda: ndstore_bodies.ENCODERS["hdf5"][0](volume[0], "gray"),
    }[fmt]()
    assert (ndstore_bodies.decode(fmt, good, EXPECTED) == volume[0]).all()
    cut = data.draw(st.integers(0, len(good)))
    flip = data.draw(st.integers(0, len(good) - 1))
    flipped = bytearray(good)
    flipped[flip] ^= data.draw(st.integers(1, 255))
    for body in (good[:cut], bytes(flipped), data.draw(st.binary(max_size=64))):
        out = refused_or(lambda b=body: ndstore_bodies.decode(fmt, b, EXPECTED))
        assert out is None or out.shape == (2, 2, 2)


SETTING_KEYS = st.sampled_from(
    ["BlockSize", "VoxelSize", "VoxelUnits", "Compression", "MaxScale", "Background",
     "IndexedLabels", "CountLabels", "MaxDownresLevel", "Versioned", "Tags"]
)  # fmt: skip
SETTING_VALUES = st.one_of(
    TEXT,
    st.sampled_from(["8,8,8", "64,64,64", "1.5,1,1", "nan,1,1", "0,0,0", "-8,8,8", "lz4", "zstd"]),
    st.integers().map(str),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=4),
)


@FUZZ
@given(st.sampled_from(sorted(typenames())), st.dictionaries(SETTING_KEYS, SETTING_VALUES))
def test_dvid_instance_settings_make_a_checked_config_or_400(
    typename: str, settings: dict[str, Any]
) -> None:
    body = {"typename": typename, "dataname": "fuzzed", **settings}
    made = refused_or(lambda: parse_new_instance(body))
    if made is not None:  # what the settings made passes the datatype's own check
        check = datatype_for(typename).check_config
        assert check is not None
        check(typename, made.config)


@FUZZ
@given(st.text(alphabet='[]{}"a,: ', max_size=120), st.integers(0, 6))
def test_quick_depth_within_the_limit_is_the_exact_one_or_both_are_within(
    text: str, limit: int
) -> None:
    """The numpy bracket count that skips the regular expressions on large bodies
    (texts without escapes) never lets through what the exact count refuses."""
    raw = text.encode()
    quick = depth_without_escapes(raw)
    if quick is not None and quick <= limit:
        assert exact_depth(raw, limit) <= limit
    assert nesting_depth(raw, limit) <= limit or exact_depth(raw, limit) > limit
