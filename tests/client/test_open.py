"""``voxhub.open(location, mode)`` on memory, LMDB, S3 and a real ``voxhub serve``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest

import voxhub
from voxhub.client import EmbeddedHub, Hub
from voxhub.errors import Conflict, InvalidRequest, NotFound, ReadOnlyError
from voxhub.storage import MemoryStore
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.server import ServerProcess


@dataclass
class Place:
    """Where a hub lives: ``reopen(mode)`` opens the store that ``hub`` wrote to."""

    kind: str
    location: str
    hub: Hub
    reopen: Callable[[str], Hub]
    missing: str | None  # a location holding no store (None: a server always exists)


def s3_url(weed: SeaweedServer, prefix: str) -> str:
    query = {
        "endpoint": weed.endpoint,
        "access_key_id": weed.access_key,
        "secret_access_key": weed.secret_key,
    }
    return f"s3://{weed.bucket}/{prefix}?{urlencode(query)}"


@pytest.fixture(params=["memory", "lmdb", "s3", "remote"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    kind = request.param
    if kind == "memory":  # memory:// is new each time: share the store object instead
        store = MemoryStore()

        def reopen(mode: str) -> Hub:
            return EmbeddedHub(store, read_only=mode == "r")

        yield Place(kind, "memory://", EmbeddedHub(store), reopen, "memory://")
        return
    if kind == "remote":
        server: ServerProcess = request.getfixturevalue("voxhub_server")
        location, missing = server.url, None
    elif kind == "s3":
        weed: SeaweedServer = request.getfixturevalue("seaweed")
        location = s3_url(weed, f"open-{uuid.uuid4().hex}")
        missing = s3_url(weed, f"missing-{uuid.uuid4().hex}")
    else:
        location, missing = str(tmp_path / "store"), str(tmp_path / "missing")
    opened: list[Hub] = []

    def reopen_location(mode: str) -> Hub:
        hub = voxhub.open(location, mode=mode)  # type: ignore[arg-type]
        opened.append(hub)
        return hub

    with voxhub.open(location) as hub:
        yield Place(kind, location, hub, reopen_location, missing)
    for other in opened:
        other.close()


def test_mode_r_reads_and_refuses_every_write(place: Place) -> None:
    repo = place.hub.create_repo(f"ro-{uuid.uuid4().hex[:8]}")
    vol = repo.master.create_volume("em", "uint8", block_shape=(8, 8, 8))
    vol[0:4, 0:4, 0:4] = 3
    lv = repo.master.create_labels("seg", block_shape=(8, 8, 8))
    lv[0:2, 0:2, 0:2] = np.array([1, 2], np.uint64)
    reader = place.reopen("r")
    node = reader.node(repo.master.uuid)
    ro_vol, ro_lv = node.volume("em"), node.labels("seg")
    assert (ro_vol[...] == 3).all()
    assert ro_vol.shape == (4, 4, 4)
    assert ro_lv.size(1) == 4
    writes: list[Callable[[], object]] = [
        lambda: reader.create_repo("nope"),
        lambda: ro_vol.__setitem__((0, 0, 0), 9),
        lambda: ro_vol.write((0, 0, 0), np.ones((1, 1, 1), np.uint8)),
        lambda: ro_lv.__setitem__((0, 0, 0), 5),
        lambda: ro_lv.merge(1, [2]),
        lambda: node.create_volume("more", "uint8"),
        lambda: node.commit("no"),
        lambda: node.append_log("no"),
        lambda: reader.repo(repo.root).update(description="no"),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError, match="mode='r'"):
            write()
    assert not node.locked
    assert (vol[...] == 3).all()  # nothing changed
    assert lv.mutations() == []
    writer = place.reopen("r+")  # r+ and a write
    writer.node(repo.master.uuid).volume("em")[0, 0, 0] = 7
    assert vol[0, 0, 0] == 7


def test_a_missing_store_is_not_created_by_r_or_r_plus(place: Place, tmp_path: Path) -> None:
    if place.missing is None:  # a server exists or is unreachable: nothing to create
        for mode in ("w", "w-"):
            with pytest.raises(InvalidRequest, match="cannot create or wipe"):
                voxhub.open(place.location, mode=mode)
        return
    for mode in ("r", "r+"):
        with pytest.raises(NotFound, match=r"nothing to open|no voxhub store"):
            voxhub.open(place.missing, mode=mode)  # type: ignore[arg-type]
    if place.kind == "lmdb":
        assert not Path(place.missing).exists()  # refused before anything was made
    with voxhub.open(place.missing, mode="w-") as created:
        created.create_repo("new")
    if place.kind != "memory":
        with voxhub.open(place.missing, mode="r") as again:
            assert [r.alias for r in again.repos()] == ["new"]


def test_w_minus_refuses_and_w_wipes_an_existing_store(place: Place) -> None:
    place.hub.create_repo("old")
    if place.kind == "remote":  # a client never wipes a server
        with pytest.raises(InvalidRequest, match="cannot create or wipe"):
            voxhub.open(place.location, mode="w")
        assert "old" in [r.alias for r in place.hub.repos()]
        return
    if place.kind == "memory":  # memory:// names a new store each time: nothing to refuse
        with voxhub.open(place.location, mode="w-") as new:
            assert new.repos() == []
        return
    with pytest.raises(Conflict, match="already exists"):
        place.reopen("w-")
    assert [r.alias for r in place.hub.repos()] == ["old"]
    fresh = place.reopen("w")
    assert fresh.repos() == []
    fresh.create_repo("new")
    assert [r.alias for r in place.reopen("r").repos()] == ["new"]


def test_locations_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="http://localhost:8000"):
        voxhub.open("localhost:8000")
    with pytest.raises(InvalidRequest, match=r"http://127\.0\.0\.1:8000/api"):
        voxhub.open("127.0.0.1:8000/api")
    assert not Path("127.0.0.1:8000").exists()
    with voxhub.open(str(tmp_path / "run:42")) as hub:  # a path, not a host: accepted
        hub.create_repo("colon")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    for mode in ("r", "a", "w"):
        with pytest.raises(InvalidRequest, match="not a voxhub store"):
            voxhub.open(str(foreign), mode=mode)  # type: ignore[arg-type]
    assert (foreign / "cat.jpg").read_bytes() == b"meow"  # never wiped
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidRequest, match="is a file"):
        voxhub.open(str(tmp_path / "file"))
    with pytest.raises(InvalidRequest, match="unknown mode"):
        voxhub.open("memory://", mode="x")  # type: ignore[arg-type]
    empty = tmp_path / "empty"
    empty.mkdir()
    with voxhub.open(str(empty)) as hub:  # an empty directory is a new store
        hub.create_repo("ok")


def test_the_public_names_are_importable_from_voxhub() -> None:
    from voxhub import (  # noqa: F401
        CleaveResult,
        EmbeddedHub,
        ImageConfig,
        LabelVolume,
        MergeResult,
        Mode,
        RemoteHub,
        RenumberResult,
        SplitResult,
        SupervoxelSplit,
    )

    assert set(voxhub.__all__) <= set(dir(voxhub)) | {"__version__"} | set(voxhub._LAZY)
    for name in voxhub.__all__:
        assert getattr(voxhub, name) is not None
