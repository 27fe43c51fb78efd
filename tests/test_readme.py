"""Every code block of README.md runs as written.

How the blocks run, and the only liberties this test takes with them:

* ```python blocks run in README order in one namespace (a later block may use what an
  earlier one made, as a reader following the page would), with a fresh temporary
  directory as the working directory. The README's server address
  ``http://127.0.0.1:8000`` (what ``make serve`` prints) is replaced by the address of a
  server this module starts on a free port, serving a demo store built the way
  ``make serve`` builds it (``voxhub.demo.build``, 64³ instead of 256³ to stay fast).
* ```bash blocks run one test each under ``bash -euo pipefail`` in a fresh temporary
  directory, with this interpreter's ``voxhub`` first on ``PATH``, the same server's
  address for ``localhost:8000``/``127.0.0.1:8000``, and ``curl`` made to fail on an HTTP
  error (``--fail-with-body``) so that a refused request fails the test.
* Lines skipped, each for its reason (:data:`SKIPPED`): ``make ...`` (builds ``.venv`` and
  then serves forever or runs this very suite), ``pip install ...`` and
  ``source .../activate`` (they would change the environment the tests run in; the
  extras are tested by ``test_optional_dependencies.py``).
* Files a block reads as the reader's own data (``vol.raw``, ``stack.tif``, ``cells.npy``)
  are made by the test in the working directory, with the shape and dtype
  the block implies (:data:`USER_FILES`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import voxhub
from voxhub.demo import build
from voxhub.testing.server import ServerProcess, free_port, start_server

README = Path(__file__).parents[1] / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"
DOCUMENTED_HOSTS = ("localhost:8000", "127.0.0.1:8000")

SKIPPED = {
    "make ": "builds .venv, then serves forever or runs this suite",
    "pip install ": "would change the environment these tests run in",
    "source ": "activates a venv; PATH already leads to this interpreter's voxhub",
}


def _stack_tif(path: Path) -> None:
    import tifffile

    rng = np.random.default_rng(0)
    tifffile.imwrite(path, rng.integers(0, 255, (64, 128, 128), dtype=np.uint8))


def _cells_npy(path: Path) -> None:
    ids = np.zeros((64, 128, 128), np.uint64)
    ids[:, :64, :64], ids[:, :64, 64:], ids[:, 64:, :] = 1, 2, 3
    np.save(path, ids)


def _vol_raw(path: Path) -> None:
    with path.open("wb") as f:
        f.truncate(512 * 512 * 512)  # the 512³ uint8 body the block posts


def _em_ome_zarr(path: Path) -> None:
    from tests.transfer.ts_fixtures import write_ome_zarr

    em = np.random.default_rng(1).integers(0, 255, (64, 64, 64), dtype=np.uint8)
    write_ome_zarr(path, [em, em[::2, ::2, ::2].copy()], version=3)


def _cells_precomputed(path: Path) -> None:
    from tests.transfer.ts_fixtures import write_precomputed

    ids = np.zeros((32, 64, 64), np.uint64)
    ids[:, :32], ids[:, 32:] = 2**40 + 1, 2**63 + 2
    write_precomputed(path, [ids], encoding="compressed_segmentation", sharded=True)


USER_FILES: dict[str, Callable[[Path], None]] = {
    "vol.raw": _vol_raw,
    "stack.tif": _stack_tif,
    "cells.npy": _cells_npy,
    "em.ome.zarr": _em_ome_zarr,
    "cells.precomputed": _cells_precomputed,
}


@dataclass
class Block:
    language: str
    code: str
    line: int  # README line of the block's first code line
    section: str

    @property
    def name(self) -> str:
        return f"{self.section} (README.md:{self.line})"


def readme_blocks() -> list[Block]:
    text = README.read_text()
    blocks = []
    for m in re.finditer(r"^```(\w+)\n(.*?)^```", text, re.M | re.S):
        before = text[: m.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.M)
        section = headings[-1] if headings else "top"
        line = before.count("\n") + 2
        blocks.append(Block(m[1], m[2], line, section))
    return blocks


def provide_user_files(code: str, where: Path) -> None:
    for name, make in USER_FILES.items():
        if re.search(rf"(?<![\w./-]){re.escape(name)}\b", code) and not (where / name).exists():
            make(where / name)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``make serve`` in small: the demo store, served on a free port."""
    store = tmp_path_factory.mktemp("readme-demo") / "demo-store"
    with voxhub.open(str(store)) as hub:
        build(hub, 64)
    server = start_server(store)
    try:
        yield server
    finally:
        server.stop()


def test_readme_has_python_and_bash_blocks() -> None:
    languages = {b.language for b in readme_blocks()}
    assert {"python", "bash"} <= languages
    assert languages <= {"python", "bash", "text", "json"}, "a code block no test runs"


def test_python_blocks_run_in_order(
    demo_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    try:
        for block in (b for b in readme_blocks() if b.language == "python"):
            provide_user_files(block.code, tmp_path)
            code = block.code.replace(DOCUMENTED_URL, demo_server.url)
            # Leading newlines make tracebacks point at README lines.
            compiled = compile("\n" * (block.line - 1) + code, str(README), "exec")
            try:
                exec(compiled, namespace)
            except Exception as e:
                pytest.fail(f"README block {block.name} raised {type(e).__name__}: {e}")
    finally:
        for value in namespace.values():  # close the hubs the blocks opened
            if isinstance(value, voxhub.Hub):
                value.close()
    # The remote example's write to a committed node must raise VersionLocked (and print
    # it), not write quietly to an open node.
    assert "is committed (locked)" in capsys.readouterr().out


def bash_script(block: Block, server: ServerProcess) -> str:
    lines = []
    for line in block.code.splitlines():
        stripped = line.strip()
        if any(stripped.startswith(prefix) for prefix in SKIPPED):
            lines.append(f"# skipped by test_readme.py: {stripped}")
            continue
        for host in DOCUMENTED_HOSTS:
            line = line.replace(host, f"127.0.0.1:{server.port}")
        # "PORT=8765   # any free port": a port free now, so that two test runs on one
        # machine (or a server left from elsewhere) never answer each other's requests
        line = re.sub(r"^PORT=\d+(?=\s)", f"PORT={free_port()}", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


BASH_BLOCKS = [b for b in readme_blocks() if b.language == "bash"]


@pytest.mark.parametrize("block", BASH_BLOCKS, ids=[b.name for b in BASH_BLOCKS])
def test_bash_block_runs(block: Block, demo_server: ServerProcess, tmp_path: Path) -> None:
    if "curl " in block.code and shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    provide_user_files(block.code, tmp_path)
    prelude = 'curl() { command curl --fail-with-body "$@"; }\n'
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VOXHUB_STORE", None)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", prelude + bash_script(block, demo_server)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"README block {block.name} failed ({result.returncode}):\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    )
