"""The command line: repo and volume commands, import/export, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

import voxhub
from voxhub.cli.main import cli


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_repo_volume_import_export_round_trip(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    root = run("repo", "create", "fib", "-d", "column", "--store", store).strip()
    assert len(root) == 32
    assert "fib" in run("repo", "list", "--store", store)
    run(
        "volume",
        "create",
        root,
        "em",
        "--dtype",
        "uint16",
        "--block-shape",
        "8,8,8",
        "--scales",
        "1",
        "--store",
        store,
    )
    data = np.arange(16 * 16 * 16, dtype=np.uint16).reshape(16, 16, 16)
    np.save(tmp_path / "in.npy", data)
    run("import", root, "em", str(tmp_path / "in.npy"), "--offset", "8,0,0", "--store", store)
    assert "extents Box(start=(8, 0, 0), stop=(24, 16, 16))" in run(
        "volume", "info", root, "em", "--store", store
    )
    out = tmp_path / "out.npy"
    run("export", root, "em", str(out), "--box", "8,0,0,24,16,16", "--store", store)
    assert np.array_equal(np.load(out), data)
    assert run("repo", "commit", root, "-m", "imported", "--store", store).strip() == root
    child = run("repo", "newversion", root, "--store", store).strip()
    branch = run("repo", "branch", root, "proof", "--store", store).strip()
    log = run("repo", "log", child, "--store", store)
    assert root in log
    assert child in log
    with voxhub.open(store) as hub:
        assert hub.node(branch).branch_name == "proof"
        assert hub.node(root).locked


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    result = CliRunner().invoke(cli, ["repo", "log", "ffff", "--store", store])
    assert result.exit_code == 1
    assert "NotFound" in result.output
    assert "Traceback" not in result.output
    root = run("repo", "create", "r", "--store", store).strip()
    result = CliRunner().invoke(
        cli, ["volume", "create", root, "em", "--block-shape", "8,8", "--store", store]
    )
    assert result.exit_code == 2
    assert "--block-shape needs 3" in result.output
    result = CliRunner().invoke(
        cli, ["import", root, "nope", str(tmp_path / "x.npy"), "--store", store]
    )
    assert result.exit_code == 1
    assert "no such file" in result.output
