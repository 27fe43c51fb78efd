"""``GET /``: a plain HTML page listing repos, their version DAG and instances, with an
xy slice viewer (a z slider) for every uint8/uint16 volume at the master leaf.

Instances are summarised from their DVID JSON (each datatype's ``describe_instance``
hook), so the page needs no knowledge of particular datatypes."""

from __future__ import annotations

import json
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.wire.api import Api, ApiRoute
from voxhub.server.context import Binder, ServerContext
from voxhub.server.describe import repo_json, view_leaf
from voxhub.server.http import blocking
from voxhub.service import Service
from voxhub.service.auth import Viewer
from voxhub.versioning.catalog import RepoInfo

#: the largest slice side the page asks for
MAX_VIEW_SIDE = 1024
#: voxel types an xy slice PNG holds exactly (the viewer asks ``raw/xy/.../png``)
SLICE_DTYPES = ("uint8", "uint16")

_SCRIPT = """
<script>
function show(id) {
  const v = JSON.parse(document.getElementById(id + '-cfg').textContent);
  const z = document.getElementById(id + '-z').value;
  document.getElementById(id + '-zlabel').textContent = 'z = ' + z;
  document.getElementById(id + '-img').src =
    `/api/node/${v.uuid}/${v.name}/raw/xy/${v.w}_${v.h}/${v.x}_${v.y}_${z}/png`;
}
document.querySelectorAll('input[type=range]').forEach(s => show(s.dataset.view));
</script>
"""


def _viewer(view_id: str, uuid: str, name: str, lo: list[int], hi: list[int]) -> str:
    w = min(hi[0] - lo[0] + 1, MAX_VIEW_SIDE)
    h = min(hi[1] - lo[1] + 1, MAX_VIEW_SIDE)
    cfg = json.dumps({"uuid": uuid, "name": name, "w": w, "h": h, "x": lo[0], "y": lo[1]})
    zmid = (lo[2] + hi[2]) // 2
    return (
        f'<script type="application/json" id="{view_id}-cfg">{cfg}</script>'
        f'<div><input type="range" id="{view_id}-z" data-view="{view_id}" min="{lo[2]}" '
        f'max="{hi[2]}" value="{zmid}" oninput="show(\'{view_id}\')"> '
        f'<span id="{view_id}-zlabel"></span></div>'
        f'<img id="{view_id}-img" alt="xy slice of {escape(name)}" '
        f'style="max-width:{MAX_VIEW_SIDE}px;image-rendering:pixelated">'
    )


def _repo_section(service: Service, repo: RepoInfo, index: int, viewer: Viewer) -> str:
    visible = viewer.visible(repo)
    data = repo_json(service, repo, visible)
    leaf = view_leaf(service, repo, visible)
    by_vid = {n["VersionID"]: u for u, n in data["DAG"]["Nodes"].items()}
    rows = []
    for uuid, n in data["DAG"]["Nodes"].items():
        parents = ", ".join(by_vid.get(p, "?")[:8] for p in n["Parents"]) or "(root)"
        state = "committed" if n["Locked"] else "open"
        rows.append(
            f"<tr><td><code>{uuid}</code></td><td>{escape(n['Branch'] or 'master')}</td>"
            f"<td>{state}</td><td>{parents}</td><td>{escape(n['Note'])}</td></tr>"
        )
    instances = []
    for j, (name, inst) in enumerate(sorted(data["DataInstances"].items())):
        if "PyramidLevelOf" in inst["Extended"]:
            continue  # DVID's name for a level: shown as the instance's scales
        typename = inst["Base"]["TypeName"]
        item = f"<li><b>{escape(name)}</b> [{escape(typename)}]"
        ext = inst["Extended"]
        if {"Values", "MinPoint", "MaxPoint", "MaxDownresLevel"} <= ext.keys():  # voxels
            dtype = ext["Values"][0]["DataType"]
            item += (
                f" {dtype}, extents {ext['MinPoint']}..{ext['MaxPoint']}"
                f" (x,y,z), scales 0..{ext['MaxDownresLevel']}"
            )
            if dtype in SLICE_DTYPES:
                item += _viewer(f"v{index}-{j}", leaf, name, ext["MinPoint"], ext["MaxPoint"])
        instances.append(item + "</li>")
    return (
        f"<h2>{escape(repo.alias or '(no alias)')} <code>{repo.root}</code></h2>"
        f"<p>{escape(repo.description)}</p>"
        "<h3>Versions</h3><table border=1 cellpadding=3><tr><th>UUID</th><th>branch</th>"
        f"<th>state</th><th>parents</th><th>note</th></tr>{''.join(rows)}</table>"
        f"<h3>Instances (at master leaf <code>{leaf[:8]}</code>)</h3>"
        f"<ul>{''.join(instances) or '<li>none</li>'}</ul>"
    )


def _who(viewer: Viewer) -> str:
    """Who the page is for, and how to change that (with authentication on)."""
    user = viewer.principal.user
    if not user:
        return ' · <a href="/api/server/login">log in</a> (showing public versions)'
    return f" · logged in as {escape(user)}"


def home_page(service: Service, viewer: Viewer | None = None) -> str:
    """The whole page, with the repos and versions ``viewer`` may see."""
    viewer = viewer or Viewer()
    repos = viewer.repos(service.catalog.repos())
    sections = [_repo_section(service, r, i, viewer) for i, r in enumerate(repos)]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>voxhub</title></head><body>"
        '<h1>voxhub</h1><p><a href="/api/help">API help</a> · '
        '<a href="/api/openapi.json">OpenAPI</a>'
        + ("" if viewer.sees_all else _who(viewer))
        + "</p>"
        + ("".join(sections) or "<p>No repos yet: POST /api/repos to create one.</p>")
        + _SCRIPT
        + "</body></html>"
    )


async def home(request: Request, ctx: ServerContext) -> Response:
    """This page: repos, their version DAG and instances, with slice viewers."""
    return HTMLResponse(await blocking(home_page, ctx.service, ctx.viewer))


def home_routes(bind: Binder) -> list[BaseRoute]:
    """The home page route."""
    return [ApiRoute("/", bind(home), methods=["GET"], api=Api(answers=("text/html",)))]
