"""The core install (numpy, lmdb, zstandard, lz4, compressed-segmentation, click) is enough
for the embedded numpy API and the repo/volume/labels commands; everything that needs an
extra says which one instead of failing with a bare ImportError.

Each check runs in a fresh interpreter whose import system refuses every package of the
``server``, ``s3``, ``io``, ``test`` and ``bench`` extras, as if they were not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import voxhub
from voxhub.testing.server import ServerProcess, start_server

SRC = str(Path(voxhub.__file__).parents[1])

BLOCKER = """
import importlib.abc, sys
sys.path.insert(0, {src!r})
NOT_INSTALLED = {{"starlette", "uvicorn", "obstore", "h5py", "tifffile", "PIL", "blosc",
                 "tqdm", "httpx", "hypothesis", "pytest", "tensorstore", "scipy"}}

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in NOT_INSTALLED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""


def run_without_extras(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = BLOCKER.format(src=SRC) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_core_api_runs_without_any_extra(tmp_path: Path) -> None:
    result = run_without_extras(
        """
        import numpy as np
        import voxhub
        for location in ("memory://", "store"):
            hub = voxhub.open(location)
            node = hub.create_repo("core").master
            em = node.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=1,
                                    codec="lz4")
            em[0:16, 0:16, 0:16] = np.arange(16**3, dtype=np.uint32).reshape(16, 16, 16) % 251
            assert int(em[15, 15, 15]) == (16**3 - 1) % 251
            assert em.at_scale(1)[:, :, :].shape == (8, 8, 8)
            seg = node.create_labels("seg", block_shape=(8, 8, 8))
            seg[0:8, 0:8, 0:16] = np.repeat(np.array([1, 2], np.uint64), 8)
            seg.merge(1, [2])
            assert seg.size(1) == 8 * 8 * 16
            node.commit("done")
            hub.close()
        loaded = sorted(m.split(".")[0] for m in sys.modules)
        print("OK", [m for m in ("starlette", "click") if m in loaded])
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "OK []"  # neither the server nor the CLI loaded


def test_what_needs_an_extra_names_it(tmp_path: Path) -> None:
    result = run_without_extras(
        """
        import numpy as np
        import voxhub
        from voxhub.errors import MissingDependency
        from voxhub.transfer import export_volume
        hub = voxhub.open("memory://")
        node = hub.create_repo("x").master
        em = node.create_volume("em", "uint8", block_shape=(8, 8, 8))
        em[0:8, 0:8, 0:8] = 1
        export_volume(em, "out.npy", progress=False)  # .npy needs nothing more
        for attempt in (lambda: export_volume(em, "out.tif", progress=False),
                        lambda: export_volume(em, "out.h5", progress=False),
                        lambda: voxhub.open("s3://bucket/p?endpoint=http://127.0.0.1:1"),
                        lambda: node.create_volume("j", "uint8", codec="jpeg")
                                    .__setitem__((slice(0, 8),) * 3, 1)):
            try:
                attempt()
            except MissingDependency as e:
                print(e)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "exporting a TIFF stack needs the 'tifffile' package: pip install 'voxhub[io]'",
        "exporting to HDF5 needs the 'h5py' package: pip install 'voxhub[io]'",
        "an s3:// store needs the 'obstore' package: pip install 'voxhub[s3]'",
        "the jpeg codec needs the 'PIL' package: pip install 'voxhub[io]'",
    ]


def test_the_cli_runs_without_the_server_extra_and_serve_says_what_it_needs(
    tmp_path: Path,
) -> None:
    cli = """
        import sys
        from voxhub.cli.main import cli
        cli.main(args=sys.argv[1:], prog_name="voxhub", standalone_mode=True)
    """
    script = BLOCKER.format(src=SRC) + textwrap.dedent(cli)

    def voxhub_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    created = voxhub_cli("repo", "create", "fib")
    assert created.returncode == 0, created.stderr
    assert "fib" in voxhub_cli("repo", "list").stdout
    assert "serve" in voxhub_cli("--help").stdout
    served = voxhub_cli("serve", "--store", "x", "--port", "8123")
    assert served.returncode == 1
    assert served.stderr == "Error: voxhub serve needs pip install 'voxhub[server]'\n"
    assert served.stdout == ""


def test_importing_the_server_without_its_extra_names_it(tmp_path: Path) -> None:
    result = run_without_extras(
        """
        from voxhub.errors import MissingDependency
        try:
            import voxhub.server
        except MissingDependency as e:
            print(e)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "voxhub.server needs the 'starlette' package: pip install 'voxhub[server]'\n"
    )


def test_the_remote_client_needs_no_extra(tmp_path: Path) -> None:
    server = start_server(tmp_path / "served")  # not the session's: its repos are counted
    try:
        result = _remote_round_trip(server, tmp_path)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "OK\n"


def _remote_round_trip(server: ServerProcess, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_without_extras(
        f"""
        import numpy as np
        import voxhub
        hub = voxhub.open({server.url!r})
        node = hub.create_repo("no-extras").master
        em = node.create_volume("em", "uint8", block_shape=(8, 8, 8))
        em[0:16, 0:16, 0:16] = 3
        assert int(em[0:16, 0:16, 0:16].sum()) == 3 * 16**3
        seg = node.create_labels("seg", block_shape=(8, 8, 8))
        seg[0:8, 0:8, 0:8] = np.full((8, 8, 8), 9, np.uint64)
        assert seg.size(9) == 512
        print("OK")
        """,
        tmp_path,
    )
