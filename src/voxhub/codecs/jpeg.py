"""Lossy JPEG for uint8 EM: a ``(z, y, x)`` block is one grayscale image ``z*y`` rows tall.

This is DVID's layout (width ``x``, height ``y*z``), so stored blocks can be served to
clients that ask for JPEG without re-encoding.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from voxhub.codecs.base import BlockCodec, JSONDict, check_keys, int_option
from voxhub.errors import CodecError, InvalidRequest
from voxhub.geometry import Vec3
from voxhub.optional import require

#: libjpeg's limit on either image dimension.
MAX_JPEG_SIDE = 65500


class JpegCodec(BlockCodec):
    """Baseline grayscale JPEG at ``quality`` 1..100 (default 90); uint8 only, lossy."""

    name: ClassVar[str] = "jpeg"
    lossless: ClassVar[bool] = False
    dtypes: ClassVar[frozenset[str]] = frozenset({"uint8"})

    def __init__(self, quality: int = 90) -> None:
        self.quality = int_option({"quality": quality}, "quality", 90, 1, 100, self.name)

    def configuration(self) -> JSONDict:
        return {"quality": self.quality}

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> JpegCodec:
        check_keys(configuration, {"quality"}, cls.name)
        return cls(int_option(configuration, "quality", 90, 1, 100, cls.name))

    def validate(self, dtype: str, block_shape: Vec3) -> None:
        super().validate(dtype, block_shape)
        z, y, x = block_shape
        if z * y > MAX_JPEG_SIDE or x > MAX_JPEG_SIDE:
            raise InvalidRequest(
                f"codec 'jpeg': a {block_shape} block makes a {z * y}x{x} image, over "
                f"JPEG's {MAX_JPEG_SIDE} pixel limit per side"
            )

    def encode(self, block: np.ndarray) -> bytes:
        if block.dtype != np.uint8 or block.ndim != 3:
            raise self.error(f"needs a 3-D uint8 block, got {block.ndim}-D {block.dtype}")
        z, y, x = block.shape
        image = require("PIL.Image", "the jpeg codec").fromarray(
            np.ascontiguousarray(block).reshape(z * y, x), mode="L"
        )
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=self.quality)
        return buf.getvalue()

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        if out.dtype != np.uint8:
            raise self.error(f"decodes to uint8 only, asked for {out.dtype}")
        z, y, x = out.shape
        pil_image = require("PIL.Image", "the jpeg codec")
        try:
            with pil_image.open(io.BytesIO(data)) as image:
                if image.format != "JPEG" or image.mode != "L":
                    raise self.error(f"not a grayscale JPEG ({image.format} {image.mode})")
                if image.size != (x, z * y):
                    raise self.error(f"image is {image.size}, expected {(x, z * y)}")
                pixels = np.asarray(image)
        except CodecError:
            raise
        except (OSError, SyntaxError, ValueError) as e:
            raise self.error(f"corrupt data: {e}") from None
        np.copyto(out, pixels.reshape(out.shape))
