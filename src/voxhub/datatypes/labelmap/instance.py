"""``LabelInstance``: one labelmap instance at one version node."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from voxhub.blocks import fetch_blocks
from voxhub.blocks.pool import parallel_map, scratch
from voxhub.codecs.cseg import CsegCodec
from voxhub.codecs.cseg_mask import cseg_member_mask, cseg_member_runs_blocks
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.instance import DEFAULT_MAX_REQUEST_VOXELS
from voxhub.datatypes.imageblk.pyramid import build_pyramid
from voxhub.datatypes.imageblk.read import check_request, read_extents, read_image
from voxhub.datatypes.imageblk.write import coerce
from voxhub.datatypes.labelmap import ingest, mutations, mutlog, split, synced
from voxhub.datatypes.labelmap.body_blocks import body_blocks
from voxhub.datatypes.labelmap.counters import Counters
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.history import MutationHistory, Versions
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.index_history import index_before, keep_index_history
from voxhub.datatypes.labelmap.keys import KEY_INDEX, id_of, key_range
from voxhub.datatypes.labelmap.mapping import bodies_of, map_array
from voxhub.datatypes.labelmap.maxlabel import MAX_SET_MAXLABEL, raise_maxlabel, read_maxlabel
from voxhub.datatypes.labelmap.mutations import check_label, read_index
from voxhub.datatypes.labelmap.mutlog import Mutation, Who
from voxhub.datatypes.labelmap.rle import clip_runs, runs_from_mask
from voxhub.datatypes.labelmap.synced import LabelSync, Notify
from voxhub.datatypes.labelmap.write import write_label_blocks, write_labels
from voxhub.datatypes.meshes.body import Triangles, body_triangles
from voxhub.errors import CapabilityError, InvalidRequest, NotFound, StorageError
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedTxn, VersionedView

R = TypeVar("R")


class LabelInstance:
    """Supervoxel reads and writes, body reads through the mapping, the label index and
    the mutations, all at one node. Arrays are ``(z, y, x)`` uint64."""

    def __init__(
        self,
        view: VersionedView,
        config: ImageConfig,
        name: str,
        counters: Counters,
        versions: Versions | None = None,
        sync: LabelSync | None = None,
    ) -> None:
        self.view = view
        self.name = name
        self.config = config
        self._counters = counters
        self._versions = versions
        #: the instances following this labelmap (None: opened without the catalog)
        self._sync = sync
        codec = config.make_codec()
        self._layouts = [config.layout(s, codec) for s in range(config.max_scale + 1)]

    # -- voxels --------------------------------------------------------------------------
    def read(self, box: Box, scale: int = 0, *, supervoxels: bool = False) -> np.ndarray:
        """Body ids (or supervoxel ids) of ``box`` at ``scale``."""
        self.config.check_scale(scale, self.name)
        check_request(box, DEFAULT_MAX_REQUEST_VOXELS, f"read of {self.name!r}")
        labels = read_image(self.view, self._layouts[scale], box)
        return labels if supervoxels else map_array(self.view, labels)

    def write(self, offset: Vec3, data: Any, *, mask: np.ndarray | None = None) -> None:
        """Write supervoxel ids at scale 0; the index, pyramid and extents follow.
        ``mask`` (bool, the data's shape): only the voxels where it is true are written
        (``POST raw?roi=``); the others keep their stored values."""
        shape = np.shape(data)
        if len(shape) != 3:
            raise InvalidRequest(f"write data must be 3-D (z, y, x), got shape {shape}")
        box = Box.from_shape((shape[0], shape[1], shape[2]), offset)
        check_request(box, DEFAULT_MAX_REQUEST_VOXELS, f"write to {self.name!r}")
        self.view.check_writable()
        arr = coerce(data, np.dtype(np.uint64))
        synced.voxel_write(
            self._sync,
            lambda notify: write_labels(
                self.view, self.config, self._layouts, offset, arr, self._counters, notify, mask
            ),
        )

    def write_blocks(self, blocks: Mapping[Vec3, np.ndarray]) -> None:
        """Write whole scale-0 blocks (block coordinate ``(z, y, x)`` → uint64 block of
        the block shape) in one transaction; the index, pyramid and extents follow."""
        self.view.check_writable()
        synced.voxel_write(
            self._sync,
            lambda notify: write_label_blocks(
                self.view, self.config, self._layouts, blocks, self._counters, notify
            ),
        )

    @property
    def _notify(self) -> Notify:
        return self._sync.notify if self._sync is not None else synced.ignore

    def extents(self, scale: int = 0) -> Box | None:
        self.config.check_scale(scale, self.name)
        box = read_extents(self.view)
        return None if box is None else box.downsample(self.config.scale_factor(scale))

    def build_pyramid(self) -> None:
        build_pyramid(
            self.view, self.config, read_extents(self.view), self._layouts, downsample_labels
        )

    # -- labels ----------------------------------------------------------------------------
    def mapping(self, supervoxels: list[int]) -> list[int]:
        """The body of each supervoxel (0 for retired ones and for 0)."""
        table = bodies_of(self.view, supervoxels)
        return [table[int(s)] for s in supervoxels]

    def index(
        self, label: int, *, supervoxels: bool = False, mutid: int | None = None
    ) -> LabelIndex:
        """The label index of body ``label`` (of the body holding supervoxel ``label``);
        with ``mutid``, as it stood just before that mutation (:mod:`.index_history`)."""
        label = check_label(label)
        body = self.mapping([label])[0] if supervoxels else label
        if supervoxels and body == 0:
            raise InvalidRequest(f"supervoxel {label} was retired by a split")
        if mutid is None:
            return read_index(self.view, body)
        if isinstance(mutid, bool) or not isinstance(mutid, int) or not 0 <= mutid < 2**64:
            raise InvalidRequest(f"mutation id must be an unsigned 64-bit integer, got {mutid!r}")
        found = index_before(self.view, body, mutid)
        if found is None:
            raise NotFound(f"label {body} had no label index before mutation {mutid}")
        return found

    def size(self, label: int, *, supervoxels: bool = False) -> int:
        index = self.index(label, supervoxels=supervoxels)
        n = index.voxels(label if supervoxels else None)
        if n == 0:
            raise NotFound(f"supervoxel {label} has no voxels at this version")
        return n

    def supervoxels(self, label: int) -> list[int]:
        return sorted(self.index(label).supervoxel_sizes())

    def supervoxel_sizes(self, label: int) -> dict[int, int]:
        return self.index(label).supervoxel_sizes()

    def lastmod(self, label: int) -> dict[str, Any]:
        return dict(self.index(label).meta)

    def mask_blocks(self, label: int, *, supervoxels: bool = False) -> list[tuple[Box, np.ndarray]]:
        """``(block box, bool mask)`` for every block holding the label, in block order."""
        return self._per_block(label, supervoxels, lambda box, mask: (box, mask), reuse=False)

    def map_blocks(
        self,
        label: int,
        fn: Callable[[Box, np.ndarray], R],
        *,
        supervoxels: bool = False,
        scale: int = 0,
        within: Box | None = None,
    ) -> list[R]:
        """``fn(block box, bool mask)`` for every block of level ``scale`` holding the
        label and meeting ``within`` (level voxels), in block order. ``mask`` is a
        per-thread scratch buffer: ``fn`` must not keep it."""
        self.config.check_scale(scale, self.name)
        return self._per_block(label, supervoxels, fn, reuse=True, scale=scale, within=within)

    def _per_block(
        self,
        label: int,
        supervoxels: bool,
        fn: Callable[[Box, np.ndarray], R],
        *,
        reuse: bool,
        from_cseg: Callable[[list[Box], list[bytes | memoryview], list[np.ndarray]], list[R]]
        | None = None,
        scale: int = 0,
        within: Box | None = None,
    ) -> list[R]:
        """``fn(block box, bool mask)`` for every block holding the label, in block order,
        computed on the block pool (inline with ``from_cseg``, see below). The blocks are
        those of level ``scale`` that meet ``within`` (:func:`.body_blocks.body_blocks`).

        The index says which of the label's supervoxels each block holds and how many
        voxels: a block the label fills is never read, the others are masked against only
        the supervoxels they hold. ``cseg`` blocks are masked on their compressed form
        (:func:`cseg_member_mask`, no full decode), other codecs' blocks are decoded and
        compared. With ``reuse``, ``fn`` gets a per-thread scratch mask that it must not
        keep: that spares a fresh allocation (and its page faults) per block. With
        ``from_cseg``, partial ``cseg`` blocks skip the mask: ``from_cseg(block boxes,
        stored values, wanted ids per block)`` is called once for all of them, instead of
        ``fn`` per block, and returns their results in that order.
        """
        index = self.index(label, supervoxels=supervoxels)
        wanted = {label} if supervoxels else set(index.supervoxel_sizes())
        layout = self._layouts[scale]
        shape = layout.block_shape
        plan = body_blocks(index, wanted, self.config.scale_factor(scale), shape, within)
        coords, present = plan.coords, plan.present
        partial = [c for c in coords if c not in plan.filled]
        full = np.ones(shape, dtype=bool)
        full.flags.writeable = False  # shared by every filled block

        def missing(c: Vec3) -> StorageError:  # the index names a block that is not stored
            return StorageError(f"label index of {label} names missing block {c}")

        mask: Callable[[int], np.ndarray]
        direct: Callable[[Box, int], R] | None = None
        if isinstance(layout.codec, CsegCodec) and layout.dtype == np.uint64:
            stored = self.view.get_many([layout.tkey(c) for c in partial])

            def value_of(i: int) -> bytes | memoryview:
                value = stored[i]
                if value is None:
                    raise missing(partial[i])
                return value

            if from_cseg is not None:
                batch = from_cseg(
                    [layout.grid.block_box(c) for c in partial],
                    [value_of(i) for i in range(len(partial))],
                    [np.array(present[c], dtype=np.uint64) for c in partial],
                )

                def direct(box: Box, i: int) -> R:
                    return batch[i]

            def mask(i: int) -> np.ndarray:
                ids = np.array(present[partial[i]], dtype=np.uint64)
                out = scratch(shape, np.dtype(bool)) if reuse else None
                return cseg_member_mask(value_of(i), shape, ids, out)

        else:
            decoded = fetch_blocks(self.view, layout, partial)

            def mask(i: int) -> np.ndarray:
                block = decoded[i]
                if block is None:
                    raise missing(partial[i])
                ids = present[partial[i]]
                out: np.ndarray = block == np.uint64(ids[0])
                for sv in ids[1:]:
                    out |= block == np.uint64(sv)
                return out

        slot = {c: i for i, c in enumerate(partial)}

        def one(c: Vec3) -> R:
            i = slot.get(c)
            box = layout.grid.block_box(c)
            if i is None:
                return fn(box, full)
            if direct is not None:
                return direct(box, i)
            return fn(box, mask(i))

        if direct is not None:
            # The partial cseg blocks are done (in one batch, see above); the filled ones
            # are a copy each: inline, no pool hand-offs.
            return [one(c) for c in coords]
        return parallel_map(one, coords)

    def mesh(self, label: int) -> Triangles:
        """The surface of body ``label``: marching cubes of its voxels (nm, x/y/z)."""
        return body_triangles(self, label)

    def bbox(self, label: int, *, supervoxels: bool = False) -> Box:
        """The tight bounding box of the label's voxels."""
        lo = [2**62] * 3
        hi = [-(2**62)] * 3
        for bbox, mask in self.mask_blocks(label, supervoxels=supervoxels):
            where = np.nonzero(mask)
            for axis in range(3):
                if where[axis].size:
                    lo[axis] = min(lo[axis], bbox.start[axis] + int(where[axis].min()))
                    hi[axis] = max(hi[axis], bbox.start[axis] + int(where[axis].max()) + 1)
        return Box((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]))

    def sparsevol(
        self, label: int, *, supervoxels: bool = False, scale: int = 0, within: Box | None = None
    ) -> np.ndarray:
        """Runs ``(x, y, z, length)`` int32 of the label's voxels (cut at block edges) at
        level ``scale``, in that level's voxels, clipped to ``within`` if given. Only the
        blocks of the label that meet ``within`` are read."""
        self.config.check_scale(scale, self.name)
        shape = self._layouts[scale].block_shape
        # a filled block's runs: every row whole, at block (0, 0, 0); moved per block
        z, y = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
        filled = np.stack([np.zeros_like(z), y, z, np.full_like(z, shape[2])], axis=1)

        def int32_box(box: Box) -> Box:
            # Runs go out as int32 (runs_from_mask refuses more): those built here are
            # checked through their block, which holds them all.
            if min(box.start) < -(2**31) or max(box.stop) > 2**31:
                raise InvalidRequest(f"sparsevol: block {box} exceeds int32 coordinates")
            return box

        def from_mask(box: Box, mask: np.ndarray) -> np.ndarray:
            if mask.all():  # a block the label fills (or wholly covers)
                z, y, x = int32_box(box).start
                return filled + np.array([x, y, z, 0], np.int64)
            return runs_from_mask(mask, box.start)

        def from_cseg(
            boxes: list[Box], values: list[bytes | memoryview], ids: list[np.ndarray]
        ) -> list[np.ndarray]:
            # One vectorised pass over all the body's cseg blocks: per block, the ~50 small
            # numpy calls' fixed cost was most of the time (and threads lose to the GIL).
            origins = [int32_box(box).start for box in boxes]
            return cseg_member_runs_blocks(values, shape, ids, origins)

        parts = self._per_block(
            label,
            supervoxels,
            from_mask,
            reuse=True,
            from_cseg=from_cseg,
            scale=scale,
            within=within,
        )
        if not parts:
            return np.zeros((0, 4), np.int32)
        # int64 parts (cseg, filled blocks) fit: their blocks were checked
        runs = np.concatenate(parts, dtype=np.int32, casting="same_kind")
        return runs if within is None else clip_runs(runs, within)

    def ids_in(self, box: Box, *, supervoxels: bool = False) -> list[int]:
        """Every nonzero label present in ``box``, ascending."""
        labels = np.unique(self.read(box, supervoxels=supervoxels))
        return [int(v) for v in labels.tolist() if v]

    def labels(self) -> list[int]:
        """Every body with voxels at this node, ascending (``listlabels``)."""
        start, end = key_range(KEY_INDEX)
        return [id_of(k) for k, _ in self.view.scan(start, end, keys_only=True)]

    def maxlabel(self) -> int:
        return read_maxlabel(self.view)

    def next_label(self) -> int:
        """The id the next reservation would start at (nothing is reserved)."""
        return self._counters.next_label()

    def next_labels(self, count: int) -> range:
        """Reserve ``count`` fresh label ids (disjoint across callers and branches).

        DVID's rule: the reservation raises this version's maxlabel to its last id (other
        branches' maxlabel stays; their reservations start above it, the counter being
        repo-wide). One transaction moves both, like every move of the counter (so that
        on S3 no compare-and-swap ever meets a transaction on its key).
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidRequest(f"count must be a positive integer, got {count!r}")

        def reserve(txn: VersionedTxn) -> int:
            first = self._counters.reserve(txn, count)
            raise_maxlabel(txn, first + count - 1)
            return first

        first = self.view.transact(reserve)
        return range(first, first + count)

    def set_maxlabel(self, label: int) -> None:
        """Set this version's maxlabel to ``label`` if that raises it (DVID's ``POST
        maxlabel``: a smaller one changes nothing), and keep the label counter above it so that no
        reservation or new body gets an id up to it. As in DVID, 0 and ids above
        :data:`MAX_SET_MAXLABEL` (garbage, which would waste the id space) are refused."""
        if isinstance(label, bool) or not isinstance(label, int):
            raise InvalidRequest(f"maxlabel must be an integer label, got {label!r}")
        if not 0 < label <= MAX_SET_MAXLABEL:
            raise InvalidRequest(f"maxlabel {label} is not a label 1..2**48 (DVID's cap)")

        def run(txn: VersionedTxn) -> None:
            raise_maxlabel(txn, label)
            self._counters.see(txn, label)

        self.view.transact(run)

    def mutations(self, userid: str | None = None) -> list[dict[str, Any]]:
        """The mutation records made at this node (not its ancestors'), oldest first, in
        DVID's shape (:mod:`.mutlog`); only ``userid``'s with ``userid``."""
        here = mutlog.node_records(self.view, self.view.node_uuid)
        records = [*mutlog.legacy_records(self.view), *here]
        records.sort(key=lambda r: int(r["MutationID"]))
        return [r for r in records if userid is None or r.get("User") == userid]

    def splits_here(self) -> list[list[int]]:
        """``[mutation id, supervoxel, remain id, split id]`` of every supervoxel split
        made at this node, oldest first (DVID's ``supervoxel-splits`` rows)."""
        here = mutlog.node_sv_splits(self.view, self.view.node_uuid)
        return sorted(mutlog.legacy_sv_splits(self.view) + here)

    # -- history across versions (:mod:`.history`) ---------------------------------------
    def supervoxel_splits(self) -> list[Any]:
        """DVID's ``supervoxel-splits``: ``[uuid, [[mutid, old, remain, split], ...],
        ...]`` for this node and its first-parent ancestors that split supervoxels."""
        return self._history().supervoxel_splits()

    def mutations_range(self, beg: str, end: str) -> list[dict[str, Any]]:
        """The records of versions ``end`` back to ``beg`` along first parents (``end``'s
        first); ``InvalidRequest`` if ``beg`` is not ``end`` or an ancestor of it."""
        return self._history().mutations_range(beg, end)

    def history(self, label: int, old: str, new: str) -> list[dict[str, Any]]:
        """The merges, cleaves and splits from version ``old`` to ``new`` that made body
        ``label`` at ``new``, in DVID's short form, oldest first."""
        return self._history().label_history(check_label(label), old, new)

    def _history(self) -> MutationHistory:
        if self._versions is None:
            raise CapabilityError(f"{self.name!r} was opened without access to other versions")
        return MutationHistory(self.view.node_uuid, self._versions)

    # -- bulk ingest (:mod:`.ingest`) ---------------------------------------------------------
    def ingest_indices(self, indices: list[LabelIndex]) -> None:
        """Store label indexes as given (one with no blocks deletes the body's)."""
        ingest.ingest_indices(self.view, self.config, self._counters, indices, self._notify)

    def ingest_mappings(self, bodies: dict[int, int]) -> None:
        """Map each supervoxel of ``{sv: body}`` to its body; indexes are left as they are."""
        ingest.ingest_mappings(self.view, self._counters, bodies, self._notify)

    def ingest_blocks(self, scale: int, blocks: dict[Vec3, np.ndarray]) -> None:
        """Replace whole blocks of supervoxel ids at ``scale``; no pyramid is derived."""
        self.config.check_scale(scale, self.name)
        synced.voxel_write(
            self._sync if scale == 0 else None,
            lambda notify: ingest.ingest_blocks(
                self.view, self._layouts, self._counters, scale, blocks, notify
            ),
        )

    # -- mutations -------------------------------------------------------------------------
    # Each mutation takes its mutation id and any fresh label ids inside its own
    # transaction: a refused, failed or killed mutation consumes none, a landed one
    # always leaves the counters above what it stored. It keeps the indexes it replaces
    # (keep_index_history) for index reads as of a mutation.
    def merge(self, target: int, sources: list[int], who: Who | None = None) -> int:
        """Merge bodies ``sources`` into ``target``; returns the mutation id."""
        who = who or Who()
        target = check_label(target, "target label")
        sources = [check_label(s, "merged label") for s in sources]
        self.view.check_writable()

        def run(txn: VersionedTxn) -> int:
            mut = self._mutation(txn, who)
            txn = keep_index_history(txn, mut.id)
            mutations.merge(txn, target, sources, mut)
            self._notify(txn, synced.body_change([target, *sources]))
            return mut.id

        return self.view.transact(run)

    def split_supervoxel(
        self,
        sv: int,
        runs: np.ndarray,
        who: Who | None = None,
        chosen: tuple[int | None, int | None] = (None, None),
    ) -> tuple[int, int, int]:
        """Split supervoxel ``sv`` by ``runs`` (x, y, z, length rows): its voxels inside
        get one fresh id, the rest another; ``(split id, remain id, mutation id)``.

        ``chosen`` names the split and/or remain id instead (DVID's ``?split=`` and
        ``?remain=``): each must be unused at this node (409 otherwise), and the label
        counter never hands it out afterwards."""
        who = who or Who()
        self.view.check_writable()
        sv = check_label(sv, "supervoxel")
        wanted = [check_label(c, "chosen id") for c in chosen if c is not None]
        if sv in wanted or len(set(wanted)) < len(wanted):
            raise InvalidRequest(
                f"split and remain ids {chosen} must differ from each other and {sv}"
            )
        layouts = self._layouts

        def run(txn: VersionedTxn) -> tuple[int, int, int]:
            mut = self._mutation(txn, who)
            txn = keep_index_history(txn, mut.id)
            for label in wanted:
                split.check_unused(txn, label, "chosen id")
                self._counters.see(txn, label)
            missing = len(chosen) - len(wanted)
            first = self._counters.reserve(txn, missing) if missing else 0
            fresh = iter(range(first, first + missing))
            split_id, remain_id = (c if c is not None else next(fresh) for c in chosen)
            ids = (split_id, remain_id)
            change = split.split_supervoxel(txn, self.config, layouts, sv, runs, ids, mut)
            self._notify(txn, change)
            return split_id, remain_id, mut.id

        return self.view.transact(run)

    def split(self, body: int, runs: np.ndarray, who: Who | None = None) -> tuple[int, int]:
        """Move the voxels of ``body`` inside ``runs`` to a new body:
        ``(new body, mutation id)``. Supervoxels the runs cut are split in two."""
        who = who or Who()
        body = check_label(body)
        self.view.check_writable()
        layouts = self._layouts

        def run(txn: VersionedTxn) -> tuple[int, int]:
            mut = self._mutation(txn, who)
            txn = keep_index_history(txn, mut.id)
            count = split.ids_needed(read_index(txn, body))
            first = self._counters.reserve(txn, count)
            fresh = list(range(first, first + count))
            new, change = split.split(txn, self.config, layouts, body, runs, fresh, mut)
            self._notify(txn, change)
            return new, mut.id

        return self.view.transact(run)

    def renumber(self, pairs: list[tuple[int, int]], who: Who | None = None) -> list[int]:
        """Give body ``old`` the id ``new`` for each ``(new, old)``, in order and all or
        nothing; one mutation per pair, as DVID: their ids, ascending."""
        who = who or Who()
        pairs = [(check_label(n, "new label"), check_label(o)) for n, o in pairs]
        self.view.check_writable()

        def run(txn: VersionedTxn) -> list[int]:
            muts = [self._mutation(txn, who) for _ in pairs]
            # one transaction: its index copies go under the last id (see index_history)
            txn = keep_index_history(txn, muts[-1].id) if muts else txn
            split.renumber(txn, pairs, muts)
            for new, _ in pairs:  # stored now: the counter must never hand them out
                self._counters.see(txn, new)
            self._notify(txn, synced.body_change([b for pair in pairs for b in pair]))
            return [m.id for m in muts]

        return self.view.transact(run)

    def cleave(self, body: int, supervoxels: list[int], who: Who | None = None) -> tuple[int, int]:
        """Move ``supervoxels`` of ``body`` to a new body: ``(new body, mutation id)``."""
        who = who or Who()
        body = check_label(body)
        supervoxels = [check_label(s, "supervoxel") for s in supervoxels]
        self.view.check_writable()

        def run(txn: VersionedTxn) -> tuple[int, int]:
            mut = self._mutation(txn, who)
            txn = keep_index_history(txn, mut.id)
            new = self._counters.reserve(txn, 1)
            mutations.cleave(txn, body, supervoxels, new, mut)
            self._notify(txn, synced.body_change([body, new]))
            return new, mut.id

        return self.view.transact(run)

    def _mutation(self, txn: VersionedTxn, who: Who) -> Mutation:
        """A new mutation at this node, its repo-wide id taken in ``txn``."""
        return Mutation(self.view.node_uuid, self._counters.mutation_id(txn), who)
