"""ndstore (Open Connectome) cutout URLs over voxhub image instances.

Grammar (also under ``/sd/``, ``/nd/ca/`` and ``/nd/sd/``, as ndstore mounted it)::

    GET  /ca/{token}/{channel}/{fmt}/{res}/{x0,x1}/{y0,y1}/{z0,z1}/   fmt: npz hdf5 raw tiff blosc
    GET  /ca/{token}/{channel}/xy/{res}/{x0,x1}/{y0,y1}/{z}/          PNG slices
    GET  /ca/{token}/{channel}/xz/{res}/{x0,x1}/{y}/{z0,z1}/
    GET  /ca/{token}/{channel}/yz/{res}/{x}/{y0,y1}/{z0,z1}/
    POST /ca/{token}/{channel}/{fmt}/0/{x0,x1}/{y0,y1}/{z0,z1}/       fmt: npz blosc hdf5

* **token** = ``<repo alias or root UUID (prefix)>[:<branch>]``: the leaf of that branch
  of that repo, ``master`` by default. ``demo`` and ``demo:master`` read master's leaf,
  ``demo:proofread`` the leaf of branch ``proofread``.
* **channel** = the name of an image instance of the repo.
* **res** = the pyramid level (``scale``); coordinates are voxels of that level.
* Ranges are half-open. A read must lie inside the channel's extents at ``res``; anything
  else is refused (400) with the bounds in the message, as ndstore did (no clipping).
* Arrays are ``[channel, z, y, x]`` with one channel: ``npz`` is zlib-compressed
  ``numpy.save`` bytes, ``blosc`` is ``blosc.pack_array`` of the array (``product/blosc``,
  what ndio and tilecache read with ``blosc.unpack_array``), ``hdf5`` holds group
  ``{channel}`` with datasets ``CUTOUT`` (gzip, ``z, y, x``), ``CHANNELTYPE`` and
  ``DATATYPE``, ``raw`` is bare C-order bytes, ``tiff`` a multipage TIFF (one page per z).
* Slices are PNGs at full bit depth (uint8 or uint16), not resized for anisotropy and not
  windowed; other dtypes are refused, use ``tiff``.

POST bodies hold an array of shape ``[1, z, y, x]`` (or ``[z, y, x]``) of the channel's
dtype, else the request is refused with ndstore's "mismatched dimensions" or "Wrong
datatype in POST":

* ``npz``: as above, inflated no further than the box needs;
* ``blosc``: ``blosc.pack_array(array)`` as ndio sends it, or one blosc buffer of bare
  C-order voxels (BossDB's ``application/blosc``), told apart by the uncompressed size.
  ``pack_array`` is a compressed *pickle*, and unpickling runs any callable the pickle
  names, so client bytes never reach ``pickle.loads``/``blosc.unpack_array``: the size in
  the blosc header is bounded by the box before decompressing, and a restricted unpickler
  that resolves only the numpy names of a plain numeric ndarray rebuilds it
  (:mod:`voxhub.server.ndstore_bodies` has the details);
* ``hdf5``: dataset ``/{channel}/CUTOUT``, checked against ``/{channel}/DATATYPE`` when
  present; links out of the body and external or virtual storage are refused.

Writes go to scale 0 and need not lie inside the extents (a write grows them). Unlike
ndstore, zeros in the posted array are written too (ndstore could not erase data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from voxhub.datatypes.imageblk import bodies
from voxhub.datatypes.imageblk.geometry_urls import (
    describe_xyz,
    ndstore_box,
    ndstore_coord,
    ndstore_range,
)
from voxhub.datatypes.imageblk.instance import ImageInstance
from voxhub.datatypes.imageblk.routes import instance_at, request_limit
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Box
from voxhub.server import ndstore_bodies as nd_bodies
from voxhub.versioning.catalog import Catalog

CUTOUT_FORMATS = ("npz", "hdf5", "blosc", "raw", "tiff")
SLICE_FORMATS = ("xy", "xz", "yz")
PREFIXES = ("/ca", "/sd", "/nd/ca", "/nd/sd")
POST_FORMATS = ("npz", "blosc", "hdf5")


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
    return fmt


async def cutout(request: Request) -> Response:
    """``GET``: a cutout or slice; ``POST``: write an npz, blosc or hdf5 body (module doc)."""
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
    encode, media_type = nd_bodies.ENCODERS[fmt]
    body = await run_in_threadpool(encode, volume, channel)
    headers = {"Content-Disposition": "attachment; filename=cutout.h5"} if fmt == "hdf5" else None
    return Response(body, media_type=media_type, headers=headers)


async def _post(request: Request, fmt: str, box: Box) -> Response:
    if fmt not in POST_FORMATS:
        raise InvalidRequest(f"POST takes {', '.join(POST_FORMATS)} bodies, not {fmt!r}")
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
    expected = nd_bodies.Expected(
        shape=box.shape,
        dtype=np.dtype(instance.config.dtype),
        channel=instance.name,
        box_text=describe_xyz(box),
        limit=limit,
    )
    body = await bodies.read_body(request, limit)
    array = await run_in_threadpool(nd_bodies.decode, fmt, body, expected)
    await run_in_threadpool(instance.write, box.start, array)
    return Response(b"")


def ndstore_routes() -> list[BaseRoute]:
    """Cutout routes with absolute paths (``/ca/...`` and its ndstore aliases)."""
    routes: list[BaseRoute] = []
    for prefix in PREFIXES:
        path = prefix + "/{token}/{channel}/{fmt}/{res}/{x}/{y}/{z}"
        routes.append(Route(path + "/", cutout, methods=["GET", "POST"]))
        routes.append(Route(path, cutout, methods=["GET", "POST"]))
    return routes
