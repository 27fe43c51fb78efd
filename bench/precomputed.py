"""The HTTP benchmark's peer: the EM volume as neuroglancer precomputed on a static server.

tensorstore writes the volume (raw encoding, 64³ chunks, unsharded, one scale) to a local
directory, and the reference stdlib server ``range_http_server.py`` (threaded, Range
support) serves it on a free loopback port, as measured in
``../shared/reference/interop_and_performance.md`` §4.5.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np
import tensorstore as ts

from voxhub.testing.server import free_port

#: the reference static server; ``$VOXHUB_RANGE_SERVER`` overrides the default location
RANGE_SERVER = Path(
    os.environ.get(
        "VOXHUB_RANGE_SERVER",
        Path(__file__).resolve().parents[2] / "shared/reference/scripts/range_http_server.py",
    )
)


def _spec(kvstore: dict[str, Any]) -> dict[str, Any]:
    return {"driver": "neuroglancer_precomputed", "kvstore": kvstore}


def zyx(store: ts.TensorStore) -> ts.TensorStore:
    """A precomputed volume (x, y, z, channel) viewed as numpy's (z, y, x), channel 0."""
    return store[ts.d["channel"][0]].transpose([2, 1, 0])


def write_precomputed(em: np.ndarray, directory: Path) -> None:
    """Write ``em`` (z, y, x) as a one-scale raw-encoded precomputed volume in ``directory``."""
    size = list(em.shape[::-1])  # precomputed sizes are (x, y, z)
    spec = _spec({"driver": "file", "path": str(directory) + "/"})
    spec.update(
        multiscale_metadata={"type": "image", "data_type": str(em.dtype), "num_channels": 1},
        scale_metadata={
            "size": size,
            "resolution": [8, 8, 8],
            "encoding": "raw",
            "chunk_size": [64, 64, 64],
        },
        create=True,
        delete_existing=True,
    )
    zyx(ts.open(spec).result()).write(em).result()


def open_http(base_url: str) -> ts.TensorStore:
    """The precomputed volume at ``base_url`` through tensorstore's http kvstore, as (z, y, x).

    No cache pool (tensorstore's default), so every read goes over HTTP.
    """
    kvstore = {"driver": "http", "base_url": base_url.rstrip("/") + "/"}
    return zyx(ts.open(_spec(kvstore), read=True).result())


@dataclass
class RangeServer:
    """A running ``range_http_server.py``; :meth:`stop` terminates it."""

    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log: IO[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def start_range_server(directory: Path, probe: str, timeout: float = 30.0) -> RangeServer:
    """Serve ``directory`` on a free loopback port; return once ``probe`` (a path) answers 200."""
    if not RANGE_SERVER.exists():
        raise FileNotFoundError(f"{RANGE_SERVER} not found; set $VOXHUB_RANGE_SERVER")
    port = free_port()
    cmd = [sys.executable, str(RANGE_SERVER), str(directory), str(port)]
    # stderr to a file, not a pipe: a pipe nobody drains would block the server once full
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by RangeServer.stop)
    server = RangeServer(port, subprocess.Popen(cmd, stderr=log), log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{server.url}/{probe}", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        try:  # waiting for the process to exit doubles as the poll interval
            server.process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        else:
            err = server.output()
            server.stop()
            raise RuntimeError(f"range server exited with {server.process.returncode}: {err}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"range server did not answer within {timeout} s")
