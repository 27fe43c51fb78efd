"""Storage: ordered byte key-value stores (memory, LMDB, S3 object store).

Open one from a URL with :func:`open_store`:

* ``memory://`` — in-process, for tests;
* ``lmdb:///path/to/dir`` or a plain path — the embedded default;
* ``s3://bucket/prefix?endpoint=http://127.0.0.1:8333&region=us-east-1`` — an object store
  (credentials from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` or the URL query).
"""

from voxhub.storage.base import KVStore, Txn, prefix_end
from voxhub.storage.memory import MemoryStore
from voxhub.storage.spec import open_store

__all__ = ["KVStore", "MemoryStore", "Txn", "open_store", "prefix_end"]
