"""The ``jpeg`` encoding of a uint8 image's precomputed view:
``/precomputed/{node}/{instance}/jpeg/info`` and ``.../jpeg/{scale_key}/{chunk}``.

Same volume, scales and chunk grid as the ``raw`` view (:mod:`.precomputed`), chunks as
JPEG (:mod:`voxhub.datatypes.imageblk.precomputed_jpeg`: quality 90, stored jpeg blocks
sent as they are). JPEG is already compressed: chunks are never gzip'd. A committed
node's chunks are cached like the raw view's.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk.precomputed import chunk_block, scale_of_key, volume_info
from voxhub.datatypes.imageblk.precomputed_jpeg import jpeg_chunk
from voxhub.datatypes.wire.api import JSON, Api, ApiRoute
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import NotFound
from voxhub.server.context import Binder, ServerContext
from voxhub.server.precomputed import BASE, CHUNK, open_volume, requested_instance
from voxhub.server.view_encoding import Encoded, Wire, encode_for, wire_answer
from voxhub.server.view_names import Named

JPEG = "image/jpeg"


def _uint8_image(request: Request, ctx: ServerContext) -> Named:
    named = requested_instance(request, ctx, supervoxels=False)
    dtype = named.info.config.get("dtype")
    if named.labels or dtype != "uint8":
        raise NotFound(
            f"{named.info.name!r} is a {named.info.typename} instance: the jpeg view "
            "serves uint8 images only (the raw view serves every image and labelmap)"
        )
    return named


async def get_jpeg_info(request: Request, ctx: ServerContext) -> Response:
    """The ``info`` of the jpeg view: the raw view's, ``"encoding": "jpeg"``."""

    def run() -> Wire | None:
        volume = open_volume(ctx, _uint8_image(request, ctx))
        extents = [volume.extents(s) for s in range(volume.config.max_scale + 1)]
        doc = volume_info(volume.config, extents, kind="image", encoding="jpeg")
        return encode_for(request, lambda: Encoded(json.dumps(doc).encode(), True))

    wire = await small_read(ctx, run)
    assert wire is not None  # an info always exists
    return wire_answer(request, wire, JSON, committed=False)  # settings are not versioned


async def get_jpeg_chunk(request: Request, ctx: ServerContext) -> Response:
    """One chunk as a grayscale JPEG (x wide, y·z tall); 404 if never written."""
    key, name = request.path_params["chunk"], request.path_params["scale_key"]

    def run() -> tuple[Wire | None, bool]:
        named = _uint8_image(request, ctx)

        def encode() -> Encoded | None:
            volume = open_volume(ctx, named)  # only when not cached
            scale = scale_of_key(volume.config, name)
            coord = chunk_block(volume.config, key)
            data = jpeg_chunk(volume.reader, volume.config.layout(scale), coord)
            return None if data is None else Encoded(data, False)

        if not named.committed:
            return encode_for(request, encode), False
        cache_key = named.cache_key("precomputed", "jpeg", name, key)
        return encode_for(request, encode, cache=ctx.view_cache, key=cache_key), named.immutable

    wire, immutable = await small_read(ctx, run)
    if wire is None:
        raise NotFound(f"chunk jpeg/{name}/{key} was never written (all background)")
    return wire_answer(request, wire, JPEG, committed=immutable)


def precomputed_jpeg_routes(bind: Binder) -> list[BaseRoute]:
    """The jpeg view's routes (before the raw view's ``{scale_key}/{chunk}``, which would
    read ``jpeg/info`` as scale ``jpeg``, chunk ``info``)."""
    base = f"{BASE}/jpeg"
    chunk = Api(answers=(JPEG,))
    return [
        ApiRoute(f"{base}/info", bind(get_jpeg_info), methods=["GET"]),
        ApiRoute(f"{base}/{CHUNK}", bind(get_jpeg_chunk), methods=["GET"], api=chunk),
    ]
