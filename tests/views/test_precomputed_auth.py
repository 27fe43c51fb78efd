"""The precomputed view is a read of the node it names: the same roles as the DVID API."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from tests.server.auth_env import AuthEnv, open_auth_env

from voxhub import Box

CHUNK = "1_1_1/0-8_0-8_0-8"  # gray: 8³ blocks, voxel size 1


@pytest.fixture
def auth_env() -> Iterator[AuthEnv]:
    with open_auth_env() as env:
        yield env


@pytest.mark.parametrize("whole_uuid", [False, True])  # a whole UUID's names are kept
@pytest.mark.parametrize(
    ("user", "status"), [(None, 401), ("outsider", 403), ("reader", 200), ("owner", 200)]
)
def test_reading_the_view_needs_a_read_role(
    auth_env: AuthEnv, user: str | None, status: int, whole_uuid: bool
) -> None:
    ref = auth_env.uuid if whole_uuid else auth_env.uuid[:8]
    base = f"/precomputed/{ref}/gray"
    # a chunk read by an owner first: what it resolved must not let anyone else in
    assert auth_env.client.get(f"{base}/{CHUNK}", headers=auth_env.as_user("owner")).is_success
    zarr = auth_env.client.get(f"/zarr/{ref}/gray/s0/c/0/0/0", headers=auth_env.as_user(user))
    assert zarr.status_code == status
    headers = auth_env.as_user(user)
    assert auth_env.client.get(f"{base}/info", headers=headers).status_code == status
    chunk = auth_env.client.get(f"{base}/{CHUNK}", headers=headers)
    assert chunk.status_code == status
    if status == 200:
        expected = auth_env.root.volume("gray").read(Box((0, 0, 0), (8, 8, 8)))
        assert np.array_equal(np.frombuffer(chunk.content, np.uint8).reshape(8, 8, 8), expected)
