"""neuronjson's DVID routes through the real app (``create_app`` over a memory hub)."""

from __future__ import annotations

import io
import json
import tarfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.datatypes.neuronjson.kv_proto import (
    decode_key_values,
    decode_keys,
    encode_key_values,
    encode_keys,
)
from voxhub.server import create_app

V1 = {"bodyid": 1000, "a string": "foo", "a number": 1234, "a list": [1, 2, 3]}
V2 = {"bodyid": 2000, "a string": "moo", "a number": 2345, "a list": ["mom", "pop"]}
V3 = {"bodyid": 3000, "a string": "goo", "a number": 3456, "a list": [23]}


@dataclass
class Env:
    client: TestClient
    hub: EmbeddedHub
    node: Node

    def url(self, rest: str, node: Node | None = None) -> str:
        return f"/api/node/{(node or self.node).uuid}/neurons/{rest}"

    def call(self, method: str, rest: str, body: Any = None, node: Node | None = None) -> Any:
        content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        return self.client.request(method, self.url(rest, node), content=content)

    def ok(self, method: str, rest: str, body: Any = None, node: Node | None = None) -> Any:
        reply = self.call(method, rest, body, node)
        assert reply.status_code == 200, reply.text
        return reply.json() if reply.content else None

    def refused(self, method: str, rest: str, body: Any, status: int, named: str) -> None:
        reply = self.call(method, rest, body)
        assert reply.status_code == status, reply.text
        assert named in reply.json()["error"], reply.json()


@pytest.fixture
def env() -> Iterator[Env]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("flies").master
    with TestClient(create_app(hub)) as client:
        made = client.post(
            f"/api/repo/{node.uuid}/instance",
            json={"typename": "neuronjson", "dataname": "neurons"},
        )
        assert made.status_code == 200, made.text
        e = Env(client, hub, node)
        for user, doc in (("frank", V1), ("martha", V2), ("shawna", V3)):
            e.ok("POST", f"key/{doc['bodyid']}?u={user}", doc)
        yield e
    hub.close()


def test_a_document_round_trips_with_its_stamps(env: Env) -> None:
    assert env.ok("GET", "key/1000") == V1
    shown = env.ok("GET", "key/2000?show=user&fields=a string,a list")
    assert shown == {
        "bodyid": 2000,
        "a string": "moo",
        "a string_user": "martha",
        "a list": ["mom", "pop"],
        "a list_user": "martha",
    }
    stamped = env.ok("GET", "key/3000?show=all")
    assert stamped["a number_user"] == "shawna"
    assert stamped["a number_time"].endswith("Z")
    assert env.call("HEAD", "key/1000").status_code == 200
    assert env.call("HEAD", "key/1001").status_code == 404
    assert env.call("GET", "key/1001").status_code == 404


def test_a_post_merges_fields_and_replace_replaces(env: Env) -> None:
    env.ok("POST", "key/3000?u=bill", {"a string": "goo modified", "a 2nd list": [26]})
    doc = env.ok("GET", "key/3000?show=user")
    assert doc["a number"] == 3456
    assert doc["a number_user"] == "shawna"
    assert doc["a string"] == "goo modified"
    assert doc["a string_user"] == "bill"
    env.ok("POST", "key/3000?u=sandra&replace=true", {"a string": "replaced", "a number": 3456})
    doc = env.ok("GET", "key/3000?show=user")
    assert doc == {
        "bodyid": 3000,
        "a string": "replaced",
        "a string_user": "sandra",
        "a number": 3456,
        "a number_user": "shawna",
    }
    env.ok("POST", "key/3000?u=x&conditional=a string", {"a string": "kept?", "new": 1})
    assert env.ok("GET", "key/3000")["a string"] == "replaced"
    env.ok("DELETE", "key/3000?u=x")
    env.ok("DELETE", "key/3000?u=x")  # absent: still 200, as DVID
    assert env.ok("GET", "keys") == ["1000", "2000"]


def test_bad_input_is_400_naming_it_and_stores_nothing(env: Env) -> None:
    env.refused("POST", "key/1000?u=x", b'{"a": ', 400, "not valid JSON")
    env.refused("POST", "key/1000?u=x", [1, 2], 400, "must be a JSON object")
    env.refused("POST", "key/1000?u=x", {"bodyid": 1001}, 400, "does not match its key 1000")
    env.refused("POST", "key/abc?u=x", {}, 400, "key 'abc'")
    env.refused("POST", "key/0?u=x", {}, 400, "reserved")
    env.refused("GET", "key/-1", None, 400, "key '-1'")
    env.refused("POST", "key/1000", {"a": 1}, 400, "need a user")
    env.refused("POST", "keyvalues?u=x&json=true", {"5": {"a": 1}, "6": [1]}, 400, "body 6")
    env.refused("POST", "keyvalues?u=x&json=true", {"x": {}}, 400, "keyvalues key 'x'")
    env.refused("POST", "keyvalues?u=x", b"\x0a\x05", 400, "runs past the end")
    env.refused("GET", "query", {"a string": "re/("}, 400, "bad regex")
    env.refused("GET", "query", {"a number": "range/9/1"}, 400, "'a number'")
    env.refused("GET", "all?show=everything", None, 400, "show='everything'")
    env.refused("POST", "json_schema?u=x", b"{nope", 400, "json_schema is not valid JSON")
    assert env.ok("GET", "keys") == ["1000", "2000", "3000"]
    assert env.ok("GET", "key/1000") == V1
    assert env.call("GET", "json_schema").status_code == 404


def test_listings_and_batches_in_every_format(env: Env) -> None:
    assert env.ok("GET", "keyrange/0/2100") == ["1000", "2000"]
    assert env.ok("GET", "keyrange/2000/a") == ["2000", "3000"]
    assert env.ok("GET", "keyrangevalues/1500/3000?json=true&fields=a number") == {
        "2000": {"bodyid": 2000, "a number": 2345},
        "3000": {"bodyid": 3000, "a number": 3456},
    }
    pb = env.call("GET", "keyrangevalues/0/2500").content
    assert [(k, json.loads(v)) for k, v in decode_key_values(pb)] == [("1000", V1), ("2000", V2)]
    asked = env.ok("GET", "keyvalues?json=true", [3000, "23", 2000])
    assert asked == {"3000": V3, "2000": V2}
    answer = env.call("GET", "keyvalues?jsontar=true", [2000, 5]).content
    with tarfile.open(fileobj=io.BytesIO(answer)) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert json.loads(files["2000"]) == V2
    assert files["5"] == b""
    pb = env.call("GET", "keyvalues", encode_keys(["1000", "9"])).content
    assert [(k, v and json.loads(v)) for k, v in decode_key_values(pb)] == [
        ("1000", V1),
        ("9", b""),
    ]
    env.ok("POST", "keyvalues?u=ann&json=true", [{"bodyid": 5, "t": "a"}, {"bodyid": 6, "t": "b"}])
    posted = encode_key_values([("7", b'{"t": "c"}')])
    env.ok("POST", "keyvalues?u=ann", posted)
    assert env.ok("GET", "query?onlyid=true", {"t": ["a", "c"]}) == [5, 7]
    assert [d["bodyid"] for d in env.ok("GET", "all?fields=t")] == [5, 6, 7]
    assert len(env.ok("GET", "all?fields=bodyid")) == 6
    plain = env.client.get(env.url("all"), headers={"Accept-Encoding": "identity"})
    zipped = env.client.get(env.url("all"), headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()
    assert [d["bodyid"] for d in plain.json()] == [5, 6, 7, 1000, 2000, 3000]
    counts = env.ok("GET", "fields?counts=true")
    assert counts["t"] == 3
    assert counts["t_user"] == 3
    assert counts["bodyid"] == 6
    assert "a list" in env.ok("GET", "fields")
    assert set(env.ok("GET", "fieldtimes")) == {"a string", "a number", "a list", "t"}


def test_queries_follow_dvids_examples(env: Env) -> None:
    def q(query: Any, extra: str = "") -> list[int]:
        return [d["bodyid"] for d in env.ok("GET", f"query{extra}", query)]

    assert q({"a string": ["moo", "goo"]}) == [2000, 3000]
    assert q({"a string": ["moo", "goo"], "a number": 2345}) == [2000]
    assert q({"unused field": "foo"}) == []
    assert q({"a string": "re/^(f|m)oo"}) == [1000, 2000]
    assert q({"a string": "re/^(f|m)oo", "a list": ["re/.*x", "re/om"]}) == [2000]
    assert q([{"bodyid": [1000, 2000]}, {"bodyid": [3000]}]) == [1000, 2000, 3000]
    assert q({"a number": "range/2000/"}) == [2000, 3000]
    assert q({"a list": 2}) == [1000]
    assert q({"a number": "exists/1", "nothing": "exists/0"}) == [1000, 2000, 3000]
    assert env.ok("POST", "query?onlyid=true", {"a list": "pop"}) == [2000]
    shown = env.ok("GET", "query?fields=a string&show=user", {"bodyid": 1000})
    assert shown == [{"bodyid": 1000, "a string": "foo", "a string_user": "frank"}]


def test_committed_nodes_refuse_writes_but_answer_queries(env: Env) -> None:
    env.ok("POST", "schema?u=x", {"neutu": True})
    env.node.commit()
    env.refused("POST", "key/1000?u=x", {"a": 1}, 409, "committed")
    env.refused("DELETE", "key/1000?u=x", None, 409, "committed")
    env.refused("POST", "schema?u=x", {"b": 1}, 409, "committed")
    assert env.ok("POST", "query?onlyid=true", {"a number": 1234}) == [1000]
    assert env.ok("GET", "schema") == {"neutu": True}
    assert env.call("HEAD", "schema").status_code == 200
    child = env.node.newversion()
    env.ok("POST", "key/1000?u=y", {"a number": 1}, node=child)
    env.ok("DELETE", "schema?u=y", node=child)
    assert env.ok("GET", "key/1000")["a number"] == 1234
    assert env.ok("GET", "key/1000", node=child)["a number"] == 1
    assert env.call("GET", "schema", node=child).status_code == 404
    assert env.ok("GET", "info")["Base"]["TypeName"] == "neuronjson"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=8), st.binary(max_size=40)), max_size=5))
def test_the_protobuf_bodies_round_trip(items: list[tuple[str, bytes]]) -> None:
    assert decode_key_values(encode_key_values(items)) == items
    assert decode_keys(encode_keys([k for k, _ in items])) == [k for k, _ in items]
