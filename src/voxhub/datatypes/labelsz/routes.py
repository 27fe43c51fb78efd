"""HTTP routes of labelsz instances (DVID's ``labelsz``), relative to the instance.

``count/{label}/{kind}`` → ``{"Label": L, "<kind>": n}``; ``counts/{kind}`` (GET, as
DVID, or POST, with a JSON list of labels as the body) → a list of those;
``top/{n}/{kind}`` and ``threshold/{threshold}/{kind}?offset=&n=`` → ``[{"Label": L,
"Size": n}, ...]`` (DVID's key is ``Size`` there) by count descending, then label;
``reload`` recounts at the node; ``info``; ``sync`` is every follower's
(:mod:`voxhub.server.routes_sync`). What differs from DVID: :mod:`.dvid_differences`.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.labelsz.dvid_info import labelsz_info_json
from voxhub.datatypes.labelsz.instance import THRESHOLD_PAGE, LabelszInstance, open_labelsz
from voxhub.datatypes.labelsz.keys import kind_code
from voxhub.datatypes.wire.api import JSON, UINT64, Api, Param
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.numbers import parse_int, parse_uint64
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest

_UINT32_MAX = 2**32 - 1
_LABELS = {"type": "array", "items": UINT64}


def _open(ctx: InstanceContext) -> LabelszInstance:
    return open_labelsz(ctx.access, ctx.node_uuid, ctx.instance)


def _kind(request: Request) -> str:
    kind: str = request.path_params["kind"]
    kind_code(kind)  # 400 naming the known kinds
    return kind


def _ranked(pairs: list[tuple[int, int]]) -> list[dict[str, int]]:
    return [{"Label": body, "Size": count} for body, count in pairs]


async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """DVID's instance info: ``Base`` and ``Extended`` (the static ``StaticROI``)."""
    return JSONResponse(labelsz_info_json(ctx.access, ctx.node_uuid, ctx.instance))


async def get_count(request: Request, ctx: InstanceContext) -> Response:
    """The count of one label: ``{"Label": L, "<kind>": n}``."""
    label = parse_uint64(request.path_params["label"], "label")
    kind = _kind(request)
    n = await small_read(ctx, lambda: _open(ctx).count(label, kind))
    return JSONResponse({"Label": label, kind: n})


def _labels(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise InvalidRequest("counts body must be a JSON list of labels, e.g. [188, 23]")
    for i, label in enumerate(value):
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < 2**64:
            raise InvalidRequest(f"counts label {i} must be a uint64 label, got {label!r}")
    return value


async def get_counts(request: Request, ctx: InstanceContext) -> Response:
    """The count of each label of the JSON list in the body, in order."""
    kind = _kind(request)
    labels = await read_json(request, "counts body", _labels)
    counts = await run_in_threadpool(lambda: _open(ctx).counts(labels, kind))
    return JSONResponse([{"Label": b, kind: n} for b, n in zip(labels, counts, strict=True)])


async def get_top(request: Request, ctx: InstanceContext) -> Response:
    """The ``n`` labels with the most elements of the kind: ``[{"Label", "Size"}, ...]``."""
    n = parse_int(request.path_params["n"], "N", 0, _UINT32_MAX)
    kind = _kind(request)
    return JSONResponse(_ranked(await small_read(ctx, lambda: _open(ctx).top(n, kind))))


async def get_threshold(request: Request, ctx: InstanceContext) -> Response:
    """Labels with at least ``threshold`` elements of the kind, ranked (``?offset=&n=``).

    From rank ``offset``, at most ``n`` (DVID's page of 10,000 when ``n`` is absent or 0).
    """
    least = parse_int(request.path_params["threshold"], "threshold", 0, _UINT32_MAX)
    kind = _kind(request)
    query = request.query_params
    offset = parse_int(query.get("offset", "0") or "0", "offset", 0, 2**62)
    n = parse_int(query.get("n", "0") or "0", "n", 0, 2**62) or THRESHOLD_PAGE

    def run() -> list[tuple[int, int]]:
        return _open(ctx).threshold(least, kind, offset=offset, n=n)

    return JSONResponse(_ranked(await run_in_threadpool(run)))


async def post_reload(request: Request, ctx: InstanceContext) -> Response:
    """Recount every body at this node from the synced annotation, in one transaction."""
    await run_in_threadpool(lambda: _open(ctx).reload())  # 409 on a committed node
    return Response(b"")


def labelsz_routes() -> list[BaseRoute]:
    """The routes of one labelsz instance."""
    get = ["GET"]
    labels = Api(body=(JSON,), body_schema=_LABELS, body_required=True)
    page = (
        Param("offset", {"type": "integer", "minimum": 0}, "the first rank answered"),
        Param("n", {"type": "integer", "minimum": 0}, "how many (0: DVID's 10,000)"),
    )
    return [
        instance_route("/info", get_info, methods=get),
        instance_route("/count/{label}/{kind}", get_count, methods=get),
        instance_route("/counts/{kind}", get_counts, methods=["GET", "POST"], api=labels),
        instance_route("/top/{n}/{kind}", get_top, methods=get),
        instance_route(
            "/threshold/{threshold}/{kind}", get_threshold, methods=get, api=Api(query=page)
        ),
        instance_route("/reload", post_reload, methods=["POST"], api=Api(answers=())),
    ]
