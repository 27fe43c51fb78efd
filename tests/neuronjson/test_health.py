"""``voxhub doctor`` reads every neuronjson value and names the body of one that does not."""

from __future__ import annotations

from voxhub.client import EmbeddedHub
from voxhub.datatypes.neuronjson.keys import doc_key, schema_key
from voxhub.service.doctor import run_doctor


def test_doctor_names_unreadable_documents_and_schemas() -> None:
    with EmbeddedHub.open("memory://") as hub:
        node = hub.create_repo("flies").master
        nj = node.create_neuronjson("neurons", user="ann")
        nj.update_many({5: {"t": "a"}, 6: {"t": "b"}, 7: {"t": "c"}})
        nj.set_schema({"type": "object"})
        assert run_doctor(hub.service).ok
        view = hub.catalog.view(node.uuid, "neurons")
        view.put_many(
            [
                (doc_key(5), b'{"bodyid": 5, "t": '),
                (doc_key(6), b'{"bodyid": 60}'),
                (schema_key("schema"), b"\xff"),
            ]
        )
        report = run_doctor(hub.service)
        found = sorted(f.problem.message for f in report.findings)
        assert len(found) == 3
        assert found[0].startswith("schema is not JSON")
        assert found[1].startswith("the document of body 5 does not decode")
        assert found[2] == "the document of body 6 holds bodyid 60"
        assert nj.keys() == [5, 6, 7]
