"""One real ``voxhub serve`` for the conformance package, driven the way DVID clients drive DVID.

The server is the installed CLI on a loopback port over a temporary LMDB store, started
once for the package and stopped at its end. Requests go through a ``requests.Session``
whose default query is ``u=<user>&app=<app>``, as neuclease's session sends on every call,
and JSON bodies ride on GET where DVID reads them (``mapping``, ``labels``, ``sizes``).

Each case names the routes it is the conformance case of (``@pytest.mark.covers``), and
an autouse fixture checks it really called them (every request is recorded as
``(typename, METHOD, path below the instance)``); ``test_route_coverage.py`` walks
``/api/help/{type}`` and fails if a listed route has no case. The markers, not the calls,
are what it reads, so it works on any subset of xdist workers.

The data every read test shares, written once (:func:`dvid`):

* repo ``conformance``; node ``committed`` (root, committed after the writes) and its open
  child ``node``;
* labelmap ``seg`` (64³ blocks, ``MaxDownresLevel`` 1) holding :data:`SEG` at the origin
  (posted as ``raw``, block (0,0,0)) and a solid block of supervoxel 4 at block (1,0,0)
  (posted as a gzip'd native block stream); supervoxels 1 and 2 merged into body 1 at the
  root, before the commit;
* uint8blk ``em`` (32³ blocks, ``MaxDownresLevel`` 1) holding :data:`EM` at the origin;
* roi ``regions`` (16³ blocks) holding :data:`REGIONS`.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import requests

from voxhub.testing.server import ServerProcess, start_server

from . import dvid_wire

USER, APP = "ann", "neu3-conformance"

#: supervoxels of block (0,0,0) of ``seg``, (z, y, x): 1 at x < 32, 2 at x >= 32 and
#: y < 32, 3 at x >= 32 and y >= 32, 5 in one 8³ corner cube at x, y, z >= 56 (so
#: native blocks hold several labels per sub-block and per block)
SEG = np.zeros((64, 64, 64), np.uint64)
SEG[:, :, :32] = 1
SEG[:, :32, 32:] = 2
SEG[:, 32:, 32:] = 3
SEG[56:, 56:, 56:] = 5
SEG[0, 0, 1] = 6  # one voxel: a sub-block with two labels
SOLID = 4  # supervoxel of the solid block (1, 0, 0)
#: bodies after the root's merge of 2 into 1
BODIES = {1: 1, 2: 1, 3: 3, 4: 4, 5: 5, 6: 6}

#: the keys of DVID's instance JSON (datastore.Data and imageblk.Properties) clients read
DVID_BASE_KEYS = {"TypeName", "TypeURL", "TypeVersion", "DataUUID", "Name", "RepoUUID"}
DVID_BASE_KEYS |= {"Compression", "Checksum", "Syncs", "Versioned", "Tags"}
DVID_EXTENDED_KEYS = {"Values", "Interpolable", "BlockSize", "VoxelSize", "VoxelUnits"}
DVID_EXTENDED_KEYS |= {"MinPoint", "MaxPoint", "MinIndex", "MaxIndex", "Background"}

#: spans [z, y, x0, x1] of the roi ``regions`` (16³ blocks: not the volumes' block size)
REGIONS = [[0, 0, 0, 1], [1, 1, 2, 3], [3, 3, 0, 0], [3, 3, 1, 2]]

EM = (np.arange(64 * 64 * 64, dtype=np.uint32) % 251).astype(np.uint8).reshape(64, 64, 64)


@dataclass
class Dvid:
    """A DVID client's view of the server: a session with ``u=``/``app=`` and the fixture data."""

    url: str
    session: requests.Session
    repo: str = ""
    node: str = ""  # the open node
    committed: str = ""
    typenames: dict[str, str] = field(default_factory=dict)  # instance -> typename
    calls: set[tuple[str, str, str]] = field(default_factory=set)

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        """``METHOD {url}{path}`` with the session's ``u=``/``app=``; recorded for coverage."""
        reply = self.session.request(method, self.url + path, timeout=30, **kw)
        found = re.match(r"/api/node/[^/]+/([^/]+)(/.*)", path.split("?")[0])
        if found and found.group(1) in self.typenames:
            self.calls.add((self.typenames[found.group(1)], method, found.group(2)))
        return reply

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def head(self, path: str, **kw: Any) -> requests.Response:
        return self.request("HEAD", path, **kw)

    def at(self, instance: str, rest: str, node: str | None = None) -> str:
        """``/api/node/{node}/{instance}/{rest}`` (the open node by default)."""
        return f"/api/node/{node or self.node}/{instance}/{rest}"

    def ok(self, method: str, path: str, **kw: Any) -> requests.Response:
        reply = self.request(method, path, **kw)
        assert reply.status_code == 200, (method, path, reply.status_code, reply.text[:300])
        return reply

    def json(self, path: str, **kw: Any) -> Any:
        return self.ok("GET", path, **kw).json()

    def create(
        self, instance: str, typename: str, node: str | None = None, **settings: str
    ) -> None:
        """``POST /api/repo/{uuid}/instance`` with string settings, as neuclease sends them."""
        body = {"typename": typename, "dataname": instance, **settings}
        self.ok("POST", f"/api/repo/{node or self.node}/instance", json=body)
        self.typenames[instance] = typename

    def labelmap(self, instance: str, node: str | None = None, **settings: str) -> None:
        """A labelmap with neuclease's ``create_labelmap_instance`` settings."""
        self.create(
            instance,
            "labelmap",
            node,
            **{
                "versioned": "true",
                "BlockSize": "64,64,64",
                "VoxelSize": "8.0,8.0,8.0",
                "VoxelUnits": "nanometers,nanometers,nanometers",
                "IndexedLabels": "true",
                "CountLabels": "true",
                "MaxDownresLevel": "1",
                **settings,
            },
        )


def label_raw(
    dvid: Dvid,
    instance: str,
    volume: np.ndarray,
    offset: tuple[int, int, int],
    node: str | None = None,
) -> None:
    """``POST raw/0_1_2/{size}/{offset}`` of a ``(z, y, x)`` uint64 volume."""
    size = "_".join(map(str, volume.shape[::-1]))
    at = "_".join(map(str, offset))
    url = dvid.at(instance, f"raw/0_1_2/{size}/{at}", node)
    dvid.ok("POST", url, data=volume.astype("<u8").tobytes())


def post_solid_blocks(dvid: Dvid, instance: str, blocks: dict[tuple[int, int, int], int]) -> None:
    """``POST blocks`` of gzip'd solid native blocks ``{(bx, by, bz): label}``."""
    records = [(xyz, gzip.compress(dvid_wire.solid_block(v))) for xyz, v in blocks.items()]
    dvid.ok("POST", dvid.at(instance, "blocks"), data=dvid_wire.stream(records))


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("conformance") / "store")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def dvid(server: ServerProcess) -> Iterator[Dvid]:
    session = requests.Session()
    session.params = {"u": USER, "app": APP}
    client = Dvid(server.url, session)
    root = client.ok("POST", "/api/repos", json={"alias": "conformance"}).json()["root"]
    client.repo = client.node = root
    client.labelmap("seg")
    label_raw(client, "seg", SEG, (0, 0, 0))
    post_solid_blocks(client, "seg", {(1, 0, 0): SOLID})
    client.ok("POST", client.at("seg", "merge"), json=[1, 2])
    client.create("em", "uint8blk", BlockSize="32,32,32", MaxDownresLevel="1")
    client.ok("POST", client.at("em", "raw/0_1_2/64_64_64/0_0_0"), data=EM.tobytes())
    client.ok("POST", client.at("em", "pyramid"))
    client.create("regions", "roi", BlockSize="16,16,16")
    client.ok("POST", client.at("regions", "roi"), json=REGIONS)
    client.create("files", "keyvalue")
    client.ok("POST", client.at("files", "key/readme"), data=b"hello")
    client.ok("POST", f"/api/node/{root}/commit", json={"note": "ingested", "log": ["ingest"]})
    client.committed = root
    client.node = client.ok(
        "POST", f"/api/node/{root}/newversion", json={"note": "proofread"}
    ).json()["child"]
    yield client
    session.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "covers(typename, *routes): the conformance case of these routes ('METHOD /path' as "
        "/api/help/{typename} lists them); checked: the test must call each of them",
    )


def covered(item: pytest.Item) -> set[tuple[str, str, str]]:
    """``(typename, METHOD, /path)`` the ``covers`` markers of a test declare."""
    return {
        (mark.args[0], *route.split(" ", 1))
        for mark in item.iter_markers("covers")
        for route in mark.args[1:]
    }  # type: ignore[misc]


def called(dvid: Dvid, typename: str, method: str, template: str) -> bool:
    """Whether ``dvid`` made a ``method`` request matching the route ``template``."""
    pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
    return any(t == typename and m == method and pattern.match(p) for t, m, p in dvid.calls)


@pytest.fixture(autouse=True)
def _calls_what_it_covers(request: pytest.FixtureRequest, dvid: Dvid) -> Iterator[None]:
    """A test marked ``covers`` must really call each route it names (so the coverage
    check, which reads the markers, cannot be satisfied by a marker alone)."""
    dvid.calls.clear()
    yield
    missing = [r for r in sorted(covered(request.node)) if not called(dvid, *r)]
    assert not missing, f"{request.node.name} is marked as covering {missing} but never calls them"
