"""neuroglancer's legacy (single-resolution) precomputed meshes of a labelmap's bodies, for
tools that read only that format (older cloud-volume and igneous pipelines, scripts):
``/precomputed/{node}/{instance}/mesh_legacy/info`` (``neuroglancer_legacy_mesh``),
``.../mesh_legacy/{body}:0`` (the manifest, ``{"fragments": ["{body}:0:all"]}``) and
``.../mesh_legacy/{body}:0:all`` (the one fragment: uint32 vertex count, float32 vertices
``x, y, z`` in nm, uint32 triangle indices, all little-endian).

The fragment is the body's finest mesh as one closed triangle mesh (what
``labels.mesh(body)`` gives: node seams welded), made on request and cached exactly as the
multi-resolution files (:func:`~voxhub.server.precomputed_mesh.cached_mesh`: per node,
body, label index and the body's own voxels). The labelmap's ``info`` keeps naming the
multi-resolution ``mesh`` directory; a client reads this one by naming it (cloud-volume's
``mesh_dir="mesh_legacy"``, or ``precomputed://…/mesh_legacy`` as a neuroglancer mesh
source).
"""

from __future__ import annotations

import json

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.meshes.body import Triangles, body_triangles, index_digest
from voxhub.datatypes.wire.api import JSON, OCTET, Api, ApiRoute
from voxhub.datatypes.wire.numbers import parse_label
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest
from voxhub.server.context import Binder, ServerContext
from voxhub.server.precomputed_mesh import cached_mesh, labels_named
from voxhub.server.view_answer import key_etag, view_answer

LEGACY_MESH = "/precomputed/{uuid}/{instance}/mesh_legacy"
_FRAGMENT = "all"  # the one fragment's name after "{body}:0:"


def encode_fragment(mesh: Triangles) -> bytes:
    """A legacy mesh fragment of ``mesh``.

    >>> t = Triangles(np.zeros((3, 3)), np.array([[0, 1, 2]], np.uint32))
    >>> len(encode_fragment(t)) == 4 + 3 * 12 + 12
    True
    """
    vertices = np.ascontiguousarray(mesh.vertices, dtype="<f4")
    count = np.array([len(vertices)], dtype="<u4")
    faces = np.ascontiguousarray(mesh.faces, dtype="<u4")
    return count.tobytes() + vertices.tobytes() + faces.tobytes()


def _body_and_part(name: str) -> tuple[int, bool]:
    """``{body}:0`` (the manifest: False) or ``{body}:0:all`` (the fragment: True)."""
    parts = name.split(":")
    if len(parts) not in (2, 3) or parts[1] != "0" or parts[2:] not in ([], [_FRAGMENT]):
        raise InvalidRequest(
            f"legacy mesh file {name!r}: expected '<body>:0' or '<body>:0:{_FRAGMENT}'"
        )
    return parse_label(parts[0], "body"), len(parts) == 3


async def get_legacy_info(request: Request, ctx: ServerContext) -> Response:
    """The directory's ``info``."""
    await small_read(ctx, lambda: labels_named(request, ctx))
    body = json.dumps({"@type": "neuroglancer_legacy_mesh"}).encode()
    return view_answer(request, body, JSON, committed=False)


async def get_legacy_file(request: Request, ctx: ServerContext) -> Response:
    """A body's manifest (404 if it has no voxels) or its fragment (made on request)."""
    body, fragment = _body_and_part(request.path_params["mesh_file"])

    def manifest() -> tuple[bytes, str | None, bool]:
        instance, named = labels_named(request, ctx)
        index_digest(instance, body)  # NotFound for a body without voxels
        listed = {"fragments": [f"{body}:0:{_FRAGMENT}"]}
        return json.dumps(listed).encode(), None, named.immutable

    def data() -> tuple[bytes, str | None, bool]:
        packed, key, immutable = cached_mesh(
            request,
            ctx,
            body,
            "precomputed_mesh_legacy",
            lambda instance, index: encode_fragment(body_triangles(instance, body, index)),
        )
        return packed, key_etag(key), immutable

    answer, etag, committed = await small_read(ctx, data if fragment else manifest, small=False)
    media = OCTET if fragment else JSON
    return view_answer(request, answer, media, committed=committed, etag=etag)


def legacy_mesh_routes(bind: Binder) -> list[BaseRoute]:
    """The legacy mesh routes (before the body view's ``{scale_key}/{chunk}``)."""
    return [
        ApiRoute(f"{LEGACY_MESH}/info", bind(get_legacy_info), methods=["GET"]),
        ApiRoute(
            f"{LEGACY_MESH}/{{mesh_file}}",
            bind(get_legacy_file),
            methods=["GET"],
            api=Api(answers=(JSON, OCTET)),
        ),
    ]
