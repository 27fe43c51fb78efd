"""Each block's label list and each sub-block's indices into it, from the stored tables.

DVID's native block (:mod:`.native_block`) lists a block's distinct labels ascending and,
per 8³ sub-block, the indices of that sub-block's distinct labels into the list, ascending.
A ``cseg`` sub-block names a table of uint64 labels, and the encoder gives the sub-blocks
of a block whose labels are the same one shared table: the demo's 64 blocks have 7,180
distinct tables for 32,768 sub-blocks (19,404 entries for 59,560). So ranking the labels,
mapping them to bodies, finding each block's list and re-sorting the tables a mapping
reordered is done once per distinct table here, and expanded to sub-blocks at the end.

A table is its position in the stream and its length (the sub-block's largest index plus
one): sub-blocks agreeing on both have the same labels, whoever wrote the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxhub.datatypes.labelmap.cseg_streams import CsegStreams, Mapping, ranks, word_pairs

#: blocks × distinct labels up to which block lists come from a presence table (or up to
#: this many cells per table entry)
PRESENCE_CELLS = 1 << 20
PRESENCE_PER_ENTRY = 8


@dataclass
class SubBlockLabels:
    """The label lists of blocks and sub-blocks, and how packed indices change."""

    block_labels: np.ndarray  # every block's distinct labels, ascending, concatenated
    n_labels: np.ndarray  # per block, how many
    ns: np.ndarray  # per sub-block, its number of distinct labels
    indices: np.ndarray  # per sub-block in order, its labels' indices into its block's list
    #: per sub-block, whether a voxel's packed index changes (its table was reordered or
    #: had labels merged by the mapping); ``None`` when none does
    moved: np.ndarray | None
    _table_of: np.ndarray  # per sub-block, its distinct table
    _first_entry: np.ndarray  # per distinct table, its first entry
    _local: np.ndarray  # per table entry, its new index in its sub-blocks

    def remapped(self, subs: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """The new packed indices of sub-blocks ``subs`` whose old ones are ``indices``
        (``(len(subs), 512)``)."""
        first = self._first_entry[self._table_of[subs]]
        remapped: np.ndarray = self._local[first[:, None] + indices]
        return remapped


def sub_block_labels(parsed: CsegStreams, mapping: Mapping | None = None) -> SubBlockLabels:
    """The label lists of the blocks of ``parsed``, every label replaced by
    ``mapping(label)`` when given."""
    gz, gy, gx = parsed.grid
    nsub, nb = gz * gy * gx, parsed.base.size
    table_of, rep = _distinct_tables(parsed.table, parsed.count, parsed.words.size)
    t_count = parsed.count[rep]
    first_entry = np.cumsum(t_count) - t_count
    n_entries = int(t_count.sum())
    tab = np.repeat(np.arange(rep.size), t_count)  # each entry's table
    at = np.arange(n_entries) - np.repeat(first_entry, t_count)  # and position there
    pos = np.repeat(parsed.table[rep] - 2 * first_entry, t_count) + 2 * np.arange(n_entries)
    distinct, label = ranks(word_pairs(parsed.words)[pos])
    if mapping is not None:
        distinct, body_of = ranks(np.asarray(mapping(distinct), np.uint64))
        label = body_of[label]
    block_labels, n_labels, in_block = _block_ranks((rep // nsub)[tab], label, nb, distinct)

    # each table's distinct labels ascending: sort keys (table, label) fit one int64
    key = tab * np.int64(distinct.size) + label
    unordered = key[1:] <= key[:-1]  # an entry not above the one before, in its table
    local, t_ns, t_moved, t_indices = at, t_count, None, in_block
    if unordered.any():
        # tables the mapping reordered, or where bodies merged (a label twice): only these
        # are sorted and deduplicated; every other entry stays where it is
        local, t_ns, t_moved, keep, order = _reorder(tab, at, t_count, key, unordered)
        t_indices = in_block[order][keep]

    # -- expanded to sub-blocks: each lists its table's indices ----------------------------
    ns = t_ns[table_of]
    starts = np.cumsum(t_ns) - t_ns
    run_at = np.cumsum(ns) - ns
    indices = t_indices[np.repeat(starts[table_of] - run_at, ns) + np.arange(int(ns.sum()))]
    moved = None if t_moved is None else t_moved[table_of]
    return SubBlockLabels(block_labels, n_labels, ns, indices, moved, table_of, first_entry, local)


def _distinct_tables(
    table: np.ndarray, count: np.ndarray, n_words: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per sub-block its distinct table (number), and per distinct table one sub-block
    using it; a table is its position (below ``n_words``) and its length. (A scatter by
    position: hashing or sorting 32k positions costs ten times more.)"""
    subs = np.arange(table.size, dtype=np.int32)
    owner = np.empty(n_words, np.int32)  # only read where just written
    owner[table] = subs  # one of the sub-blocks naming each position
    rep_of = owner[table]
    other_length = count[rep_of] != count
    rep_of[other_length] = subs[other_length]  # a length of its own: a table of its own
    is_rep = rep_of == subs
    table_of: np.ndarray = (np.cumsum(is_rep) - 1)[rep_of]
    return table_of, np.flatnonzero(is_rep)


def _reorder(
    tab: np.ndarray, at: np.ndarray, count: np.ndarray, key: np.ndarray, unordered: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For entries (table ``tab``, position ``at``) with sort keys ``key`` (table,
    label), of which ``unordered[i - 1]`` tells entry ``i`` is not above its predecessor:
    each entry's rank among its table's distinct labels, each table's number of
    them and whether any of its entries changed position, which entries start a distinct
    label (``keep``) and the order that sorts the entries (table, label)."""
    touched = np.zeros(count.size, bool)
    touched[tab[1:][unordered]] = True
    (mine,) = np.nonzero(touched[tab])  # the entries of those tables, in order
    sorted_mine = mine[np.argsort(key[mine], kind="stable")]
    k = key[sorted_mine]
    new = np.ones(k.size, bool)
    new[1:] = k[1:] != k[:-1]
    rank = np.cumsum(new) - 1
    tables = tab[sorted_mine]
    starts = np.ones(k.size, bool)
    starts[1:] = tables[1:] != tables[:-1]
    run = np.cumsum(starts) - 1
    local = at.copy()
    local[sorted_mine] = rank - rank[starts][run]
    ns = count.copy()
    ns[tables[starts]] = np.bincount(run[new], minlength=int(run[-1]) + 1)
    moved = np.zeros(count.size, bool)
    moved[tab[mine][local[mine] != at[mine]]] = True
    order = np.arange(tab.size)
    order[mine] = sorted_mine
    keep = np.ones(tab.size, bool)
    keep[mine] = new
    return local, ns, moved, keep, order


def _block_ranks(
    block: np.ndarray, label: np.ndarray, nb: int, distinct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block its distinct labels ascending (all blocks' lists concatenated) and how
    many, and per entry (``block[i]``, ``label[i]`` a rank in ``distinct``) its label's
    rank in its block's list. A presence table of blocks × labels when that is small
    (typical: a few hundred blocks sharing a few thousand labels), else a sort."""
    nd = distinct.size
    if nb * nd <= max(PRESENCE_CELLS, PRESENCE_PER_ENTRY * block.size):
        # one running count over the flat table: a label's rank in its block is the count
        # at its cell less the count before its block's row
        cell = block * nd + label
        present = np.zeros(nb * nd, bool)
        present[cell] = True
        running = np.cumsum(present, dtype=np.int32)
        row_end = running[nd - 1 :: nd]
        before = np.concatenate(([0], row_end[:-1]))
        cols = np.flatnonzero(present) % nd
        return distinct[cols], row_end - before, running[cell] - 1 - before[block]
    order = np.argsort(block * np.int64(nd) + label, kind="stable")
    b_blk, b_lab = block[order], label[order]
    new = np.ones(block.size, bool)
    new[1:] = (b_blk[1:] != b_blk[:-1]) | (b_lab[1:] != b_lab[:-1])
    rank = np.cumsum(new) - 1
    first = rank[np.searchsorted(b_blk, np.arange(nb))]
    in_block = np.empty(block.size, np.int64)
    in_block[order] = rank - first[b_blk]
    return distinct[b_lab[new]], np.bincount(b_blk[new], minlength=nb), in_block
