"""neuroglancer multi-resolution meshes of a labelmap's bodies, made on request at any
version: ``/precomputed/{node}/{instance}/mesh/info``, ``.../mesh/{body}.index`` (the
manifest) and ``.../mesh/{body}`` (the fragment data, read with ``Range`` requests). The
labelmap's precomputed ``info`` names this directory (``"mesh": "mesh"``) when the
``mesh`` extra is installed.

A body's files are made together (:mod:`voxhub.datatypes.meshes.body`) and kept in the
process's view cache under (node, instance, body, digest of the body's label index, and
at an open node of the body's voxel masks in the blocks the mesh reads,
:mod:`voxhub.datatypes.meshes.key`): mutations of other bodies touch neither, even in
blocks the body shares, so its mesh stays cached; a change to its voxels changes the key.
Every answer goes through :func:`~voxhub.server.view_answer.view_answer` (byte ranges,
ETag from the same key; ``immutable`` for a committed node named by UUID, as the other
views).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.cache_stats import cache_stats
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.meshes import meshes_available
from voxhub.datatypes.meshes.body import BodyMesh, body_mesh, index_digest
from voxhub.datatypes.meshes.key import MaskMemo, voxels_digest
from voxhub.datatypes.meshes.multilod import mesh_info
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute
from voxhub.datatypes.wire.numbers import parse_label
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import CapabilityError, NotFound
from voxhub.server.context import Binder, ServerContext
from voxhub.server.one_at_a_time import OneAtATime
from voxhub.server.precomputed import requested_instance
from voxhub.server.view_answer import key_etag, view_answer
from voxhub.server.view_names import Named

MESH = "/precomputed/{uuid}/{instance}/mesh"
#: the same files, where the sharded view's ``info`` names them (relative to that view)
SHARDED_MESH = "/precomputed/{uuid}/{instance}/sharded/mesh"
#: lookups of a body's mesh files in the view cache (a miss makes the mesh)
MESH_STATS = cache_stats("precomputed_mesh")
_INDEX_SUFFIX = ".index"
_MAKING = OneAtATime()  # meshes being made, by cache key
#: the process's memo of block mask digests (content-addressed: any instance and node)
_MASKS = MaskMemo()


def labels_named(request: Request, ctx: ServerContext) -> tuple[LabelInstance, Named]:
    """The labelmap the request names, opened at its node, and how the URL named it."""
    if not meshes_available():
        raise CapabilityError(
            "meshes need the mesh extra on the server: pip install 'voxhub[mesh]'"
        )
    named = requested_instance(request, ctx, supervoxels=False)
    if not named.labels:
        info = named.info
        raise NotFound(f"{info.name!r} is a {info.typename} instance: meshes are of labelmaps")
    return ctx.service.open_labels(named.node, named.info), named


async def get_mesh_info(request: Request, ctx: ServerContext) -> Response:
    """The mesh directory's ``info``: ``neuroglancer_multilod_draco``, unsharded."""
    await small_read(ctx, lambda: labels_named(request, ctx))
    body = json.dumps(mesh_info()).encode()
    return view_answer(request, body, JSON, committed=False)


def cached_mesh(
    request: Request,
    ctx: ServerContext,
    body: int,
    view: str,
    make: Callable[[LabelInstance, LabelIndex], bytes],
) -> tuple[bytes, tuple[Hashable, ...], bool]:
    """The ``view`` files of the body (``make(instance, index)`` packs them), from the view
    cache or made now (blocking); their cache key, and whether they are immutable."""
    instance, named = labels_named(request, ctx)
    index, digest = index_digest(instance, body)
    if not named.committed:  # a write may move voxels and leave the index as it was
        digest += voxels_digest(instance, index, _MASKS)
    # the voxel size (in the key: not versioned) for the nm coordinates
    key = named.cache_key(view, body, digest)
    found, packed = ctx.view_cache.get(key)
    MESH_STATS.count(hit=found)
    if packed is None:
        # neuroglancer asks for the manifest, then the data, and several viewers may
        # ask at once: one of them makes the mesh, the others wait for it
        packed = _MAKING.run(key, lambda: make(instance, index))
        ctx.view_cache.put(key, packed)
    assert packed is not None  # a made mesh always has files (NotFound otherwise)
    return packed, key, named.immutable


async def get_mesh_file(request: Request, ctx: ServerContext) -> Response:
    """``{body}.index`` (the manifest) or ``{body}`` (its fragments): made on the first
    request for the body at this version of it, then served from the view cache."""
    name: str = request.path_params["mesh_file"]
    manifest = name.endswith(_INDEX_SUFFIX)
    body = parse_label(name.removesuffix(_INDEX_SUFFIX), "body")

    def run() -> tuple[bytes, str, bool]:
        packed, key, immutable = cached_mesh(
            request,
            ctx,
            body,
            "precomputed_mesh",
            lambda instance, index: body_mesh(instance, body, index).pack(),
        )
        files = BodyMesh.unpack(packed)
        tag = key_etag(key, manifest)
        return (files.manifest if manifest else files.data), tag, immutable

    data, etag, committed = await small_read(ctx, run, small=False)
    return view_answer(request, data, OCTET, committed=committed, etag=etag)


def precomputed_mesh_routes(bind: Binder) -> list[BaseRoute]:
    """The mesh routes, under the unsharded and the sharded body views (before their
    ``{scale_key}/{chunk}`` and ``{scale_key}/{shard}``, which would take ``mesh/info``)."""
    info, files = bind(get_mesh_info), bind(get_mesh_file)
    routes: list[BaseRoute] = []
    for base in (MESH, SHARDED_MESH):
        routes += [
            ApiRoute(f"{base}/info", info, methods=["GET"]),
            ApiRoute(f"{base}/{{mesh_file}}", files, methods=["GET"], api=Api(answers=(OCTET,))),
        ]
    return routes
