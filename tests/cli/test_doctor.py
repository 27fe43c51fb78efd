"""``voxhub doctor``: a store corrupted on purpose is diagnosed, and derived data repaired.

Each corruption is written straight into the store under the instance's own keys (what a
bug or a torn write would leave): a truncated block value, a wrong label index entry, a
stale pyramid block, extents that miss a block, a label counter and maxlabel below the
stored ids. The doctor must name each; ``--repair`` must rebuild the derived ones and
leave the store reading as a fresh write of the same voxels would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

import voxhub
from voxhub import Box
from voxhub.cli.main import cli
from voxhub.client import EmbeddedHub
from voxhub.datatypes.imageblk.keys import KEY_EXTENTS, block_key, encode_extents
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import KEY_MAXLABEL, index_key
from voxhub.versioning.counters import counter_key
from voxhub.versioning.keys import data_key

BLOCK = (8, 8, 8)


def doctor(store: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["doctor", str(store), *args])


def _make(path: Path) -> tuple[str, str]:
    """A committed root and an open child, an image (2 pyramid levels) and labels."""
    with voxhub.open(str(path), mode="a") as hub:
        repo = hub.create_repo("sick")
        root = repo.master
        em = root.create_volume("em", "uint8", block_shape=BLOCK, max_scale=2)
        em[0:16, 0:16, 0:32] = np.arange(16 * 16 * 32, dtype=np.uint64).reshape(16, 16, 32) % 251
        seg = root.create_labels("seg", block_shape=BLOCK, max_scale=1)
        labels = np.zeros((16, 16, 16), np.uint64)
        labels[:, :, :8] = 5
        labels[:, :8, 8:] = 9
        seg[0:16, 0:16, 0:16] = labels
        root.commit()
        leaf = root.newversion()
        leaf.labels("seg")[0:8, 0:8, 0:8] = np.uint64(11)
        return repo.root, leaf.uuid


def _put(path: Path, node: str, instance: str, tkey: bytes, value: bytes) -> None:
    """Write ``value`` under ``tkey`` of ``instance`` at ``node``, bypassing every rule."""
    with voxhub.open(str(path)) as hub:
        assert isinstance(hub, EmbeddedHub)
        info = hub.catalog.instance(node, instance)
        version = hub.catalog.node(node).version_id
        hub.store.put(data_key(info.instance_id, tkey, version), value)


def _value(path: Path, node: str, instance: str, tkey: bytes) -> bytes:
    with voxhub.open(str(path)) as hub:
        value = hub.catalog.view(node, instance).get(tkey)
        assert value is not None
        return value


def test_a_healthy_store_passes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _make(store)
    for args in ((), ("--all", "--all-nodes")):
        result = doctor(store, *args)
        assert result.exit_code == 0, result.output
        assert "no problems found" in result.output
        assert "checked" in result.output


def test_a_truncated_block_is_found_and_not_repaired(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, leaf = _make(store)
    tkey = block_key(0, (0, 0, 1))
    _put(store, leaf, "em", tkey, _value(store, leaf, "em", tkey)[:7])
    result = doctor(store)
    assert result.exit_code == 1
    assert "[decode]" in result.output
    assert "block 0:0,0,1 does not decode" in result.output
    assert leaf[:12] in result.output
    assert "not derived" in result.output
    parent = _value(store, leaf, "em", block_key(1, (0, 0, 0)))
    again = doctor(store, "--repair")  # nothing but the block holds its voxels
    assert again.exit_code == 1
    assert "[decode]" in again.output
    assert "[pyramid]" not in again.output
    # the pyramid above it is its only other copy: not rebuilt as if it were background
    assert _value(store, leaf, "em", block_key(1, (0, 0, 0))) == parent


def test_an_unreadable_label_block_keeps_its_index_entries(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, leaf = _make(store)
    tkey = block_key(0, (1, 0, 1))  # body 9's second block
    _put(store, leaf, "seg", tkey, b"\x00garbage")
    result = doctor(store, "--all", "--repair")
    assert result.exit_code == 1
    assert "[decode]" in result.output
    assert "[index]" not in result.output
    with voxhub.open(str(store)) as hub:
        assert isinstance(hub, EmbeddedHub)
        instance = hub.service.open_labels(leaf, hub.catalog.instance(leaf, "seg"))
        assert instance.index(9).blocks == {(0, 0, 1): {9: 512}, (1, 0, 1): {9: 512}}


def test_a_wrong_index_entry_is_found_and_repaired(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, leaf = _make(store)
    # 500 where 512 are, a block missing, a stray block
    wrong = LabelIndex(9, {(0, 0, 1): {9: 500}, (0, 1, 1): {9: 7}})
    _put(store, leaf, "seg", index_key(9), wrong.encode())
    result = doctor(store, "--all")
    assert result.exit_code == 1
    assert "[index]" in result.output
    assert "9" in result.output.split("[index]")[1]
    sampled = doctor(store)  # the sample holds every body of this small store
    assert "[index]" in sampled.output
    repaired = doctor(store, "--all", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "rewrote the label index of 1 bodies" in repaired.output
    with voxhub.open(str(store)) as hub:
        seg = hub.node(leaf).labels("seg")
        assert seg.size(9) == 16 * 8 * 8  # z 0..16, y 0..8, x 8..16
        assert isinstance(hub, EmbeddedHub)
        instance = hub.service.open_labels(leaf, hub.catalog.instance(leaf, "seg"))
        assert instance.index(9).blocks == {(0, 0, 1): {9: 512}, (1, 0, 1): {9: 512}}
    assert doctor(store, "--all").exit_code == 0


def test_a_stale_pyramid_block_and_short_extents_are_found_and_repaired(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _, leaf = _make(store)
    with voxhub.open(str(store)) as hub:
        before = hub.node(leaf).volume("em").read(Box((0, 0, 0), (4, 4, 8)), scale=2)
    stale = _value(store, leaf, "em", block_key(1, (0, 0, 0)))
    other = _value(store, leaf, "em", block_key(1, (0, 0, 1)))
    assert stale != other
    _put(store, leaf, "em", block_key(1, (0, 0, 0)), other)  # a block of another place
    _put(store, leaf, "em", bytes([KEY_EXTENTS, 0]), encode_extents(Box((0, 0, 0), (8, 8, 8))))
    for slot in range(1, 16):  # the whole extents: one block of the four
        _put(store, leaf, "em", bytes([KEY_EXTENTS, slot]), encode_extents(Box((0,) * 3, BLOCK)))
    result = doctor(store)
    assert result.exit_code == 1
    assert "[pyramid]" in result.output
    assert "scale 1" in result.output
    assert "[extents]" in result.output
    repaired = doctor(store, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "rebuilt 1 blocks of scale 1" in repaired.output
    assert _value(store, leaf, "em", block_key(1, (0, 0, 0))) == stale
    with voxhub.open(str(store)) as hub:
        em = hub.node(leaf).volume("em")
        assert em.read(Box((0, 0, 0), (4, 4, 8)), scale=2).tobytes() == before.tobytes()
        assert em.bounds.stop == (16, 16, 32)


def test_a_lagging_counter_and_maxlabel_are_found_and_repaired(tmp_path: Path) -> None:
    store = tmp_path / "store"
    root, leaf = _make(store)
    with voxhub.open(str(store)) as hub:
        assert isinstance(hub, EmbeddedHub)
        info = hub.catalog.instance(root, "seg")
        hub.store.put(counter_key(f"labels/{info.data_uuid}"), b"3")  # below 5, 9 and 11
    _put(store, leaf, "seg", bytes([KEY_MAXLABEL, 0]), (4).to_bytes(8, "big"))
    for slot in range(1, 16):
        _put(store, leaf, "seg", bytes([KEY_MAXLABEL, slot]), (4).to_bytes(8, "big"))
    result = doctor(store, "--node", leaf)
    assert result.exit_code == 1
    assert "[counter]" in result.output
    assert "[maxlabel]" in result.output
    assert doctor(store, "--node", leaf, "--repair").exit_code == 0
    with voxhub.open(str(store)) as hub:
        seg = hub.node(leaf).labels("seg")
        assert seg.maxlabel() == 11
        assert seg.next_labels(1)[0] > 11


def test_problems_at_a_committed_node_are_reported_not_repaired(tmp_path: Path) -> None:
    store = tmp_path / "store"
    root, _ = _make(store)
    wrong = LabelIndex(5, {(0, 0, 0): {5: 1}})
    _put(store, root, "seg", index_key(5), wrong.encode())
    result = doctor(store, "--node", root, "--repair")
    assert result.exit_code == 1
    assert "committed" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--repo", "nosuch"), ["nosuch"]),
        (("--node", "nosuch"), ["nosuch"]),
        (("--repo", "sick", "--instance", "nosuch"), ["nosuch"]),
        (("--instance", "nosuch"), ["nosuch"]),
    ],
)
def test_unknown_names_are_one_line_errors(
    tmp_path: Path, args: tuple[str, ...], words: list[str]
) -> None:
    store = tmp_path / "store"
    _make(store)
    result = doctor(store, *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error:")
    for word in words:
        assert word in result.output
