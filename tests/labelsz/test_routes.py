"""labelsz routes through the real app: DVID's answers (keys, ``Size`` in rankings,
pages), creation settings (``Sync``, a static ``ROI``), and 400s naming what was wrong.
Counts are stored here from a stand-in annotation (:mod:`.fakes`); the annotation's own
sync is tested in ``test_synced.py``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub
from voxhub.datatypes.labelsz.recount import recount
from voxhub.server import create_app

from .fakes import FakeElements

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

#: body → elements: 7 and 9 tie on PreSyn, 3 has notes only
ELEMENTS = FakeElements(
    {
        7: [("PreSyn", (1, 1, 1)), ("PreSyn", (2, 2, 2)), ("PostSyn", (3, 3, 3))],
        9: [("PreSyn", (40, 1, 1)), ("PreSyn", (41, 1, 1)), ("Gap", (42, 1, 1))],
        3: [("Note", (5, 5, 5))],
        12: [("PreSyn", (6, 6, 6))],
    }
)


@dataclass
class App:
    client: TestClient
    hub: EmbeddedHub
    uuid: str

    def url(self, path: str, name: str = "sizes") -> str:
        return f"/api/node/{self.uuid}/{name}/{path}"

    def get(self, path: str, **kw: Any) -> Any:
        r = self.client.request("GET", self.url(path), **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def error(self, method: str, path: str, **kw: Any) -> tuple[int, str]:
        r = self.client.request(method, self.url(path), **kw)
        return r.status_code, r.json().get("error", "") if r.status_code >= 400 else ""


@pytest.fixture
def app() -> Iterator[App]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("sizes").master
    with TestClient(create_app(hub)) as client:
        body = {"typename": "labelsz", "dataname": "sizes"}
        assert client.post(f"/api/repo/{node.uuid}/instance", json=body).status_code == 200
        view = hub.catalog.view(node.uuid, "sizes")
        view.transact(lambda txn: recount(txn, ELEMENTS, ELEMENTS.bodies(), None))
        yield App(client, hub, node.uuid)
    hub.close()


def test_count_and_counts(app: App) -> None:
    assert app.get("count/7/PreSyn") == {"Label": 7, "PreSyn": 2}
    assert app.get("count/8/PreSyn") == {"Label": 8, "PreSyn": 0}
    assert app.get("count/9/AllSyn") == {"Label": 9, "AllSyn": 3}
    want = [{"Label": 9, "Gap": 1}, {"Label": 3, "Gap": 0}]
    assert app.get("counts/Gap", content=b"[9, 3]") == want  # DVID's GET with a body
    r = app.client.post(app.url("counts/Gap"), json=[9, 3])
    assert r.status_code == 200
    assert r.json() == want


def test_top_and_threshold_rank_by_count_then_label(app: App) -> None:
    ranked = [{"Label": 7, "Size": 2}, {"Label": 9, "Size": 2}, {"Label": 12, "Size": 1}]
    assert app.get("top/10/PreSyn") == ranked
    assert app.get("top/2/PreSyn") == ranked[:2]
    assert app.get("top/0/PreSyn") == []
    assert app.get("threshold/2/PreSyn") == ranked[:2]
    assert app.get("threshold/1/PreSyn", params={"offset": 1, "n": 1}) == ranked[1:2]
    assert app.get("threshold/0/PreSyn", params={"offset": 2}) == ranked[2:]
    assert app.get("top/5/Note") == [{"Label": 3, "Size": 1}]


@pytest.mark.parametrize(
    ("method", "path", "kw", "message"),
    [
        ("GET", "count/7/Synapse", {}, "unknown index type 'Synapse'"),
        ("GET", "top/3/Voxels", {}, "'Voxels' is not counted"),
        ("GET", "count/x7/PreSyn", {}, "label 'x7'"),
        ("GET", "count/18446744073709551616/PreSyn", {}, "label"),
        ("GET", "top/-1/PreSyn", {}, "N"),
        ("GET", "threshold/1/PreSyn?n=x", {}, "n 'x'"),
        ("GET", "threshold/1/PreSyn?offset=-3", {}, "offset"),
        ("GET", "counts/PreSyn", {"content": b"{bad"}, "counts body"),
        ("GET", "counts/PreSyn", {"content": b'{"a": 1}'}, "JSON list of labels"),
        ("POST", "counts/PreSyn", {"json": [1, -2]}, "label 1"),
    ],
)
def test_bad_requests_are_400_naming_what_was_wrong(
    app: App, method: str, path: str, kw: dict[str, Any], message: str
) -> None:
    status, error = app.error(method, path, **kw)
    assert status == 400
    assert message in error


def test_info_and_reload(app: App) -> None:
    base = app.get("info")["Base"]
    assert (base["TypeName"], base["Syncs"]) == ("labelsz", [])
    assert app.get("info")["Extended"] == {"StaticROI": ""}
    # nothing is synced: a reload recounts every body from no annotation
    assert app.client.post(app.url("reload")).status_code == 200
    assert app.get("top/10/AllSyn") == []


def test_a_committed_node_refuses_reload(app: App) -> None:
    assert app.client.post(f"/api/node/{app.uuid}/commit", json={}).status_code == 200
    assert app.error("POST", "reload")[0] == 409
    assert app.get("count/7/PreSyn") == {"Label": 7, "PreSyn": 2}


def test_an_roi_is_static_at_a_committed_version_and_live_otherwise(app: App) -> None:
    c, uuid = app.client, app.uuid
    assert (
        c.post(f"/api/repo/{uuid}/instance", json={"typename": "roi", "dataname": "r"}).status_code
        == 200
    )

    def create(name: str, roi: str) -> tuple[int, str]:
        body = {"typename": "labelsz", "dataname": name, "ROI": roi}
        r = c.post(f"/api/repo/{uuid}/instance", json=body)
        return r.status_code, r.json().get("error", "") if r.status_code >= 400 else ""

    assert create("bad", "r,") == (
        400,
        "setting 'ROI' must be '<roi name>' or '<roi name>,<uuid>', got 'r,'",
    )
    for name, roi in (("live1", "r"), ("live2", f"r,{uuid}")):  # a name, an open version
        assert create(name, roi) == (200, "")
        info = c.get(f"/api/node/{uuid}/{name}/info").json()
        assert info["Base"]["Syncs"] == ["r"]
        assert info["Extended"] == {"StaticROI": ""}
    assert c.post(f"/api/node/{uuid}/commit", json={}).status_code == 200
    child = c.post(f"/api/node/{uuid}/newversion", json={}).json()["child"]
    body = {"typename": "labelsz", "dataname": "a", "ROI": f"sizes,{uuid[:8]}"}
    r = c.post(f"/api/repo/{child}/instance", json=body)
    assert r.status_code == 400
    assert "is a labelsz, not an roi" in r.json()["error"]
    body["ROI"] = f"r,{uuid[:8]}"
    assert c.post(f"/api/repo/{child}/instance", json=body).status_code == 200
    info = c.get(f"/api/node/{child}/a/info").json()
    assert info["Extended"] == {"StaticROI": f"r,{uuid}"}  # the full UUID, stored
