"""Image encodings of cutouts: 2-D slices as PNG / JPEG[:quality] / TIFF / BMP, 3-D stacks.

Pillow writes PNG, JPEG and BMP; tifffile writes TIFF (any dtype, multipage for 3-D).
PNG keeps uint8 (8-bit gray) and uint16 (16-bit gray) exactly; JPEG and BMP are 8-bit only.
Other dtypes (uint32, uint64, float32) are refused for those formats with a message that
points to TIFF, rather than being silently windowed or wrapped as ndstore did.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import tifffile
from PIL import Image

from voxhub.errors import InvalidRequest

#: DVID's ``DefaultJPEGQuality``.
DEFAULT_JPEG_QUALITY = 80

MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
}

#: libjpeg's limit (JPEG_MAX_DIMENSION); Pillow fails past it while encoding
_MAX_SIDE = {"jpeg": 65500}

_ALIASES = {
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "tif": "tiff",
    "tiff": "tiff",
    "bmp": "bmp",
}


@dataclass(frozen=True, slots=True)
class ImageFormat:
    """A parsed image format: ``name`` in png, jpeg, tiff, bmp; ``quality`` for jpeg."""

    name: str
    quality: int = DEFAULT_JPEG_QUALITY

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.name]


def parse_image_format(text: str | None, default: str = "png") -> ImageFormat:
    """``png``, ``jpg``, ``jpg:90``, ``jpeg``, ``tiff`` or ``bmp`` → :class:`ImageFormat`."""
    spec = (text or default).lower()
    name, _, quality_text = spec.partition(":")
    canonical = _ALIASES.get(name)
    if canonical is None:
        raise InvalidRequest(f"format {text!r} is not one of png, jpg[:quality], tiff, bmp")
    if not quality_text:
        return ImageFormat(canonical)
    if canonical != "jpeg":
        raise InvalidRequest(f"format {text!r}: only jpg takes a quality")
    try:
        quality = int(quality_text)
    except ValueError:
        raise InvalidRequest(f"format {text!r}: jpg quality must be an integer 1..100") from None
    if not 1 <= quality <= 100:
        raise InvalidRequest(f"format {text!r}: jpg quality must be in 1..100")
    return ImageFormat(canonical, quality)


def encode_image(image: np.ndarray, fmt: ImageFormat) -> bytes:
    """Encode a 2-D array (rows, columns) in ``fmt``."""
    if image.ndim != 2:
        raise InvalidRequest(f"an image must be 2-D, got shape {image.shape}")
    if fmt.name == "tiff":
        return encode_tiff(image)
    dtype = image.dtype
    allowed = ("uint8", "uint16") if fmt.name == "png" else ("uint8",)
    if dtype.name not in allowed:
        raise InvalidRequest(
            f"format {fmt.name} cannot hold {dtype} voxels (it takes {', '.join(allowed)}); "
            "ask for tiff instead"
        )
    side = _MAX_SIDE.get(fmt.name)
    if side is not None and max(image.shape) > side:
        raise InvalidRequest(
            f"format {fmt.name} holds at most {side} pixels on a side, this image is "
            f"{image.shape[1]} x {image.shape[0]}; ask for png or tiff, or a smaller region"
        )
    pil = Image.fromarray(np.ascontiguousarray(image))
    buf = io.BytesIO()
    if fmt.name == "jpeg":
        pil.save(buf, format="JPEG", quality=fmt.quality)
    else:
        pil.save(buf, format=fmt.name.upper())
    return buf.getvalue()


def encode_tiff(array: np.ndarray) -> bytes:
    """A TIFF of a 2-D image or a multipage TIFF (one page per z) of a 3-D array."""
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(array), photometric="minisblack")
    return buf.getvalue()


def tall_image(volume: np.ndarray) -> np.ndarray:
    """A ``(z, y, x)`` volume as one 2-D image ``x`` wide and ``z*y`` tall (row ``z*y + y``).

    This is how DVID (and neuroglancer's ``raw/0_1_2/.../jpeg`` requests) lay out a 3-D
    subvolume in a single JPEG.
    """
    z, y, x = volume.shape
    return np.ascontiguousarray(volume).reshape(z * y, x)
