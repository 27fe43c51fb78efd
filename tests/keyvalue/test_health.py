"""``voxhub doctor`` on keyvalue instances: corrupt records and missing chunks."""

from __future__ import annotations

from voxhub.client import EmbeddedHub
from voxhub.datatypes.keyvalue.keys import KEY_CHUNK, value_tkey
from voxhub.service.doctor import run_doctor
from voxhub.versioning.keys import data_key, instance_range, tkey_of

from .recording import RecordingStore

CHUNK = 64


def test_doctor_names_the_key_of_a_corrupt_record_or_a_missing_chunk() -> None:
    with EmbeddedHub(RecordingStore()) as hub:
        node = hub.create_repo("r").master
        kv = node.create_keyvalue("files", chunk_bytes=CHUNK)
        kv["big"] = b"x" * (3 * CHUNK)
        kv["small"] = b"fine"
        assert run_doctor(hub.service).ok
        info = hub.catalog.instance(node.uuid, "files")
        chunk = next(
            k
            for k, _ in hub.store.scan(*instance_range(info.instance_id), keys_only=True)
            if tkey_of(k)[0] == KEY_CHUNK
        )
        hub.store.delete(chunk)
        version = hub.catalog.node(node.uuid).version_id
        hub.store.put(data_key(info.instance_id, value_tkey("small"), version), b"\x07junk")
        report = run_doctor(hub.service)
        messages = [f.problem.message for f in report.findings]
        assert len(messages) == 2
        assert "the stored record of key 'small' is corrupt" in messages[0]
        assert messages[1] == "key 'big': 1 of its 3 chunks are missing (first: chunk 0)"
