"""Server memory under stalled uploads: ``python -m bench.stalled [--uploads N] [--mib M]``.

Starts ``voxhub serve`` (memory store, one worker) on a free loopback port, makes a uint8
volume, then opens N connections that each declare a ``POST raw`` of an M MiB box, wait
until the server is reading the body (uvicorn answers ``Expect: 100-continue`` only then),
send 10 bytes and stall. It prints the server's resident memory (``VmRSS`` of
``/proc/PID/status``) before and with the uploads stalled, and the time until the server
answers each one 408 (``--body-timeout``). A server that preallocates declared bodies
grows by about N x M MiB; one that reads bodies as they arrive does not grow.
``--baseline`` measures a voxhub from before these limits (run with its ``src`` first on
``PYTHONPATH``): no limit options, and no waiting for answers it would never send.
"""

from __future__ import annotations

import argparse
import platform
import socket
import time
import uuid
from pathlib import Path

import voxhub
from voxhub.testing.server import ServerProcess, start_server

MIB = 1 << 20


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def box_path(server: ServerProcess, mib: int) -> str:
    """A ``POST raw`` path whose box holds ``mib`` MiB of uint8 voxels."""
    with voxhub.open(server.url) as hub:
        node = hub.create_repo(f"stalled-{uuid.uuid4().hex[:8]}").master
        node.create_volume("gray", "uint8", block_shape=(64, 64, 64))
    return f"/api/node/{node.uuid}/gray/raw/0_1_2/1024_1024_{mib}/0_0_0"


def stall(server: ServerProcess, path: str, nbytes: int) -> socket.socket:
    """A connection whose upload of ``nbytes`` the server is reading, stalled after 10."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=600)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {nbytes}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    sock.sendall(head.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    if b" 100 " not in answer.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"the server did not start reading: {answer[:200]!r}")
    sock.sendall(b"0123456789")
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4, help="stalled uploads (default 4)")
    parser.add_argument("--mib", type=int, default=256, help="MiB each declares (default 256)")
    parser.add_argument("--body-timeout", type=float, default=10.0, help="server's, seconds")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="for a voxhub without these limits: pass no limit options, wait for no answer",
    )
    args = parser.parse_args()
    extra = ("--max-large-requests", str(args.uploads), "--body-timeout", str(args.body_timeout))
    server = start_server("memory://", extra_args=() if args.baseline else extra)
    try:
        path = box_path(server, args.mib)
        pid = server.process.pid
        before = rss_mib(pid)
        start = time.monotonic()
        sockets = [stall(server, path, args.mib * MIB) for _ in range(args.uploads)]
        with voxhub.open(server.url) as hub:  # one more request through the loop
            hub.repos()
        during = rss_mib(pid)
        statuses = []
        for sock in sockets:
            answer = b""
            while not args.baseline and (chunk := sock.recv(4096)):
                answer += chunk
            statuses.append(answer.split(b" ", 2)[1].decode() if answer else "none awaited")
            sock.close()
        waited = time.monotonic() - start
        after = rss_mib(pid)
    finally:
        server.stop()
    declared = args.uploads * args.mib
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
          f"Python {platform.python_version()}, load {load}")  # fmt: skip
    print(f"{args.uploads} stalled uploads declaring {args.mib} MiB each ({declared} MiB)")
    print(f"server RSS before {before:.0f} MiB, while stalled {during:.0f} MiB "
          f"(+{during - before:.0f} MiB), after the answers {after:.0f} MiB")  # fmt: skip
    print(f"answers {', '.join(statuses)} after {waited:.1f} s (--body-timeout "
          f"{args.body_timeout:g})")  # fmt: skip


if __name__ == "__main__":
    main()
