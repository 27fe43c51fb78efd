"""ndstore (Open Connectome) cutout URLs over voxhub image instances.

Grammar (also under ``/sd/``, ``/nd/ca/`` and ``/nd/sd/``, as ndstore mounted it)::

    GET  /ca/{token}/{channel}/{fmt}/{res}/{x0,x1}/{y0,y1}/{z0,z1}/   fmt: npz hdf5 raw tiff blosc
    GET  /ca/{token}/{channel}/xy/{res}/{x0,x1}/{y0,y1}/{z}/          PNG slices
    GET  /ca/{token}/{channel}/xz/{res}/{x0,x1}/{y}/{z0,z1}/
    GET  /ca/{token}/{channel}/yz/{res}/{x}/{y0,y1}/{z0,z1}/
    POST /ca/{token}/{channel}/npz/0/{x0,x1}/{y0,y1}/{z0,z1}/         body: npz of the box

* **token** = ``<repo alias or root UUID (prefix)>[:<branch>]``: the leaf of that branch
  of that repo, ``master`` by default. ``demo`` and ``demo:master`` read master's leaf,
  ``demo:proofread`` the leaf of branch ``proofread``.
* **channel** = the name of an image instance of the repo.
* **res** = the pyramid level (``scale``); coordinates are voxels of that level.
* Ranges are half-open. A read must lie inside the channel's extents at ``res``; anything
  else is refused (400) with the bounds in the message, as ndstore did (no clipping).
* Arrays are ``[channel, z, y, x]`` with one channel: ``npz`` is zlib-compressed
  ``numpy.save`` bytes, ``hdf5`` holds group ``{channel}`` with datasets ``CUTOUT``
  (gzip, ``z, y, x``), ``CHANNELTYPE`` and ``DATATYPE``, ``raw`` is bare C-order bytes,
  ``tiff`` a multipage TIFF (one page per z).
* ``blosc`` needs the ``blosc`` package, which this installation lacks: it answers 501.
* Slices are PNGs at full bit depth (uint8 or uint16), not resized for anisotropy and not
  windowed; other dtypes are refused, use ``tiff``.
* Writes go to scale 0 and need not lie inside the extents (a write grows them). Unlike
  ndstore, zeros in the posted array are written too (ndstore could not erase data).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from voxhub.datatypes.imageblk import bodies, formats
from voxhub.datatypes.imageblk.geometry_urls import (
    describe_xyz,
    ndstore_box,
    ndstore_coord,
    ndstore_range,
)
from voxhub.datatypes.imageblk.instance import ImageInstance
from voxhub.datatypes.imageblk.routes import instance_at, request_limit
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import CapabilityError, InvalidRequest, NotFound
from voxhub.geometry import Box
from voxhub.versioning.catalog import Catalog

CUTOUT_FORMATS = ("npz", "hdf5", "blosc", "raw", "tiff")
SLICE_FORMATS = ("xy", "xz", "yz")
PREFIXES = ("/ca", "/sd", "/nd/ca", "/nd/sd")
#: room for the .npy header inside a posted npz body.
_NPY_HEADER_ROOM = 1 << 16


def resolve_token(catalog: Catalog, token: str) -> str:
    """The node UUID a token names: the leaf of ``branch`` in the repo (see module doc)."""
    ref, _, branch = token.partition(":")
    branch = branch or "master"
    repos = [r for r in catalog.repos() if ref and (r.alias == ref or r.root.startswith(ref))]
    if not repos:
        raise NotFound(f"token {token!r}: no repo with alias or root UUID {ref!r}")
    if len(repos) > 1:
        raise InvalidRequest(f"token {token!r}: {ref!r} names {len(repos)} repos")
    return catalog.node(f"{repos[0].root}:{branch}").uuid


def _open(request: Request) -> tuple[ImageInstance, int]:
    """The channel's image instance and the requested resolution (blocking)."""
    params = request.path_params
    catalog: Catalog = request.app.state.hub.catalog
    uuid = resolve_token(catalog, params["token"])
    info = catalog.instance(uuid, params["channel"])
    if datatype_for(info.typename).name != "imageblk":
        raise InvalidRequest(f"channel {info.name!r} is a {info.typename}, not an image")
    instance = instance_at(catalog, uuid, info, request_limit(request))
    try:
        res = int(params["res"])
    except ValueError:
        raise InvalidRequest(f"resolution {params['res']!r} must be an integer") from None
    if not 0 <= res <= instance.config.max_scale:
        raise InvalidRequest(
            f"resolution {res} out of range 0..{instance.config.max_scale} "
            f"for channel {info.name!r}"
        )
    return instance, res


def _box(fmt: str, params: dict[str, Any]) -> Box:
    x, y, z = params["x"], params["y"], params["z"]
    if fmt == "xy":
        return ndstore_box(ndstore_range(x, "x"), ndstore_range(y, "y"), ndstore_coord(z, "z"))
    if fmt == "xz":
        return ndstore_box(ndstore_range(x, "x"), ndstore_coord(y, "y"), ndstore_range(z, "z"))
    if fmt == "yz":
        return ndstore_box(ndstore_coord(x, "x"), ndstore_range(y, "y"), ndstore_range(z, "z"))
    return ndstore_box(ndstore_range(x, "x"), ndstore_range(y, "y"), ndstore_range(z, "z"))


def _format(request: Request) -> str:
    fmt = str(request.path_params["fmt"]).lower()
    if fmt not in CUTOUT_FORMATS + SLICE_FORMATS:
        raise InvalidRequest(
            f"format {fmt!r} is not one of {', '.join(CUTOUT_FORMATS + SLICE_FORMATS)}"
        )
    if fmt == "blosc":
        raise CapabilityError("format 'blosc' needs the blosc package, not installed here")
    return fmt


async def cutout(request: Request) -> Response:
    """``GET``: a cutout or slice; ``POST``: write an npz body (see the module docstring)."""
    fmt = _format(request)
    box = _box(fmt, dict(request.path_params))
    if request.method == "POST":
        return await _post(request, fmt, box)

    def run() -> tuple[np.ndarray, str]:
        instance, res = _open(request)
        extents = instance.extents(res)
        bounds = extents or Box((0, 0, 0), (0, 0, 0))
        if extents is None or not extents.contains(box):
            raise InvalidRequest(
                f"cutout {describe_xyz(box)} lies outside the bounds {describe_xyz(bounds)} "
                f"of channel {instance.name!r} at resolution {res}"
            )
        itemsize = np.dtype(instance.config.dtype).itemsize
        bodies.check_size(box.size * itemsize, request_limit(request), "cutout")
        return instance.read(box, res), instance.name

    volume, channel = await run_in_threadpool(run)
    encode, media_type = _ENCODERS[fmt]
    body = await run_in_threadpool(encode, volume, channel)
    headers = {"Content-Disposition": "attachment; filename=cutout.h5"} if fmt == "hdf5" else None
    return Response(body, media_type=media_type, headers=headers)


def _npz(volume: np.ndarray, channel: str) -> bytes:
    buf = io.BytesIO()
    np.save(buf, volume[np.newaxis], allow_pickle=False)
    return zlib.compress(buf.getvalue(), 1)


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


def _slice(axis: int) -> Callable[[np.ndarray, str], bytes]:
    def encode(volume: np.ndarray, channel: str) -> bytes:
        plane = np.take(volume, 0, axis=axis)
        return formats.encode_image(plane, formats.ImageFormat("png"))

    return encode


_ENCODERS: dict[str, tuple[Callable[[np.ndarray, str], bytes], str]] = {
    "npz": (_npz, "product/npz"),
    "hdf5": (_hdf5, "product/hdf5"),
    "raw": (_raw, "product/raw"),
    "tiff": (_tiff, "image/tiff"),
    "xy": (_slice(0), "image/png"),
    "xz": (_slice(1), "image/png"),
    "yz": (_slice(2), "image/png"),
}


async def _post(request: Request, fmt: str, box: Box) -> Response:
    if fmt != "npz":
        raise InvalidRequest(f"POST takes npz bodies, not {fmt!r}")
    if request.path_params["res"] != "0":
        raise InvalidRequest("resolution: writes go to resolution 0; the pyramid is derived")
    limit = request_limit(request)

    def open_writable() -> ImageInstance:
        instance, _ = _open(request)
        itemsize = np.dtype(instance.config.dtype).itemsize
        bodies.check_size(box.size * itemsize, limit, "write")
        instance.view.check_writable()
        return instance

    instance = await run_in_threadpool(open_writable)
    itemsize = np.dtype(instance.config.dtype).itemsize
    body = await bodies.read_body(request, limit)
    array = await run_in_threadpool(_load_npz, body, box.size * itemsize + _NPY_HEADER_ROOM)
    wanted = (1, *box.shape)
    if array.shape not in (wanted, box.shape):
        raise InvalidRequest(
            f"mismatched dimensions: the body array has shape {array.shape}, "
            f"the URL box {describe_xyz(box)} needs {wanted} (channel, z, y, x)"
        )
    if array.dtype != np.dtype(instance.config.dtype):
        raise InvalidRequest(
            f"Wrong datatype in POST: the body is {array.dtype}, "
            f"channel {instance.name!r} holds {instance.config.dtype}"
        )
    await run_in_threadpool(instance.write, box.start, array.reshape(box.shape))
    return Response(b"")


def _load_npz(body: bytes, bound: int) -> np.ndarray:
    """The array of an ndstore npz body (zlib of ``numpy.save``), inflated up to ``bound``."""
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(body, bound)
        if inflater.unconsumed_tail:
            raise InvalidRequest(f"npz body inflates past {bound} bytes, larger than the box")
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (zlib.error, ValueError, OSError) as e:
        if isinstance(e, InvalidRequest):
            raise
        raise InvalidRequest(f"body is not an npz array (zlib of numpy.save): {e}") from None
    if not isinstance(array, np.ndarray):
        raise InvalidRequest("npz body must hold a single array")
    return array


def ndstore_routes() -> list[BaseRoute]:
    """Cutout routes with absolute paths (``/ca/...`` and its ndstore aliases)."""
    routes: list[BaseRoute] = []
    for prefix in PREFIXES:
        path = prefix + "/{token}/{channel}/{fmt}/{res}/{x}/{y}/{z}"
        routes.append(Route(path + "/", cutout, methods=["GET", "POST"]))
        routes.append(Route(path, cutout, methods=["GET", "POST"]))
    return routes
