"""The one error table: every class's status and the JSON body."""

from __future__ import annotations

import pytest

from voxhub.errors import (
    AmbiguousUUID,
    CapabilityError,
    CodecError,
    Conflict,
    InvalidRequest,
    MergeConflict,
    NotFound,
    ReadOnlyError,
    StorageError,
    TooLarge,
    VersionLocked,
    VoxhubError,
)
from voxhub.server.errors import error_body, status_for


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("x"), 404),
        (VersionLocked("x"), 409),
        (Conflict("x"), 409),
        (MergeConflict("x", {}), 409),
        (TooLarge("x"), 413),
        (InvalidRequest("x"), 400),
        (AmbiguousUUID("x"), 400),
        (ReadOnlyError("x"), 403),
        (StorageError("x"), 503),
        (CapabilityError("x"), 501),
        (VoxhubError("x"), 500),
    ],
)
def test_status_table(error: VoxhubError, status: int) -> None:
    assert status_for(error, "POST") == status


def test_codec_error_is_the_servers_fault_on_reads_only() -> None:
    assert status_for(CodecError("bad block"), "GET") == 500
    assert status_for(CodecError("bad body"), "POST") == 400


def test_error_body_names_type_and_carries_the_merge_report() -> None:
    assert error_body(NotFound("no repo 'x'")) == {"error": "no repo 'x'", "type": "NotFound"}
    body = error_body(MergeConflict("conflict", {"gray": ["0:0,0,0"]}))
    assert body["conflicts"] == {"gray": ["0:0,0,0"]}
    assert body["type"] == "MergeConflict"
