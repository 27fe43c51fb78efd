"""Start the real ``voxhub serve`` in a subprocess on a free loopback port.

Used by the end-to-end tests and the HTTP benchmark: the server is the installed CLI,
started exactly as a user starts it, and polled on ``/api/heartbeat`` until it answers.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from voxhub.errors import StorageError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_command() -> list[str]:
    """The ``voxhub`` console script next to this interpreter (or ``python -m``)."""
    script = Path(sys.executable).with_name("voxhub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "voxhub.cli"]


@dataclass
class ServerProcess:
    """A running ``voxhub serve``; :meth:`stop` terminates it and returns its output."""

    store: str
    port: int
    workers: int
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Terminate the server (SIGTERM, then SIGKILL after 30 s); its stdout and stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out or ""


def start_server(
    store: str | Path,
    *,
    workers: int = 1,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    timeout: float = 60.0,
) -> ServerProcess:
    """Start ``voxhub serve --store STORE`` and return once it answers its heartbeat.

    Raises :class:`~voxhub.errors.StorageError` with the server's output if it exits or
    does not answer within ``timeout`` seconds. Without ``port``, a free one is picked;
    if another process takes it before the server binds it (a parallel test worker's
    server), the server is started again on another.
    """
    for attempt in range(_PORT_ATTEMPTS):
        try:
            return _start_once(store, workers, port or free_port(), extra_args, timeout)
        except StorageError as e:
            if port is not None or "already in use" not in str(e) or attempt == _PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


#: starts tried on fresh ports when the one picked was taken in the meantime
_PORT_ATTEMPTS = 4


def _start_once(
    store: str | Path, workers: int, port: int, extra_args: tuple[str, ...], timeout: float
) -> ServerProcess:
    cmd = [*serve_command(), "serve", "--store", str(store), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), *extra_args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = ServerProcess(str(store), port, workers, proc)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/api/heartbeat", timeout=2) as reply:
                if reply.read() == b"OK":
                    return server
        except OSError:  # refused while starting (urllib's URLError is an OSError)
            pass
        try:  # waiting for the process to die doubles as the poll interval
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        else:
            raise StorageError(f"voxhub serve exited with {proc.returncode}: {server.stop()}")
        if time.monotonic() > deadline:
            output = server.stop()
            raise StorageError(f"voxhub serve did not answer within {timeout} s: {output}")
