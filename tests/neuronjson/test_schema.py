"""neuronjson documents are validated against the stored ``json_schema``, through the real
app and the numpy API: a document that breaks it is a 400 naming the body and the field,
nothing of the request is stored, and the schema is per version like everything else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voxhub.errors import InvalidRequest

from .test_routes import Env, env  # noqa: F401  (the shared fixture)

SCHEMA = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "size": {"type": "integer", "minimum": 0}},
    "required": ["type"],
}


def refused(env: Env, rest: str, body: Any, *named: str) -> None:  # noqa: F811
    reply = env.call("POST", rest, body)
    assert reply.status_code == 400, reply.text
    for name in named:
        assert name in reply.json()["error"], reply.json()


def test_posts_break_no_stored_json_schema(env: Env) -> None:  # noqa: F811
    refused(env, "json_schema?u=x", {"type": "nope"}, "not a valid JSON Schema")
    env.ok("POST", "json_schema?u=x", SCHEMA)
    refused(env, "key/5?u=x", {"type": "KC", "size": "big"}, "body 5", "'size'", "integer")
    assert env.call("GET", "key/5").status_code == 404  # nothing stored
    env.ok("POST", "key/5?u=x", {"type": "KC", "size": 3})
    env.ok("POST", "key/5?u=y", {"size": 4})  # the stored document has its type
    refused(env, "key/6?u=x", {"size": 4}, "body 6", "'type' is a required property")
    refused(env, "key/5?u=x", {"size": -1}, "'size'", "minimum")
    batch = {"7": {"type": "MBON"}, "8": {"type": 12}}
    refused(env, "keyvalues?u=x&json=true", batch, "body 8", "'type'")
    assert env.call("GET", "key/7").status_code == 404  # the batch stored nothing
    assert env.ok("GET", "key/5") == {"bodyid": 5, "type": "KC", "size": 4}
    env.ok("POST", "schema?u=x", {"type": "nope"})  # neutu's UI schema: not enforced


def test_the_schema_is_per_version_and_enforced_embedded_too(env: Env) -> None:  # noqa: F811
    neurons = env.node.neuronjson("neurons", user="ann")
    neurons.set_schema(SCHEMA)
    with pytest.raises(InvalidRequest, match="body 9 breaks the json_schema"):
        neurons[9] = {"size": 1}
    env.node.commit()
    child = env.node.newversion()
    env.ok("DELETE", "json_schema?u=x", node=child)
    env.ok("POST", "key/9?u=x", {"size": 1}, node=child)  # no schema at the child
    assert json.loads(env.call("GET", "json_schema").content) == SCHEMA
