"""The mutation log's time format (Go's ``time.Time.String()``, DVID's ``Timestamp``) and
the key layout of per-node records and supervoxel splits."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.labelmap.keys import (
    KEY_RECORD,
    KEY_SV_SPLIT,
    describe_tkey,
    node_range,
    record_key,
    record_of,
    sv_split_key,
    sv_split_of,
)
from voxhub.datatypes.labelmap.mutlog import go_time

NS = st.integers(0, 4102444800 * 10**9)  # 1970 .. 2100
NODES = st.binary(min_size=16, max_size=16).map(bytes.hex)
IDS = st.integers(0, 2**64 - 1)


def _parse_go(text: str) -> int:
    """ns since the epoch of a Go ``time.Time.String()`` in UTC (the test's own reader)."""
    stamp, zone = text.rsplit(" ", 2)[0], text.rsplit(" ", 2)[1:]
    assert zone == ["+0000", "UTC"]
    whole, _, fraction = stamp.partition(".")
    assert fraction == fraction.rstrip("0")  # Go drops trailing zeros (and a bare dot)
    seconds = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    return int(seconds) * 10**9 + int(fraction.ljust(9, "0") if fraction else 0)


@settings(max_examples=200, deadline=None)
@given(NS)
def test_go_time_round_trips_to_the_nanosecond(ns: int) -> None:
    assert _parse_go(go_time(ns)) == ns


def test_go_time_examples() -> None:
    assert go_time(0) == "1970-01-01 00:00:00 +0000 UTC"
    assert go_time(1_613_264_282_708_146_297) == "2021-02-14 00:58:02.708146297 +0000 UTC"
    assert go_time(1_613_264_282_500_000_000) == "2021-02-14 00:58:02.5 +0000 UTC"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NODES, IDS), min_size=2, max_size=6))
def test_record_keys_sort_by_node_then_mutation_id(items: list[tuple[str, int]]) -> None:
    keys = [record_key(n, m) for n, m in items]
    assert sorted(keys) == [record_key(n, m) for n, m in sorted(items)]
    assert [record_of(k) for k in keys] == items
    assert {len(k) for k in keys} == {25}  # fixed width: prefix-free
    assert all(
        describe_tkey(k) == f"mutation:{n}/{m}" for k, (n, m) in zip(keys, items, strict=True)
    )


@settings(max_examples=200, deadline=None)
@given(NODES, NODES, IDS, IDS)
def test_a_node_range_holds_exactly_that_nodes_keys(a: str, b: str, mid: int, sv: int) -> None:
    for kind, key_of in ((KEY_RECORD, lambda n: record_key(n, mid)),
                         (KEY_SV_SPLIT, lambda n: sv_split_key(n, mid, sv))):  # fmt: skip
        start, end = node_range(kind, a)
        assert start <= key_of(a) < end
        assert (start <= key_of(b) < end) == (a == b)
    assert sv_split_of(sv_split_key(a, mid, sv)) == (a, mid, sv)


#: the fields of each record DVID appends to its mutation log (``mutate.go``), besides
#: Action, UUID, MutationID, Timestamp and the optional User and App
DVID_FIELDS = {
    "merge": {"Target", "Labels"},
    "cleave": {"OrigLabel", "CleavedLabel", "CleavedSupervoxels"},
    "renumber": {"NewLabel", "OrigLabel"},
    "split": {"Target", "NewLabel"},
    "split-supervoxel": {"Supervoxel", "Body", "SplitSupervoxel", "RemainSupervoxel", "SplitSize"},
}
#: what voxhub stored per action before the records took DVID's shape
LEGACY_FIELDS = {
    "merge": {"Target": [1], "Labels": [[2, 3]]},
    "cleave": {"OrigLabel": [1], "CleavedLabel": [9], "CleavedSupervoxels": [[2]]},
    "renumber": {"Pairs": [[[5, 1]], [[5, 1], [6, 2], [7, 3]]]},
    "split": {"Target": [1], "NewLabel": [9], "SplitVoxels": [17]},
    "split-supervoxel": {
        "Supervoxel": [2], "Body": [1], "SplitSupervoxel": [9], "RemainSupervoxel": [10],
        "SplitVoxels": [4],
    },
}  # fmt: skip


@st.composite
def legacy_records(draw: st.DrawFn) -> dict[str, object]:
    action = draw(st.sampled_from(sorted(LEGACY_FIELDS)))
    fields = {k: draw(st.sampled_from(v)) for k, v in LEGACY_FIELDS[action].items()}
    instant = datetime.fromtimestamp(draw(st.integers(0, 4102444800)), UTC)
    instant = instant.replace(microsecond=draw(st.integers(0, 999)) * 1000)  # milliseconds
    return {
        "MutationID": draw(IDS), "Action": action, "User": draw(st.sampled_from(["", "ann"])),
        "App": draw(st.sampled_from(["", "neu3"])), "Timestamp": instant.isoformat(), **fields,
    }  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(legacy_records(), NODES)
def test_records_in_the_earlier_shape_convert_to_dvids(old: dict, node: str) -> None:
    from voxhub.datatypes.labelmap.mutlog import convert_legacy

    converted = list(convert_legacy(old, node))
    pairs = old.get("Pairs")
    assert len(converted) == (len(pairs) if isinstance(pairs, list) else 1)
    for new in converted:
        optional = {k for k in ("User", "App") if old[k]}
        expected = {"Action", "UUID", "MutationID", "Timestamp"} | optional
        assert set(new) == expected | DVID_FIELDS[str(old["Action"])]
        assert (new["Action"], new["UUID"], new["MutationID"]) == (
            f"{old['Action']}-complete",
            node,
            old["MutationID"],
        )
        when = datetime.fromisoformat(str(old["Timestamp"]))
        whole = int(when.replace(microsecond=0).timestamp())
        assert _parse_go(new["Timestamp"]) == whole * 10**9 + when.microsecond * 1000
