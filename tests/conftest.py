"""Session-wide fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The shipped conformance suite asserts inside an installed module; rewrite its asserts
# so failures show the compared values.
pytest.register_assert_rewrite("voxhub.testing.store", "voxhub.testing.store_model")

from voxhub.testing.seaweed import SeaweedServer, start_seaweed  # noqa: E402
from voxhub.testing.server import ServerProcess, start_server  # noqa: E402


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS S3 server (``weed mini`` on free loopback ports) for the session."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def voxhub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``voxhub serve`` (2 workers, LMDB store) for the session's remote tests."""
    server = start_server(tmp_path_factory.mktemp("served") / "store", workers=2)
    try:
        yield server
    finally:
        server.stop()
