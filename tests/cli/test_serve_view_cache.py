"""``voxhub serve``'s view cache budget: a sixteenth of the memory split among the
workers unless given, told to the workers and shown when the server starts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from voxhub.cli.main import cli
from voxhub.server.app import VIEW_CACHE_ENV
from voxhub.server.view_cache import serve_view_cache_bytes


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:
    """What the environment held each time ``voxhub serve`` would have started uvicorn
    (which is not started); the environment ``serve`` changed is restored after."""
    seen: list[dict[str, str]] = []

    def run(*args: Any, **kwargs: Any) -> None:
        seen.append(dict(os.environ))

    monkeypatch.setattr(uvicorn, "run", run)
    saved = dict(os.environ)
    try:
        yield seen
    finally:
        os.environ.clear()
        os.environ.update(saved)


def serve(tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["serve", "--store", str(tmp_path / "store"), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_budget_follows_the_memory_and_the_workers(
    tmp_path: Path, started: list[dict[str, str]]
) -> None:
    auto = serve_view_cache_bytes(1)
    assert f"view cache {auto >> 20} MiB per worker" in serve(tmp_path)
    assert started[-1][VIEW_CACHE_ENV] == str(auto >> 20 << 20)
    serve(tmp_path, "--workers", "2")
    assert started[-1][VIEW_CACHE_ENV] == str(serve_view_cache_bytes(2) >> 20 << 20)
    assert "view cache 10 MiB per worker" in serve(tmp_path, "--view-cache-mb", "10")
    assert started[-1][VIEW_CACHE_ENV] == str(10 << 20)
    serve(tmp_path, "--view-cache-mb", "0")
    assert started[-1][VIEW_CACHE_ENV] == "0"


def test_a_cgroup_limit_or_a_small_machine_gives_at_least_the_old_default() -> None:
    assert serve_view_cache_bytes(1, 1 << 30) == 256 << 20
    assert serve_view_cache_bytes(8, 64 << 30) == 512 << 20
    assert serve_view_cache_bytes(1, 1 << 42) == 8 << 30  # the largest, however much
