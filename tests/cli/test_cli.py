"""The command line: repo and volume commands, import/export, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import voxhub
from voxhub.cli.main import cli
from voxhub.testing.server import ServerProcess, start_server


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
    assert "no data instance 'nope'" in result.output  # the volume is checked first


def fails(*args: str, code: int = 1) -> str:
    """Run a command that must fail with one clear line, no traceback; its output."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith(("Error: ", "Usage: ")), result.output
    return result.output


def test_refs_accept_aliases_branches_prefixes_and_ancestors(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    root = run("repo", "create", "fib", "--store", store).strip()
    run("repo", "create", "other", "--store", store)
    assert run("repo", "commit", "fib", "-m", "one", "--store", store).strip() == root
    child = run("repo", "newversion", "fib", "--store", store).strip()  # alias = master leaf
    assert run("repo", "commit", "fib:master", "--store", store).strip() == child
    proof = run("repo", "branch", root[:6], "proof", "--store", store).strip()
    # alias:branch, alias~N, alias:branch~N and a UUID prefix all name nodes of this repo
    assert proof in run("repo", "log", "fib:proof", "--store", store).splitlines()[-1]
    assert run("repo", "log", "fib~1", "--store", store).splitlines()[-1].startswith(root)
    assert run("repo", "log", "fib:proof~1", "--store", store).splitlines()[-1].startswith(root)
    assert run("repo", "log", child[:8], "--store", store).splitlines()[-1].startswith(child)
    run("volume", "create", "fib:proof", "em", "--store", store)
    assert "uint8" in run("volume", "info", "fib:proof", "em", "--store", store)
    assert "NotFound" in fails("repo", "log", "fib:nobranch", "--store", store)
    assert "NotFound" in fails("repo", "log", "fib~9", "--store", store)


def test_store_env_var_is_read_and_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXHUB_STORE", str(tmp_path / "env-store"))
    run("repo", "create", "viaenv")
    assert (tmp_path / "env-store").is_dir()
    assert "viaenv" in run("repo", "list")
    assert "VOXHUB_STORE" in run("--help")
    assert "VOXHUB_STORE" in run("repo", "list", "--help")


def test_a_missing_store_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    assert "no store at" in fails("repo", "list", "--store", str(missing))
    assert not missing.exists()


def test_labels_create_import_merge_cleave_info(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    run("repo", "create", "seg", "--store", store)
    run("labels", "create", "seg", "cells", "--block-size", "8,8,8", "--scales", "1",
        "--store", store)  # fmt: skip
    ids = np.zeros((16, 16, 16), np.int32)  # signed, but no negative ids: accepted
    ids[:, :, 8:] = 2**20 + 1
    ids[:8, :8, :8] = 7
    np.save(tmp_path / "ids.npy", ids)
    run("labels", "import", "seg", "cells", str(tmp_path / "ids.npy"), "--store", store)
    info = run("labels", "info", "seg", "cells", "7", "--store", store)
    assert "body 7: 512 voxels" in info
    assert "stop=(8, 8, 8)" in info
    mutation = int(run("labels", "merge", "seg", "cells", "7", str(2**20 + 1), "--store", store))
    assert mutation > 1000000000
    info = run("labels", "info", "seg", "cells", "7", "--store", store)
    assert f"body 7: {512 + 16 * 16 * 8} voxels" in info
    assert f"supervoxels: 7 {2**20 + 1}" in info
    new = int(run("labels", "cleave", "seg", "cells", "7", str(2**20 + 1), "--store", store))
    assert f"body {new}: 2048 voxels" in run("labels", "info", "seg", "cells", str(new),
                                             "--store", store)  # fmt: skip
    with voxhub.open(store) as hub:
        lv = hub.repo("seg").master.labels("cells")
        assert np.array_equal(lv.sv[0:16, 0:16, 0:16], ids.astype(np.uint64))
        assert lv.size(7) == 512
    assert "max label" in run("labels", "info", "seg", "cells", "--store", store)


def test_label_errors_are_one_line(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    run("repo", "create", "seg", "--store", store)
    run("labels", "create", "seg", "cells", "--block-size", "8,8,8", "--store", store)
    np.save(tmp_path / "neg.npy", np.full((8, 8, 8), -1, np.int16))
    np.save(tmp_path / "float.npy", np.zeros((8, 8, 8), np.float32))
    assert "negative" in fails("labels", "import", "seg", "cells", str(tmp_path / "neg.npy"),
                               "--store", store)  # fmt: skip
    assert "float32" in fails("labels", "import", "seg", "cells", str(tmp_path / "float.npy"),
                              "--store", store)  # fmt: skip
    with voxhub.open(store) as hub:  # refused before anything was written
        assert hub.repo("seg").master.labels("cells").extents() is None
    assert "NotFound" in fails("labels", "merge", "seg", "cells", "5", "6", "--store", store)
    assert "integers" in fails("labels", "merge", "seg", "cells", "x", "6", "--store", store,
                               code=2)  # fmt: skip
    assert "NotFound" in fails("labels", "info", "seg", "nope", "--store", store)
    run("volume", "create", "seg", "em", "--store", store)
    assert "not a labelmap" in fails("labels", "info", "seg", "em", "--store", store)


def test_export_refuses_to_overwrite_without_the_flag(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    run("repo", "create", "r", "--store", store)
    run("volume", "create", "r", "em", "--block-shape", "8,8,8", "--store", store)
    data = np.arange(8 * 8 * 8, dtype=np.uint8).reshape(8, 8, 8)
    np.save(tmp_path / "in.npy", data)
    run("import", "r", "em", str(tmp_path / "in.npy"), "--store", store)
    for dest in ("out.npy", "out.tif", "out.h5:/em"):
        target = str(tmp_path / dest)
        run("export", "r", "em", target, "--store", store)
        before = (tmp_path / dest.split(":")[0]).read_bytes()
        assert "--overwrite" in fails("export", "r", "em", target, "--store", store)
        assert (tmp_path / dest.split(":")[0]).read_bytes() == before  # untouched
        run("export", "r", "em", target, "--overwrite", "--store", store)
    assert sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []


def test_foreseeable_errors_never_show_a_traceback(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    run("repo", "create", "r", "--store", store)
    run("volume", "create", "r", "em", "--store", store)
    (tmp_path / "junk.npy").write_text("not an array")
    np.save(tmp_path / "wide.npy", np.zeros((4, 4, 4), np.uint32))
    (tmp_path / "afile").write_text("x")
    cases = [
        ("repo", "log", "zzzz", "--store", store),  # not a UUID prefix nor an alias
        ("import", "r", "em", str(tmp_path / "junk.npy"), "--store", store),
        ("import", "r", "em", str(tmp_path / "wide.npy"), "--store", store),  # lossy dtype
        ("import", "r", "em", str(tmp_path / "missing.tif"), "--store", store),
        ("export", "r", "em", str(tmp_path / "none" / "x.npy"), "--store", store),
        ("volume", "info", "r", "nope", "--store", store),
        ("repo", "list", "--store", str(tmp_path / "afile")),  # a file, not a store
        ("repo", "list", "--store", "ftp://x"),  # unknown scheme
    ]
    for case in cases:
        fails(*case)
    fails("volume", "create", "r", "em2", "--voxel-size", "a,b,c", "--store", store, code=2)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own: the session's is shared by tests that count its repos."""
    server = start_server(tmp_path / "served")
    try:
        yield server
    finally:
        server.stop()


def test_commands_work_against_a_server(own_server: ServerProcess, tmp_path: Path) -> None:
    url = own_server.url
    root = run("repo", "create", "cli-remote", "--store", url).strip()
    run("labels", "create", "cli-remote", "cells", "--block-size", "8,8,8", "--store", url)
    np.save(tmp_path / "ids.npy", np.repeat(np.array([5, 6], np.uint8), 8).reshape(1, 1, 16))
    run("labels", "import", "cli-remote:master", "cells", str(tmp_path / "ids.npy"),
        "--store", url)  # fmt: skip
    run("labels", "merge", root[:10], "cells", "5", "6", "--store", url)
    assert "body 5: 16 voxels" in run("labels", "info", "cli-remote", "cells", "5", "--store", url)
    run("repo", "commit", "cli-remote", "--store", url)
    assert "VersionLocked" in fails("labels", "cleave", "cli-remote", "cells", "5", "6",
                                    "--store", url)  # fmt: skip
