"""ndstore cutout bodies: the encoders of every GET format and the decoders of POST bodies.

Decoders never trust the client: every body is bounded by the box it is posted to before it
is inflated, and the array it holds must have the box's shape and the channel's dtype.

``blosc`` bodies are what ndstore's clients send, ``blosc.pack_array(array)``: a blosc
buffer holding a *pickle* of the array. ``pickle.loads`` (and so ``blosc.unpack_array``)
runs whatever callables the pickle names, so it is never called on client bytes. Instead:

1. the blosc header's uncompressed size is checked against the box (plus a few KiB of
   pickle framing) before anything is decompressed, so a small body cannot inflate to
   gigabytes;
2. the pickle is read by :class:`_ArrayUnpickler`, whose ``find_class`` resolves only the
   handful of numpy names an ndarray pickle uses (protocols 2 to 5, numpy 1 and 2 module
   paths), each to a small checking stand-in rather than the real callable, and refuses
   every other global, so nothing but "rebuild a plain numeric array" can run.

A body whose uncompressed size is exactly the box's byte count is instead taken as bare
C-order little-endian voxels (BossDB's ``application/blosc``); a pickle of a box-shaped
array is always larger than that, so the two forms cannot be confused.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import blosc  # type: ignore[import-untyped]
import h5py
import numpy as np

from voxhub.datatypes.wire import bodies, formats
from voxhub.errors import InvalidRequest

#: room for the .npy header inside a posted npz body.
_NPY_HEADER_ROOM = 1 << 16
#: room for the pickle framing around the voxels in a posted pack_array body (~200 bytes).
_PICKLE_ROOM = 4096
_BLOSC_HEADER = 16
_NUMERIC_KINDS = "biuf"

Encoder = Callable[[np.ndarray, str], bytes]


@dataclass(frozen=True)
class Expected:
    """What a POST body must hold: the URL box's ``(z, y, x)`` shape and the channel dtype."""

    shape: tuple[int, int, int]
    dtype: np.dtype[Any]
    channel: str
    box_text: str  # the box in ndstore's words, for messages
    limit: int  # the server's byte limit per request

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


def check_array(shape: tuple[int, ...], dtype: np.dtype[Any], expected: Expected) -> None:
    """ndstore's two refusals, in its words: wrong shape, then wrong dtype."""
    wanted = (1, *expected.shape)
    if tuple(shape) not in (wanted, expected.shape):
        raise InvalidRequest(
            f"mismatched dimensions: the body array has shape {tuple(shape)}, "
            f"the URL box {expected.box_text} needs {wanted} (channel, z, y, x)"
        )
    if dtype.kind != expected.dtype.kind or dtype.itemsize != expected.dtype.itemsize:
        raise InvalidRequest(
            f"Wrong datatype in POST: the body is {dtype}, "
            f"channel {expected.channel!r} holds {expected.dtype}"
        )


# -- GET encoders -------------------------------------------------------------------------
def _npz(volume: np.ndarray, channel: str) -> bytes:
    buf = io.BytesIO()
    np.save(buf, volume[np.newaxis], allow_pickle=False)
    return zlib.compress(buf.getvalue(), 1)


def _blosc(volume: np.ndarray, channel: str) -> bytes:
    # exactly what ndstore sent, so ndio/tilecache's blosc.unpack_array reads it unchanged
    return bytes(blosc.pack_array(volume[np.newaxis]))


def _hdf5(volume: np.ndarray, channel: str) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        group = f.create_group(channel)
        group.create_dataset("CUTOUT", data=volume, compression="gzip", compression_opts=1)
        group.create_dataset("CHANNELTYPE", data="image")
        group.create_dataset("DATATYPE", data=str(volume.dtype))
    return buf.getvalue()


def _raw(volume: np.ndarray, channel: str) -> bytes:
    return np.ascontiguousarray(volume, dtype=volume.dtype.newbyteorder("<")).tobytes()


def _tiff(volume: np.ndarray, channel: str) -> bytes:
    return formats.encode_tiff(volume)


def _slice(axis: int) -> Encoder:
    def encode(volume: np.ndarray, channel: str) -> bytes:
        plane = np.take(volume, 0, axis=axis)
        return formats.encode_image(plane, formats.ImageFormat("png"))

    return encode


#: format -> (encoder of a ``(z, y, x)`` volume, media type)
ENCODERS: dict[str, tuple[Encoder, str]] = {
    "npz": (_npz, "product/npz"),
    "blosc": (_blosc, "product/blosc"),
    "hdf5": (_hdf5, "product/hdf5"),
    "raw": (_raw, "product/raw"),
    "tiff": (_tiff, "image/tiff"),
    "xy": (_slice(0), "image/png"),
    "xz": (_slice(1), "image/png"),
    "yz": (_slice(2), "image/png"),
}


# -- POST decoders ------------------------------------------------------------------------
def decode(fmt: str, body: bytes, expected: Expected) -> np.ndarray:
    """The ``(z, y, x)`` array of a POST body in ``fmt`` (npz, blosc or hdf5), checked."""
    if fmt == "npz":
        array = _load_npz(body, expected.nbytes + _NPY_HEADER_ROOM)
    elif fmt == "blosc":
        array = _load_blosc(body, expected)
    elif fmt == "hdf5":
        array = _load_hdf5(body, expected)
    else:
        raise InvalidRequest(f"POST takes npz, blosc or hdf5 bodies, not {fmt!r}")
    check_array(array.shape, array.dtype, expected)
    return array.reshape(expected.shape).astype(expected.dtype, copy=False)


def _load_npz(body: bytes, bound: int) -> np.ndarray:
    """The array of an ndstore npz body (zlib of ``numpy.save``), inflated up to ``bound``."""
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(body, bound)
        if inflater.unconsumed_tail:
            raise InvalidRequest(f"npz body inflates past {bound} bytes, larger than the box")
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (zlib.error, ValueError, OSError, EOFError) as e:
        if isinstance(e, InvalidRequest):
            raise
        raise InvalidRequest(f"body is not an npz array (zlib of numpy.save): {e}") from None
    if not isinstance(array, np.ndarray):
        raise InvalidRequest("npz body must hold a single array")
    return array


def _load_blosc(body: bytes, expected: Expected) -> np.ndarray:
    """A ``pack_array`` body or bare voxels in one blosc buffer; see the module docstring."""
    if len(body) < _BLOSC_HEADER:
        raise InvalidRequest(f"blosc body has {len(body)} bytes, shorter than a blosc header")
    nbytes, cbytes, _ = blosc.get_cbuffer_sizes(body[:_BLOSC_HEADER])
    bound = expected.nbytes + _PICKLE_ROOM
    # the bound comes first: nothing is inflated past what the box could need
    bodies.check_size(nbytes, expected.limit, "blosc body's uncompressed size")
    if nbytes > bound:
        raise InvalidRequest(
            f"blosc body inflates to {nbytes} bytes, larger than the box {expected.box_text} "
            f"needs ({expected.nbytes} bytes of {expected.dtype} and a pickle header)"
        )
    if cbytes != len(body) or not blosc.cbuffer_validate(body):
        raise InvalidRequest(
            f"body is not one blosc buffer: {len(body)} bytes, the header says {cbytes}"
        )
    try:
        data = blosc.decompress(body)
    except Exception as e:  # c-blosc reports corrupt input as RuntimeError or ValueError
        raise InvalidRequest(f"blosc body does not decompress: {e}") from None
    if len(data) != nbytes:
        raise InvalidRequest(f"blosc body inflated to {len(data)} bytes, not {nbytes}")
    if nbytes == expected.nbytes:
        return np.frombuffer(data, expected.dtype.newbyteorder("<")).reshape(expected.shape)
    return unpickle_array(data)


def unpickle_array(data: bytes) -> np.ndarray:
    """The plain numeric ndarray pickled in ``data``; any other pickle is refused, unrun."""
    try:
        # latin1 reads the str voxel data of Python 2 pickles, as numpy recommends
        result = _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except InvalidRequest:
        raise
    except Exception as e:  # any malformed pickle: UnpicklingError, TypeError, EOFError...
        raise InvalidRequest(f"blosc body is not a pickled numpy array: {e!r}") from None
    if type(result) is not np.ndarray:
        raise InvalidRequest(f"blosc body's pickle holds a {type(result).__name__}, not an array")
    if result.dtype.kind not in _NUMERIC_KINDS or result.dtype.fields is not None:
        raise InvalidRequest(f"blosc body's array has dtype {result.dtype}, not a number")
    return result


class _NdarrayName:
    """Stands for ``numpy.ndarray`` inside a pickle: a marker ``_reconstruct`` accepts.

    Handing out the real class would let a pickle call ``ndarray(shape)`` through NEWOBJ
    and allocate any size; the marker is neither callable nor a class.
    """


_NDARRAY = _NdarrayName()


def _numeric_dtype(spec: object, align: object = False, copy: object = False) -> np.dtype[Any]:
    """``numpy.dtype`` restricted to plain numbers (a pickled object dtype could hold code)."""
    if not isinstance(spec, str) or len(spec) > 8:
        raise InvalidRequest(f"pickled dtype {spec!r} is not a numeric type code")
    dtype = np.dtype(spec)
    if dtype.kind not in _NUMERIC_KINDS:
        raise InvalidRequest(f"pickled dtype {spec!r} is not a number")
    return dtype


def _reconstruct(subtype: object, shape: object, dtype: object) -> np.ndarray:
    """numpy's ``_reconstruct``: an empty ndarray that the pickle's state then fills."""
    if subtype is not _NDARRAY or shape != (0,):
        raise InvalidRequest("pickle reconstructs something other than a plain ndarray")
    return np.ndarray((0,), np.uint8)


def _frombuffer(buf: object, dtype: object, shape: object, order: object) -> np.ndarray:
    """numpy's ``_frombuffer`` (pickle protocol 5): the voxels are the buffer itself."""
    if not isinstance(buf, bytes | bytearray) or not isinstance(dtype, np.dtype):
        raise InvalidRequest("pickled array buffer is not bytes of a numeric dtype")
    if not isinstance(shape, tuple) or order not in ("C", "F"):
        raise InvalidRequest("pickled array has a malformed shape or order")
    return np.frombuffer(buf, dtype).reshape(shape, order="F" if order == "F" else "C")


def _latin1(text: object, encoding: object) -> bytes:
    """``_codecs.encode`` as protocol 2 uses it (bytes as latin1 text), and nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise InvalidRequest("pickle calls _codecs.encode other than for latin1 bytes")
    return text.encode("latin1")


def _empty_bytes() -> bytes:
    """``bytes()``, which protocol 2 uses for an empty buffer (``bytes(n)`` would allocate)."""
    return b""


_NUMPY_MODULES = ("numpy.core", "numpy._core")
_ALLOWED: dict[tuple[str, str], object] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _latin1,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
    **{(m + ".multiarray", "_reconstruct"): _reconstruct for m in _NUMPY_MODULES},
    **{(m + ".numeric", "_frombuffer"): _frombuffer for m in _NUMPY_MODULES},
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild a plain ndarray and nothing else (see module doc)."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise InvalidRequest(
                f"blosc body's pickle names {module}.{name}; only a plain numpy array is accepted"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise InvalidRequest("blosc body's pickle uses persistent ids")


#: what h5py raises on a corrupt file, wherever the corruption is met (opening it, following
#: a link, reading a dataset): a malformed body must be a 400, never a 500
_HDF5_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, OverflowError)


def _load_hdf5(body: bytes, expected: Expected) -> np.ndarray:
    """Dataset ``/{channel}/CUTOUT`` of an HDF5 body, checked before it is read."""
    path = f"/{expected.channel}/CUTOUT"
    try:
        return _read_hdf5(body, expected, path)
    except InvalidRequest:
        raise
    except _HDF5_ERRORS as e:
        raise InvalidRequest(f"body is not an HDF5 file with a readable {path}: {e}") from None


def _read_hdf5(body: bytes, expected: Expected, path: str) -> np.ndarray:
    f = h5py.File(io.BytesIO(body), "r")
    with f:
        group = _hard_member(f, expected.channel, h5py.Group, f"/{expected.channel}")
        dataset = _hard_member(group, "CUTOUT", h5py.Dataset, path)
        # external or virtual storage would read files on this server into the volume
        if dataset.is_virtual or dataset.external:
            raise InvalidRequest(f"HDF5 dataset {path} uses external or virtual storage")
        if "DATATYPE" in group:
            _check_datatype(group, expected)
        check_array(dataset.shape, dataset.dtype, expected)
        try:
            return np.asarray(dataset[()])
        except (OSError, ValueError) as e:
            raise InvalidRequest(f"HDF5 dataset {path} cannot be read: {e}") from None


def _hard_member(parent: Any, name: str, kind: type, path: str) -> Any:
    """``parent[name]`` if it is a hard link to a ``kind``; soft and external links refused."""
    link = parent.get(name, getlink=True)
    if link is None:
        raise InvalidRequest(f"HDF5 body has no {path}")
    if not isinstance(link, h5py.HardLink):
        raise InvalidRequest(f"HDF5 {path} is a {type(link).__name__}, not stored in the body")
    member = parent[name]
    if not isinstance(member, kind):
        raise InvalidRequest(f"HDF5 {path} is not a {kind.__name__.lower()}")
    return member


def _check_datatype(group: Any, expected: Expected) -> None:
    """ndstore's ``DATATYPE`` dataset (one string such as ``uint8``) must name the channel's."""
    node = group["DATATYPE"]
    if not isinstance(node, h5py.Dataset) or node.size != 1:
        raise InvalidRequest(f"HDF5 /{expected.channel}/DATATYPE must hold one string")
    try:
        value = np.asarray(node[()]).reshape(-1)[0]
    except (OSError, ValueError) as e:
        raise InvalidRequest(f"HDF5 /{expected.channel}/DATATYPE: {e}") from None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if text.strip().lower() != str(expected.dtype):
        raise InvalidRequest(
            f"Wrong datatype in POST: DATATYPE is {text!r}, "
            f"channel {expected.channel!r} holds {expected.dtype}"
        )
