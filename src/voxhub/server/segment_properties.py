"""``/precomputed/{node}/{instance}/segment_properties/info``: a labelmap's bodies at a
node as neuroglancer segment properties (ids, sizes in voxels, names from a neuronjson
instance; the rules and the cap are in :mod:`voxhub.datatypes.labelmap.segment_properties`).

The labels ``info`` of the body view lists the directory, so neuroglancer shows the table
(sortable by size, searchable by name) in the segmentation layer's Seg. tab. A committed
node's answer is cached under the names instance it was read with, and revalidated by
clients (``no-cache``, a cheap 304): which instance names the bodies (a tag, a creation)
is not versioned.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.labelmap.segment_properties import (
    MAX_LIMIT,
    MAX_SEGMENTS,
    body_name,
    body_sizes,
    names_instance,
    segment_properties,
)
from voxhub.datatypes.neuronjson.instance import NeuronJsonInstance
from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.wire.api import JSON, Api, ApiRoute, Param
from voxhub.datatypes.wire.numbers import parse_int
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import NotFound
from voxhub.server.context import Binder, ServerContext
from voxhub.server.precomputed import BASE, Volume, requested_volume
from voxhub.server.view_encoding import Encoded, Wire, encode_for, wire_answer

PATH = f"{BASE}/segment_properties/info"
#: the same, where the sharded view's ``info`` names it (relative to that view)
SHARDED_PATH = f"{BASE}/sharded/segment_properties/info"


def _names(ctx: ServerContext, volume: Volume) -> tuple[str, NeuronJsonInstance] | None:
    """The neuronjson instance naming the labelmap's bodies, at the volume's node."""
    catalog = ctx.service.catalog
    instances = catalog.instances(volume.node)
    neuronjson = [i.name for i in instances if datatype_for(i.typename).name == "neuronjson"]
    name = names_instance(volume.info.name, volume.info.tags, neuronjson)
    if name is None:
        return None
    info = next(i for i in instances if i.name == name)
    return info.data_uuid, NeuronJsonInstance(catalog.view(volume.node, name), name)


LIMIT = Param(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    f"the most bodies listed (default {MAX_SEGMENTS}); the answer's voxhub.truncated says "
    "whether bodies were left out",
)


def _limit(request: Request) -> int:
    text = request.query_params.get("limit")
    return MAX_SEGMENTS if text is None else parse_int(text, "limit", 1, MAX_LIMIT)


def _properties(volume: Volume, names: NeuronJsonInstance | None, limit: int) -> bytes:
    labels: dict[int, str] | None = None
    if names is not None:
        documents = names.first_documents(limit)
        labels = {int(d["bodyid"]): body_name(d) for d in documents}
    listed = body_sizes(volume.reader, labels or (), cap=limit)
    return json.dumps(segment_properties(listed, labels, limit=limit)).encode()


async def get_segment_properties(request: Request, ctx: ServerContext) -> Response:
    """The bodies' ``neuroglancer_segment_properties`` (at most ``limit`` bodies)."""
    limit = _limit(request)

    def run() -> tuple[Wire | None, bool]:
        volume = requested_volume(request, ctx, supervoxels=False)
        if not volume.labels:
            raise NotFound(f"{volume.info.name!r} is an image: segment properties are of labels")
        found = _names(ctx, volume)
        names = None if found is None else found[1]

        def encode() -> Encoded:
            return Encoded(_properties(volume, names, limit), True)

        if not volume.committed:
            return encode_for(request, encode), False
        names_uuid = None if found is None else found[0]
        key = ("segment_properties", volume.node, volume.info.data_uuid, names_uuid, limit)
        return encode_for(request, encode, cache=ctx.view_cache, key=key), True

    wire, _ = await small_read(ctx, run, small=False)
    assert wire is not None  # always a document, if only of no bodies
    # revalidated even at a committed node (its tag is cheap to check): which neuronjson
    # instance names the bodies is not versioned
    return wire_answer(request, wire, JSON, committed=False)


def segment_properties_routes(bind: Binder) -> list[BaseRoute]:
    """The route (before the view's ``{scale_key}/{chunk}``, which would read it as scale
    ``segment_properties``, chunk ``info``)."""
    endpoint = bind(get_segment_properties)
    api = Api(query=(LIMIT,))
    return [ApiRoute(path, endpoint, methods=["GET"], api=api) for path in (PATH, SHARDED_PATH)]
