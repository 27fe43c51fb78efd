"""``RemoteKeyValue``: a keyvalue instance at one node, through the server's DVID routes.

Single keys go through ``key/{key}`` (a byte range as an HTTP ``Range``, a streamed
value as a chunked POST body), listings through ``keys`` and ``keyrange``, batches
through ``keyvalues`` as tar archives (no protobuf needed on the client).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import quote

from voxhub.client.remote.transport import Transport
from voxhub.datatypes.keyvalue import tar_format
from voxhub.datatypes.keyvalue.config import KeyValueConfig
from voxhub.datatypes.keyvalue.keys import key_bytes
from voxhub.errors import NotFound
from voxhub.versioning.catalog import InstanceInfo

Bytes = bytes | bytearray | memoryview
#: keys fetched per ``GET keyvalues`` by ``iter_items``
ITEMS_PER_REQUEST = 256
_TAR = {"Content-Type": "application/x-tar"}


class RemoteKeyValue:
    """The :class:`~voxhub.client.keyvalue.KeyValueAccess` of a keyvalue on a server."""

    def __init__(self, http: Transport, node_uuid: str, info: InstanceInfo) -> None:
        self._http = http
        self.name = info.name
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"
        self._config = KeyValueConfig.from_json(info.config)

    @property
    def chunk_bytes(self) -> int:
        return self._config.chunk_bytes

    def _key_path(self, key: str) -> str:
        key_bytes(key)  # refused here as the server would refuse it
        return f"{self._base}/key/{quote(key, safe='')}"

    # -- reads ---------------------------------------------------------------------------
    def size(self, key: str) -> int | None:
        try:
            reply = self._http.request("HEAD", self._key_path(key))
        except NotFound:
            return None
        return int(reply.headers.get("content-length", "0"))

    def get(self, key: str) -> bytes | None:
        try:
            return self._http.request("GET", self._key_path(key)).content
        except NotFound:
            return None

    def read_range(self, key: str, start: int, stop: int) -> bytes:
        if stop <= start:
            if self.size(key) is None:
                raise NotFound(f"key {key!r} not found in {self.name!r}")
            return b""
        header = {"Range": f"bytes={start}-{stop - 1}"}
        return self._http.request("GET", self._key_path(key), headers=header).content

    def list_keys(self, start: str | None = None, stop: str | None = None) -> list[str]:
        listed: list[str] = self._http.get_json(f"{self._base}/keys")
        lo = None if start is None else key_bytes(start)
        hi = None if stop is None else key_bytes(stop)
        return [
            k
            for k in listed
            if (lo is None or k.encode() >= lo) and (hi is None or k.encode() < hi)
        ]

    def iter_items(
        self, start: str | None = None, stop: str | None = None
    ) -> Iterator[tuple[str, bytes]]:
        """Values fetched ``ITEMS_PER_REQUEST`` keys at a time; a key deleted after the
        listing reads as an empty value."""
        listed = self.list_keys(start, stop)
        for i in range(0, len(listed), ITEMS_PER_REQUEST):
            batch = listed[i : i + ITEMS_PER_REQUEST]
            reply = self._http.request(
                "GET", f"{self._base}/keyvalues", params={"tar": "true"}, json=batch
            )
            for name, value in tar_format.read_archive(reply.content, "keyvalues answer"):
                yield name, bytes(value)

    # -- writes --------------------------------------------------------------------------
    def put(self, key: str, value: Bytes) -> None:
        self._http.request("POST", self._key_path(key), content=memoryview(value).cast("B"))

    def put_stream(self, key: str, pieces: Iterable[Bytes]) -> int:
        sent = 0

        def counted() -> Iterator[bytes]:
            nonlocal sent
            for piece in pieces:
                sent += len(piece)
                yield bytes(piece)

        self._http.request("POST", self._key_path(key), content=counted())
        return sent

    def put_many(self, items: Iterable[tuple[str, Bytes]]) -> int:
        pairs = list(items)
        for key, _ in pairs:
            key_bytes(key)
        entries = ((key, len(memoryview(value)), iter([bytes(value)])) for key, value in pairs)
        body = b"".join(tar_format.archive(entries))
        self._http.request(
            "POST", f"{self._base}/keyvalues", params={"tar": "true"}, content=body, headers=_TAR
        )
        return len(pairs)

    def delete(self, key: str) -> bool:
        reply = self._http.request("DELETE", self._key_path(key))
        return reply.headers.get("voxhub-key-existed") == "true"
