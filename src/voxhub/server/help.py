"""Help served from the code: ``/api/help`` (HTML) and ``/api/help/{type}`` (text/plain).

Route lists come from the live route table and each handler's docstring, so the help
cannot drift from what the server does. :data:`DIFFERENCES` lists every deliberate
difference from DVID.
"""

from __future__ import annotations

import html
import inspect

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from voxhub.datatypes.registry import Datatype, datatype_for, typenames
from voxhub.datatypes.wire.api import TEXT, Api, ApiRoute
from voxhub.errors import CapabilityError, InvalidRequest, NotFound
from voxhub.server.dispatch import datatype_routes

DIFFERENCES = (
    "Unknown repo, node (UUID, prefix or branch) or data instance: 404, not 400.",
    "Writes to a committed node (data, note, log, new instances): 409, not 400.",
    "Merge conflicts are found when the merge is requested: POST merge answers 409 with "
    'the report {"error", "conflicts": {instance: [keys]}} instead of failing later reads.',
    "POST resolve merges with the earlier parent winning every conflict, in all instances; "
    "'data' is checked (404 for an unknown instance) but not needed to pick them.",
    "A request or cutout over the server limit: 413, and the message names the limit.",
    'Any other bad request: 400 with a JSON body {"error": message, "type": class} '
    "naming the bad field, instead of a text body.",
    "POST tag creates a committed child on branch 'tag-<tag>' whose note records the tag; "
    "DVID names the child by the tag, but UUIDs here are always 32 hex digits. The answer is "
    '{"child": uuid, "tag": tag, "branch": "tag-<tag>"}; ":tag-<tag>" resolves to it.',
    "Instance settings may be numbers as well as strings (DVID takes strings only). As in "
    "DVID, settings a type does not use (CountLabels, Tags, Checksum, ...) are ignored; they "
    "are listed in the answer and in info's Base.IgnoredSettings (so a Tags setting is not "
    "kept: POST tags sets them).",
    "Image instances report non-null extents: [0,0,0] before anything is written. Instance "
    "info's Base has no KVStore or LogStore (storage belongs to the store, not the instance).",
    "DAG node JSON keeps DVID's Branch \"\" for master; node refs accept 'master' and ':'.",
    "Every mutation made over HTTP adds a log line '<time> u=<user> app=<app>: <what>' to "
    "the node it made or changed (the repo log for new instances, tags and resolution).",
    "A trailing slash is tolerated on every /api path, without a redirect.",
    "voxhub's own routes under /api/voxhub/ return the stored repo, node and instance "
    "records as JSON (for the remote numpy client); image instances add GET extents "
    "(?scale=, null before any write) and POST pyramid (recompute every level).",
    "?roi=<name> masks image and label reads voxel by voxel (404 if no such roi); POST raw "
    "?roi= writes only the voxels inside it (see /api/help/roi).",
    "Authentication is voxhub's (Bearer tokens or OpenID Connect, roles per repo), not "
    "DVID's admintoken; no Kafka, blobstore or throttling (throttle= is ignored).",
)


def describe_routes(routes: list[BaseRoute], prefix: str = "") -> list[str]:
    """``METHOD path — first docstring line`` for each route."""
    lines = []
    for route in routes:
        if not isinstance(route, Route):
            continue
        methods = sorted((route.methods or {"GET"}) - {"HEAD"}) or ["HEAD"]
        doc = inspect.getdoc(route.endpoint) or ""
        summary = doc.splitlines()[0] if doc else ""
        lines.append(f"{'|'.join(methods):<6} {prefix}{route.path}  {summary}".rstrip())
    return lines


def type_help(typename: str) -> str:
    """The text/plain help of a datatype."""
    try:
        datatype = datatype_for(typename)
    except InvalidRequest as e:
        raise NotFound(str(e)) from None
    try:
        routes = datatype_routes(datatype)
    except CapabilityError:
        routes = []
    parts = [
        f"{typename} ({datatype.name})",
        "",
        datatype.summary,
        "",
        "Endpoints (under /api/node/{uuid}/{name}):",
        *(f"  {line}" for line in describe_routes(routes)),
        "",
        *_level_help(datatype),
        *datatype.dvid_differences.help_lines(typename),
        "",
        "Differences from DVID (every type):",
        *(f"  - {d}" for d in DIFFERENCES),
        "",
    ]
    return "\n".join(parts)


def _level_help(datatype: Datatype) -> list[str]:
    """The routes of DVID's pyramid-level names, for datatypes that serve them."""
    if datatype.level_routes is None:
        return []
    try:
        routes = datatype.level_routes()
    except ModuleNotFoundError:
        return []
    return [
        "Pyramid levels as DVID names them (what neuroglancer's dvid:// source reads):",
        "level N (1..the instance's top level) of instance {name} is also served as the",
        "read-only instance {name}_N, listed in /api/repos/info with Extended.PyramidLevelOf;",
        "writes to it are refused (405) naming the base instance. Endpoints (under",
        "/api/node/{uuid}/{name}_N):",
        *(f"  {line}" for line in describe_routes(routes)),
        "",
    ]


async def help_index(request: Request) -> Response:
    """HTML overview: the types, the server routes, the differences from DVID."""
    types = "".join(
        f'<li><a href="/api/help/{html.escape(t)}">{html.escape(t)}</a></li>' for t in typenames()
    )
    routes = html.escape("\n".join(describe_routes(list(request.app.routes))))
    diffs = "".join(f"<li>{html.escape(d)}</li>" for d in DIFFERENCES)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>voxhub API</title></head>"
        "<body><h1>voxhub: a DVID-compatible HTTP API</h1>"
        f"<h2>Data types</h2><ul>{types}</ul>"
        f"<h2>Routes</h2><pre>{routes}</pre>"
        f"<h2>Differences from DVID</h2><ul>{diffs}</ul>"
        '<p>OpenAPI: <a href="/api/openapi.json">/api/openapi.json</a></p></body></html>'
    )
    return HTMLResponse(page)


async def help_type(request: Request) -> Response:
    """text/plain help for one datatype (404 if unknown)."""
    return PlainTextResponse(type_help(request.path_params["typename"]))


def help_routes() -> list[BaseRoute]:
    """The help routes."""
    text = Api(answers=(TEXT,))
    return [
        ApiRoute("/api/help", help_index, methods=["GET"], api=text),
        ApiRoute("/api/help/{typename}", help_type, methods=["GET"], api=text),
    ]
