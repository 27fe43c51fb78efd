"""``voxhub serve`` refuses an address it cannot listen on with one clear line and a
non-zero status, before it prints a "serving at" line or opens the store."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from voxhub.cli.main import cli


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another program is listening on for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


def test_a_port_in_use_is_one_clear_line_and_a_failure(busy_port: int, tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(busy_port)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.stdout == ""  # in particular no "voxhub serving ... at" line
    assert result.stderr.splitlines() == [
        f"voxhub serve: port {busy_port} on 127.0.0.1 is already in use "
        "(try --port N or PORT=N make serve)"
    ]
    assert not store.exists()  # refused before the store was created


def test_an_unknown_host_is_one_clear_line(tmp_path: Path) -> None:
    args = ["serve", "--store", str(tmp_path / "s"), "--host", "no-such-host.invalid"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "serving" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("voxhub serve: cannot resolve host 'no-such-host.invalid'")


def test_access_log_is_documented_and_off_by_default() -> None:
    text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "--access-log" in text
    assert "JSON" in text


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--allow-origin", "null", "'null' cannot be allowed"),
        ("--allow-origin", "https://viewer.example.org/app", "no path"),
        ("--allowed-host", "data.*.org", "only '*' or '*.domain'"),
        ("--body-timeout", "0", "--body-timeout"),
    ],
)
def test_bad_browser_and_limit_options_are_refused_before_starting(
    tmp_path: Path, option: str, value: str, named: str
) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(cli, ["serve", "--store", str(store), option, value])
    assert result.exit_code == 2
    assert named in result.stderr
    assert option in result.stderr
    assert not store.exists()
