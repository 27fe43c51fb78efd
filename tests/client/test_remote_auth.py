"""The numpy API and the CLI on a real ``voxhub serve --auth tokens``: tokens passed with
``voxhub.open(url, token=...)`` or ``$VOXHUB_TOKEN``, refusals as typed exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import voxhub
from voxhub.cli.main import cli
from voxhub.errors import Forbidden, Unauthorized
from voxhub.service import Service
from voxhub.service.auth import AuthStore, Role
from voxhub.testing.server import ServerProcess, start_server

STORED = 3  #: the voxel value of lab's em[8:16, 0:8, 0:8], written before serving


@dataclass
class Served:
    server: ServerProcess
    root: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = str(tmp_path_factory.mktemp("auth-served") / "store")
    with voxhub.open(store) as hub:
        node = hub.create_repo("lab").master
        # a block of its own for the reads that must not depend on another test's write
        # (xdist may run this module's tests on both workers, each with its own server)
        node.create_volume("em", "uint8", block_shape=(8, 8, 8))[8:16, 0:8, 0:8] = STORED
        root = node.uuid
        hub.create_repo("pub").master.create_volume("em", "uint8", block_shape=(8, 8, 8))
    service = Service.open(store)
    try:
        auth = AuthStore(service.store, service.catalog)
        tokens = {}
        for name, role in (("writer", Role.WRITE), ("reader", Role.READ)):
            auth.add_user(name)
            tokens[name], _ = auth.create_token(name)
            auth.grant(name, "lab", role)
        auth.grant("writer", "pub", Role.WRITE)
    finally:
        service.close()
    server = start_server(store, extra_args=("--auth", "tokens"))
    try:
        yield Served(server, root, tokens)
    finally:
        server.stop()


def test_a_token_opens_the_repos_its_user_may_use(served: Served) -> None:
    with voxhub.open(served.server.url, token=served.tokens["writer"]) as hub:
        vol = hub.node(served.root).volume("em")
        vol[0:8, 0:8, 0:8] = np.full((8, 8, 8), 9, np.uint8)
        assert sorted(r.alias for r in hub.repos()) == ["lab", "pub"]
    with voxhub.open(served.server.url, token=served.tokens["reader"]) as hub:
        vol = hub.node(served.root).volume("em")
        assert int(vol[0, 0, 0]) == 9
        with pytest.raises(Forbidden, match="reader"):
            vol[0:8, 0:8, 0:8] = np.zeros((8, 8, 8), np.uint8)


def test_without_a_token_nothing_private_is_visible(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOXHUB_TOKEN", raising=False)
    with voxhub.open(served.server.url) as hub:
        assert "lab" not in [r.alias for r in hub.repos()]  # ("pub" may have a public version)
        with pytest.raises(Unauthorized, match="Bearer"):
            hub.node(served.root)


def test_a_bad_token_is_refused_when_opening(served: Served) -> None:
    with pytest.raises(Unauthorized, match="not valid"):
        voxhub.open(served.server.url, token="vxh_forged")


def test_the_environment_variable_carries_the_token(
    served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOXHUB_TOKEN", served.tokens["reader"])
    with voxhub.open(served.server.url, mode="r") as hub:
        assert int(hub.node(served.root).volume("em")[8, 0, 0]) == STORED
    listed = CliRunner().invoke(cli, ["repo", "list", "--store", served.server.url])
    assert listed.exit_code == 0, listed.output
    assert "lab" in listed.output
    monkeypatch.delenv("VOXHUB_TOKEN")
    refused = CliRunner().invoke(cli, ["repo", "log", served.root, "--store", served.server.url])
    assert refused.exit_code == 1
    assert "Unauthorized" in refused.output


def test_anyone_reads_a_public_version_through_the_numpy_api(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOXHUB_TOKEN", raising=False)
    with voxhub.open(served.server.url, token=served.tokens["writer"]) as hub:
        node = hub.repo("pub").master
        node.volume("em")[8:16, 0:8, 0:8] = np.full((8, 8, 8), 5, np.uint8)
        node.commit("release")
        release = node.uuid
    service = Service.open(served.server.store)
    try:
        AuthStore(service.store, service.catalog).publish(release)
    finally:
        service.close()
    with voxhub.open(served.server.url) as anonymous:
        assert [r.alias for r in anonymous.repos()] == ["pub"]
        em = anonymous.node(release).volume("em")
        assert int(em[8, 0, 0]) == 5
        with pytest.raises(Unauthorized):
            anonymous.node(release).newversion("mine")
