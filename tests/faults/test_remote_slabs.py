"""A remote write cut into slabs waits for every slab and says which boxes landed."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.client.remote.hub import RemoteHub
from voxhub.errors import PartialWrite, VersionLocked
from voxhub.testing.server import ServerProcess, start_server

SLAB = (8, 16, 16)  # one block-thick z slab of the written box per request


class SlabCuttingProxy:
    """Relays to the server, but drops any request whose first line contains ``marker``."""

    def __init__(self, target_port: int, marker: bytes) -> None:
        self.target_port, self.marker = target_port, marker
        self.cut = 0
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for s in self._sockets:  # the relay threads only shut them down
            s.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(1 << 16):
                head = data.split(b"\r\n", 1)[0]
                if head.startswith(b"POST ") and self.marker in head:
                    self.cut += 1
                    break  # the request arrived; the answer never will
                upstream.sendall(data)
        except OSError:
            pass
        for s in (client, upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(1 << 16):
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def voxhub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own (the session's lists repos other tests count)."""
    server = start_server(tmp_path_factory.mktemp("slabs") / "store")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(voxhub_server: ServerProcess) -> Iterator[SlabCuttingProxy]:
    p = SlabCuttingProxy(voxhub_server.port, marker=b"16_16_8/0_0_16")  # the slab at z = 16
    yield p
    p.close()


@pytest.mark.parametrize("kind", ["image", "labels"])
def test_a_failed_slab_is_reported_and_the_others_land(
    voxhub_server: ServerProcess, proxy: SlabCuttingProxy, kind: str
) -> None:
    with voxhub.open(voxhub_server.url) as direct:
        node = direct.create_repo(f"slabs-{kind}").master
        if kind == "image":
            node.create_volume("v", "uint8", block_shape=(8, 8, 8))
        else:
            node.create_labels("v", block_shape=(8, 8, 8))
        uuid = node.uuid
    data = np.full((32, 16, 16), 7, np.uint8)
    piece_bytes = int(np.prod(SLAB)) * (1 if kind == "image" else 8)
    with RemoteHub(proxy.url, piece_bytes=piece_bytes) as hub:
        vol = hub.node(uuid).volume("v") if kind == "image" else hub.node(uuid).labels("v")
        with pytest.raises(PartialWrite) as caught:
            vol[0:32, 0:16, 0:16] = data
    assert proxy.cut == 1
    slab = [Box((z, 0, 0), (z + 8, 16, 16)) for z in (0, 8, 16, 24)]
    assert caught.value.failed == [slab[2]]
    assert caught.value.landed == [slab[0], slab[1], slab[3]]  # in slab order
    assert "3 of 4 slabs" in str(caught.value)
    with voxhub.open(voxhub_server.url) as direct:
        node = direct.node(uuid)
        back = node.volume("v") if kind == "image" else node.labels("v")
        stored = back[0:32, 0:16, 0:16]
    assert (stored[:16] == 7).all()
    assert (stored[16:24] == 0).all()  # the failed slab left nothing behind
    assert (stored[24:] == 7).all()


def test_a_write_failing_everywhere_raises_the_server_error(voxhub_server: ServerProcess) -> None:
    with voxhub.open(voxhub_server.url) as direct:
        node = direct.create_repo("slabs-locked").master
        node.create_volume("v", "uint8", block_shape=(8, 8, 8))
        node.commit()
        uuid = node.uuid
    with RemoteHub(voxhub_server.url, piece_bytes=int(np.prod(SLAB))) as hub:
        vol = hub.node(uuid).volume("v")
        with pytest.raises(VersionLocked):  # nothing landed: the plain error, not partial
            vol[0:32, 0:16, 0:16] = np.ones((32, 16, 16), np.uint8)
