"""POSTs that write nothing (DVID's ``IsMutationRequest`` exceptions, e.g. neuronjson
``query``) need only the read role; every other POST to an instance needs write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .auth_env import AuthEnv, open_auth_env


@pytest.fixture
def auth_env() -> Iterator[AuthEnv]:
    with open_auth_env() as env:
        yield env


def test_a_reader_may_post_a_query_but_not_a_document(auth_env: AuthEnv) -> None:
    env, u = auth_env, auth_env.uuid
    env.root.create_neuronjson("neurons", user="writer")[5] = {"type": "KC"}
    base = f"/api/node/{u}/neurons"

    def post(user: str | None, rest: str, body: object) -> int:
        reply = env.client.post(f"{base}/{rest}", json=body, headers=env.as_user(user))
        return reply.status_code

    assert post("reader", "query?onlyid=true", {"type": "KC"}) == 200
    assert post("reader", "key/6", {"type": "MBON"}) == 403
    assert post("writer", "key/6", {"type": "MBON"}) == 200
    assert post("outsider", "query", {"type": "KC"}) == 403
    assert post(None, "query", {"type": "KC"}) == 401
    assert post("reader", "keyvalues?json=true", {"7": {}}) == 403
    assert (
        env.client.post(
            f"/api/node/{u}/nosuch/query", json={}, headers=env.as_user("outsider")
        ).status_code
        == 403
    )  # no role: not even told whether the instance exists
    assert env.root.neuronjson("neurons").keys() == [5, 6]


def test_a_reader_may_post_labelsz_counts_but_not_reload(auth_env: AuthEnv) -> None:
    env, u = auth_env, auth_env.uuid
    env.root.create_labelsz("sizes")
    base = f"/api/node/{u}/sizes"

    def post(user: str, rest: str, body: object = None) -> int:
        return env.client.post(f"{base}/{rest}", json=body, headers=env.as_user(user)).status_code

    assert post("reader", "counts/PreSyn", [1, 2]) == 200
    assert post("outsider", "counts/PreSyn", [1, 2]) == 403
    assert post("reader", "reload") == 403
    assert post("writer", "reload") == 200
