"""The block codec interface: one C-order block of voxels <-> one non-empty ``bytes`` value.

A codec is a small immutable object that knows both directions and its own JSON
(``{"name": ..., "configuration": {...}}``), which is what instance metadata records.
``decode_into`` is the hot path: block readers keep one reusable buffer per thread and
decode straight into it, so a read does not pay a fresh allocation (and its page faults)
per block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike

from voxhub.errors import CodecError, InvalidRequest
from voxhub.geometry import Vec3

JSONDict = dict[str, Any]

#: Every dtype an image instance may hold; codecs accept all of them unless they say not.
ALL_DTYPES: frozenset[str] = frozenset({"uint8", "uint16", "uint32", "uint64", "float32"})


class BlockCodec(ABC):
    """Encode and decode blocks of one instance (any shape, the instance's dtype)."""

    name: ClassVar[str]
    #: whether ``decode(encode(b))`` always equals ``b`` exactly.
    lossless: ClassVar[bool] = True
    #: dtype names this codec can store.
    dtypes: ClassVar[frozenset[str]] = ALL_DTYPES

    # -- the two directions ----------------------------------------------------------
    @abstractmethod
    def encode(self, block: np.ndarray) -> bytes:
        """Encode a 3-D block (any layout; encoded as C order). Never returns ``b""``."""

    @abstractmethod
    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        """Decode ``data`` into ``out``, a C-contiguous array of the block's shape and dtype.

        Raises :class:`CodecError` naming the codec if ``data`` is corrupt or does not
        decode to exactly ``out.nbytes`` bytes.
        """

    def decode(self, data: bytes, shape: Vec3, dtype: DTypeLike) -> np.ndarray:
        """Decode ``data`` into a new array of ``shape`` and ``dtype``."""
        out = np.empty(shape, dtype=np.dtype(dtype))
        self.decode_into(data, out)
        return out

    # -- configuration ---------------------------------------------------------------
    def validate(self, dtype: str, block_shape: Vec3) -> None:
        """Raise :class:`InvalidRequest` if this codec cannot store such blocks."""
        if dtype not in self.dtypes:
            raise InvalidRequest(
                f"codec {self.name!r} cannot store dtype {dtype!r} "
                f"(supported: {', '.join(sorted(self.dtypes))})"
            )

    def configuration(self) -> JSONDict:
        """The codec's parameters as JSON (empty for parameterless codecs)."""
        return {}

    def to_json(self) -> JSONDict:
        """``{"name": ..., "configuration": {...}}``; :func:`codec_from_json` reopens it."""
        return {"name": self.name, "configuration": self.configuration()}

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> BlockCodec:
        """Build the codec from its ``configuration`` object (unknown keys are refused)."""
        if configuration:
            raise InvalidRequest(
                f"codec {cls.name!r} takes no configuration, got {sorted(configuration)}"
            )
        return cls()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlockCodec) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.configuration().items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.configuration()})"

    # -- helpers for implementations ---------------------------------------------------
    def error(self, message: str) -> CodecError:
        """A :class:`CodecError` whose message names this codec."""
        return CodecError(f"{self.name} codec: {message}")

    def check_size(self, got: int, out: np.ndarray) -> None:
        """Raise a :class:`CodecError` unless ``got`` equals ``out.nbytes``."""
        if got != out.nbytes:
            raise self.error(
                f"decoded {got} bytes, expected {out.nbytes} for a {out.shape} {out.dtype} block"
            )


def int_option(
    configuration: Mapping[str, Any], key: str, default: int, low: int, high: int, codec: str
) -> int:
    """Read an integer option in ``[low, high]``; :class:`InvalidRequest` names it if bad."""
    value = configuration.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(
            f"codec {codec!r}: {key} must be an integer in [{low}, {high}], got {value!r}"
        )
    return value


def check_keys(configuration: Mapping[str, Any], allowed: set[str], codec: str) -> None:
    """Refuse configuration keys a codec does not know (typos must not pass silently)."""
    unknown = set(configuration) - allowed
    if unknown:
        raise InvalidRequest(
            f"codec {codec!r}: unknown configuration {sorted(unknown)} (known: {sorted(allowed)})"
        )


def little_endian(array: np.ndarray) -> np.ndarray:
    """``array`` as a C-contiguous little-endian array (the on-disk byte order)."""
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
