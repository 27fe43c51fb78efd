"""DVID's ``POST resolution``: set the voxel size of an image or label instance.

The body is DVID's ``[x, y, z]`` (positive numbers, in the instance's ``VoxelUnits``).
Like DVID, the voxel size is instance-wide metadata, not versioned: it applies at every
node of the repo, committed ones included, and changes no voxel. ``info``'s
``VoxelSize``, ``isotropic``, ``arb`` and the ``<name>_N`` levels follow it. The change is
one catalog transaction; the caller's ``u=``/``app=`` line goes to the repo log.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.wire.api import JSON, Api, ApiRoute
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.errors import InvalidRequest
from voxhub.versioning import node_log

_XYZ = {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 3}
RESOLUTION_API = Api(
    body=(JSON,), body_schema=_XYZ | {"maxItems": 3}, body_required=True, answers=()
)


def _xyz(value: Any) -> list[float]:
    if not isinstance(value, list) or len(value) != 3:
        raise InvalidRequest(f"resolution must be a JSON list [x, y, z], got {value!r}")
    return value


async def post_resolution(request: Request, ctx: InstanceContext) -> Response:
    """Set the voxel size ``[x, y, z]`` (instance-wide, as in DVID; voxels unchanged)."""
    x, y, z = await read_json(request, "resolution body", _xyz)
    info = ctx.instance

    def change(config: dict[str, Any]) -> dict[str, Any]:
        new = {**config, "voxel_size": [float(z), float(y), float(x)]}
        ImageConfig.from_json(new)  # a bad size is a 400 before anything is written
        return new

    def run() -> None:
        catalog = ctx.access.catalog
        catalog.update_instance_config(info.repo, info.name, change)
        what = f"set resolution of {info.name} to {x},{y},{z}"
        catalog.append_repo_log(info.repo, [node_log.stamp(ctx.caller.user, ctx.caller.app, what)])

    await run_in_threadpool(run)
    return Response(b"")


def resolution_route() -> ApiRoute:
    """``POST /resolution`` (for the image and label route tables)."""
    return instance_route("/resolution", post_resolution, methods=["POST"], api=RESOLUTION_API)
