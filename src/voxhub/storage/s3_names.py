"""Object names for byte keys, and obstore errors in voxhub's hierarchy.

A key's object name is the lowercase hex of its bytes. Hex keeps byte order: comparing
two names character by character compares the keys byte by byte, and a key that is a
prefix of another has a name that is a prefix of the other's name.

Two kinds of objects are not keys (their names are not even-length hex, so scans skip
them); both belong to :mod:`voxhub.storage.s3_txn`:

* a key's **lock** ``<hex key>~``: ``~`` sorts after every hex digit, so the lock lists
  right after the key and its extensions, inside every prefix range that holds the key —
  a scan sees a transaction's locks in the same listing as the keys, for free;
* a transaction's **intent** ``~txn/<id>``, listed apart from all keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import obstore

from voxhub.errors import InvalidRequest, StorageError, VoxhubError

#: what obstore raises for a missing object (a builtin, or its own class in some paths).
NOT_FOUND = (FileNotFoundError, obstore.exceptions.NotFoundError)

_HEX = frozenset("0123456789abcdef")
#: hex digits in order; the name after ``d`` is found by looking up its predecessor.
_DIGITS = "0123456789abcdef"


def name_of(key: bytes) -> str:
    """The object name (relative to the store's prefix) of ``key``."""
    if not key:
        raise InvalidRequest("S3 store keys must not be empty")
    return key.hex()


LOCK_SUFFIX = "~"
INTENT_PREFIX = "~txn/"


def lock_name(key: bytes) -> str:
    """The object name of the lock a transaction holds on ``key``."""
    return name_of(key) + LOCK_SUFFIX


def locked_key(name: str) -> bytes | None:
    """The key a lock object named ``name`` guards, or ``None`` if it is no lock."""
    if not name.endswith(LOCK_SUFFIX):
        return None
    return key_from_name(name[: -len(LOCK_SUFFIX)])


def intent_name(txn_id: str) -> str:
    """The object name of transaction ``txn_id``'s intent record."""
    return INTENT_PREFIX + txn_id


def key_from_name(name: str) -> bytes | None:
    """The key named by ``name``, or ``None`` for objects that are not keys (locks)."""
    if not name or len(name) % 2 or not _HEX.issuperset(name):
        return None
    return bytes.fromhex(name)


def first_listing_offset(start: bytes) -> str | None:
    """An S3 ``start-after`` value such that listing after it begins at ``start``.

    ``start-after`` is exclusive, so we need a string below ``name_of(start)`` with no
    valid (hex, even length) name between the two: drop the last digit if it is ``0``,
    else lower it by one and append ``g``, which sorts after every hex digit.
    """
    if not start:
        return None
    name = start.hex()
    last = name[-1]
    if last == "0":
        return name[:-1]
    return name[:-1] + _DIGITS[_DIGITS.index(last) - 1] + "g"


@contextmanager
def translated_errors(where: str, key: bytes | None = None) -> Iterator[None]:
    """Re-raise obstore's exceptions as :class:`~voxhub.errors.StorageError`."""
    try:
        yield
    except VoxhubError:
        raise
    except (obstore.exceptions.BaseError, OSError) as e:  # obstore maps some to builtins
        about = f" (key {key.hex()})" if key is not None else ""
        raise StorageError(f"S3 store {where}{about}: {type(e).__name__}: {e}") from e
