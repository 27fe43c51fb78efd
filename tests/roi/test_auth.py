"""A point query is a read: a reader may POST ptquery, not POST or DELETE roi."""

from __future__ import annotations

from tests.server.auth_env import open_auth_env


def test_readers_query_points_but_do_not_change_the_roi() -> None:
    with open_auth_env() as env:
        env.root.create_roi("cells", block_size=8).set([[0, 0, 0, 1]])
        base = f"/api/node/{env.uuid}/cells"

        def post(user: str | None, rest: str, body: object) -> int:
            headers = env.as_user(user)
            return env.client.post(f"{base}/{rest}", headers=headers, json=body).status_code

        reader = env.client.post(f"{base}/ptquery", headers=env.as_user("reader"), json=[[9, 0, 0]])
        assert reader.status_code == 200
        assert reader.json() == [True]
        assert post("reader", "ptquery/", [[16, 0, 0]]) == 200  # a trailing slash too
        assert post("reader", "roi", [[0, 0, 0, 5]]) == 403
        deleted = env.client.delete(f"{base}/roi", headers=env.as_user("reader"))
        assert deleted.status_code == 403
        assert post("outsider", "ptquery", [[0, 0, 0]]) == 403  # no role in the repo
        assert post(None, "ptquery", [[0, 0, 0]]) == 401
        assert post("writer", "roi", [[0, 0, 0, 5]]) == 200
        assert env.root.roi("cells").spans().tolist() == [[0, 0, 0, 5]]
