"""The pieces of a value sent in a batch answer, checked against the size announced
before them (tar and protobuf ``KeyValues`` both write the size first)."""

from __future__ import annotations

from collections.abc import Iterator


def sized_pieces(key: str, size: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces``, raising once they are all sent if they did not add up to ``size``:
    the answer is mid-stream then (its status sent), so it can only be cut short."""
    sent = 0
    for piece in pieces:
        sent += len(piece)
        yield piece
    if sent != size:
        raise RuntimeError(f"value of key {key!r} changed size while it was sent")
