"""Block codecs: one module per codec, looked up by name through one registry.

Built-ins: ``raw``, ``zstd`` (the default, level 1), ``lz4``, ``gzip``, ``jpeg`` (lossy,
uint8 only), ``cseg`` (compressed_segmentation + zstd, uint32/uint64 labels). Specs are
``{"name": ..., "configuration": {...}}``.
"""

from voxhub.codecs.base import BlockCodec
from voxhub.codecs.cseg import CsegCodec
from voxhub.codecs.gzip import GzipCodec
from voxhub.codecs.jpeg import JpegCodec
from voxhub.codecs.lz4 import Lz4Codec
from voxhub.codecs.raw import RawCodec
from voxhub.codecs.registry import codec_from_json, known_codecs, register_codec
from voxhub.codecs.zstd import ZstdCodec

for _cls in (RawCodec, ZstdCodec, Lz4Codec, GzipCodec, JpegCodec, CsegCodec):
    register_codec(_cls)

__all__ = [
    "BlockCodec",
    "CsegCodec",
    "GzipCodec",
    "JpegCodec",
    "Lz4Codec",
    "RawCodec",
    "ZstdCodec",
    "codec_from_json",
    "known_codecs",
    "register_codec",
]
