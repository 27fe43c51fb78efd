"""The numpy API's tests run on every place a hub can live: memory, LMDB, S3 (the real
SeaweedFS of the session) and a real ``voxhub serve`` (DEVELOPERS.md: a feature is not
done until it passes on all four)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import voxhub
from voxhub.client import EmbeddedHub, Hub
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.server import ServerProcess


@pytest.fixture(params=["memory", "lmdb", "s3", "remote"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    if request.param == "remote":  # the same API through a real server process
        server: ServerProcess = request.getfixturevalue("voxhub_server")
        with voxhub.open(server.url) as remote:
            yield remote
        return
    if request.param == "s3":
        weed: SeaweedServer = request.getfixturevalue("seaweed")
        with EmbeddedHub(weed.open_store(f"api-{uuid.uuid4().hex}")) as h:
            yield h
        return
    location = "memory://" if request.param == "memory" else str(tmp_path / "store")
    with voxhub.open(location) as h:
        yield h
