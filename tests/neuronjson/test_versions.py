"""neuronjson across versions: each node reads what was written on its own lineage, and
an unversioned instance is one set of documents at every node."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub.client import EmbeddedHub
from voxhub.datatypes.neuronjson.document import merge_document, parse_document
from voxhub.datatypes.neuronjson.keys import doc_key, doc_range

BODIES = st.integers(1, 4)
ops = st.lists(
    st.tuples(
        st.sampled_from(["root", "left", "right"]),
        st.sampled_from(["update", "replace", "delete"]),
        BODIES,
        st.dictionaries(st.sampled_from(["t", "n"]), st.one_of(st.integers(0, 2), st.none())),
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(ops, ops)
def test_each_node_reads_its_own_lineage(before: list[Any], after: list[Any]) -> None:
    """Writes at the root, then at two children of the committed root: every node's
    documents equal a model replaying the writes of its lineage with DVID's rules."""
    with voxhub.open("memory://") as hub:
        root = hub.create_repo("v").master
        handles = {"root": root.create_neuronjson("nj", user="u")}
        models: dict[str, dict[int, dict[str, Any]]] = {"root": {}}

        def apply(name: str, kind: str, body: int, fields: dict[str, Any]) -> None:
            nj, model = handles[name], models[name]
            if kind == "delete":
                if body in nj:
                    del nj[body]
                model.pop(body, None)
                return
            nj.update(body, fields, replace=kind == "replace")
            old = model.get(body)
            new = merge_document(
                old, parse_document(fields, body), user="u", now="", replace=kind == "replace"
            )
            model[body] = {f: v for f, v in new.items() if not f.endswith(("_user", "_time"))}

        for _name, kind, body, fields in before:
            apply("root", kind, body, fields)
        root.commit()
        for name, node in (("left", root.newversion()), ("right", root.branch("b"))):
            handles[name] = node.neuronjson("nj", user="u")
            models[name] = {b: dict(d) for b, d in models["root"].items()}
        frozen = {b: dict(d) for b, d in models["root"].items()}
        for name, kind, body, fields in after:
            if name != "root":  # the root is committed
                apply(name, kind, body, fields)
        models["root"] = frozen
        for name, nj in handles.items():
            assert {b: nj[b] for b in nj} == models[name], name
            assert nj.keys() == sorted(models[name])


def test_an_unversioned_instance_is_written_at_committed_nodes_and_seen_everywhere() -> None:
    with voxhub.open("memory://") as hub:
        root = hub.create_repo("u").master
        nj = root.create_neuronjson("shared", versioned=False, user="u")
        root.commit()
        nj[5] = {"t": "a"}  # the root is committed: allowed for unversioned data, as DVID
        child = root.newversion()
        child.neuronjson("shared").update(6, {"t": "b"})
        assert nj.keys() == [5, 6]
        assert child.neuronjson("shared")[5] == {"bodyid": 5, "t": "a"}


def test_a_post_that_changes_nothing_writes_nothing() -> None:
    with EmbeddedHub.open("memory://") as hub:
        root = hub.create_repo("w").master
        root.create_neuronjson("nj", user="ann")[5] = {"t": "a", "n": 1}
        root.commit()
        child = root.newversion()
        nj = child.neuronjson("nj", user="bob")
        nj.update(5, {"t": "a"})  # the same value: no new stamps, no new version of the key
        assert hub.catalog.view(child.uuid, "nj").written_here(*doc_range()) == []
        nj.update(5, {"t": "b"})
        assert hub.catalog.view(child.uuid, "nj").written_here(*doc_range()) == [doc_key(5)]
