"""keyvalue's ``GET mutations`` and ``mutations-range`` through the real app: each write
(a key, a big streamed value, a batch, a delete) leaves one DVID-shaped record at its
version, in its own transaction; a refused write leaves none; diffs leave records out."""

from __future__ import annotations

import io
import tarfile
from typing import Any

from .conftest import CHUNK, Env


def records(env: Env, node: str | None = None, query: str = "") -> list[dict[str, Any]]:
    r = env.client.get(env.url(f"mutations{query}", node))
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


def tar(**files: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text.encode()))
    return out.getvalue()


def test_every_write_is_recorded_at_its_version(env: Env) -> None:
    c, root = env.client, env.root.uuid
    assert c.post(env.url("key/a?u=ann&app=neutu"), content=b"hello").status_code == 200
    big = bytes(range(256)) * (3 * CHUNK // 256 + 1)  # streamed into chunks
    assert c.post(env.url("key/big?u=bob"), content=big).status_code == 200
    assert c.post(env.url("keyvalues?tar=true&u=ann"), content=tar(b="x", c="yy")).is_success
    assert c.delete(env.url("key/a?u=ann")).status_code == 200
    found = records(env)
    assert [(r["Action"], r["Key"], r.get("Bytes")) for r in found] == [
        ("postkv", "a", 5),
        ("postkv", "big", len(big)),
        ("postkv", "b", 1),
        ("postkv", "c", 2),
        ("delkv", "a", None),
    ]
    assert found[0]["User"] == "ann"
    assert found[0]["App"] == "neutu"
    assert {r["UUID"] for r in found} == {root}
    assert all(r["Timestamp"].endswith("+0000 UTC") for r in found)
    assert [r["Key"] for r in records(env, query="?userid=bob")] == ["big"]

    assert c.post(env.url(f"key/{'k' * 500}"), content=b"x").status_code == 413
    assert len(records(env)) == 5  # a refused write records nothing

    env.root.commit()
    child = env.root.newversion().uuid
    assert records(env, child) == []  # the parent's records are its own
    assert c.post(env.url("key/d?u=cy", child), content=b"1").status_code == 200
    assert [r["Key"] for r in records(env, child)] == ["d"]
    ranged = c.get(env.url(f"mutations-range/{root}/{child}", child)).json()
    assert [r["Key"] for r in ranged] == ["d", "a", "big", "b", "c", "a"]  # newest version first
    r = c.get(env.url(f"mutations-range/{child}/{root}", child))
    assert r.status_code == 400
    assert env.hub.node(child).diff(env.root, "kv") == ["d"]  # records are not data
