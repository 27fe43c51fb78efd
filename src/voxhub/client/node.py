"""``Node``: one version of a repo; commit, branch, newversion, and its data instances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voxhub.client.volume import Volume
from voxhub.datatypes.imageblk import ImageConfig, typename_for
from voxhub.datatypes.level_names import check_not_a_level
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import InvalidRequest
from voxhub.geometry import vec3
from voxhub.versioning.catalog import InstanceInfo, NodeInfo

if TYPE_CHECKING:
    from voxhub.client.annotations import Annotations
    from voxhub.client.hub import Hub
    from voxhub.client.keyvalue import KeyValue
    from voxhub.client.labels import LabelVolume
    from voxhub.client.labelsz import LabelSizes
    from voxhub.client.neuronjson import NeuronJson
    from voxhub.client.repo import Repo
    from voxhub.client.roi import Roi


class Node:
    """A version node. Reads work at any node; writes only at open (uncommitted) ones.

    Mutable facts (``locked``, ``children``, ``note``) are re-read on access, so a commit
    made by another process or server is seen at once.
    """

    def __init__(self, hub: Hub, uuid: str) -> None:
        self._hub = hub
        self.uuid = uuid

    def __repr__(self) -> str:
        info = self.info
        state = "committed" if info.locked else "open"
        return f"Node({self.uuid[:8]}…, branch={info.branch!r}, {state})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    # -- facts -----------------------------------------------------------------------
    @property
    def hub(self) -> Hub:
        """The hub this node was reached through."""
        return self._hub

    @property
    def info(self) -> NodeInfo:
        """A fresh snapshot of this node's metadata."""
        return self._hub.catalog.node(self.uuid)

    @property
    def repo(self) -> Repo:
        from voxhub.client.repo import Repo

        return Repo(self._hub, self.info.repo)

    @property
    def branch_name(self) -> str:
        return self.info.branch

    @property
    def locked(self) -> bool:
        """Whether the node is committed (immutable)."""
        return self.info.locked

    @property
    def note(self) -> str:
        return self.info.note

    @note.setter
    def note(self, text: str) -> None:
        self._hub.check_writable("setting a node's note")
        self._hub.catalog.set_note(self.uuid, text)

    @property
    def parents(self) -> list[Node]:
        return [Node(self._hub, u) for u in self.info.parents]

    @property
    def children(self) -> list[Node]:
        return [Node(self._hub, u) for u in self.info.children]

    # -- version operations ----------------------------------------------------------
    def commit(self, note: str | None = None, log: Sequence[str] = ()) -> Node:
        """Lock this node for good; returns ``self``."""
        self._hub.check_writable("commit")
        self._hub.catalog.commit(self.uuid, note=note, log=log)
        return self

    def newversion(self, note: str = "", uuid: str | None = None) -> Node:
        """A new open child on the same branch (this node must be committed)."""
        self._hub.check_writable("newversion")
        return Node(self._hub, self._hub.catalog.newversion(self.uuid, note=note, uuid=uuid).uuid)

    def branch(self, name: str, note: str = "", uuid: str | None = None) -> Node:
        """A new open child starting branch ``name`` (this node must be committed)."""
        self._hub.check_writable("branch")
        info = self._hub.catalog.branch(self.uuid, name, note=note, uuid=uuid)
        return Node(self._hub, info.uuid)

    def merge(self, *others: Node | str, note: str = "", resolve: bool = False) -> Node:
        """Merge this committed node with others into a new open child.

        Parents are in priority order (this node first). Conflicting changes are refused
        with :class:`~voxhub.errors.MergeConflict` naming each instance and key, unless
        ``resolve=True``, in which case the earlier parent wins each conflict.
        """
        return self.repo.merge(self, *others, note=note, resolve=resolve)

    def lineage(self) -> list[Node]:
        """Nodes from the repo root to this node along first parents (``git log``'s
        commits, oldest first)."""
        return [Node(self._hub, n.uuid) for n in self._hub.catalog.log(self.uuid)]

    @property
    def log_lines(self) -> list[str]:
        """The node's text log (DVID's ``/log``): what :meth:`append_log` and audited
        changes wrote, oldest first."""
        return self._hub.catalog.node_log(self.uuid)

    def append_log(self, *lines: str) -> None:
        """Add lines to the node's text log."""
        self._hub.check_writable("append_log")
        self._hub.catalog.append_node_log(self.uuid, lines)

    def diff(self, other: Node | str, instance: str) -> list[str]:
        """Keys of ``instance`` whose value differs between this node and ``other``.

        Volume blocks are reported as ``"scale:z,y,x"`` block coordinates.
        """
        other_uuid = other.uuid if isinstance(other, Node) else self._hub.catalog.node(other).uuid
        return self._hub.diff_keys(self.uuid, other_uuid, instance)

    # -- instances -------------------------------------------------------------------
    def instances(self) -> dict[str, str]:
        """``{name: typename}`` of every data instance in the repo."""
        return {i.name: i.typename for i in self._hub.catalog.instances(self.uuid)}

    def _instance_info(self, name: str) -> InstanceInfo:
        return self._hub.catalog.instance(self.uuid, name)

    def _create_instance(
        self, name: str, typename: str, config: dict[str, Any], *, versioned: bool = True
    ) -> None:
        """Create an instance at this node; a name that is DVID's name of a pyramid level
        of an existing image (``em_1`` while ``em`` has level 1) is refused (409) here as
        over HTTP, so it never hides the level neuroglancer reads."""
        check_not_a_level(self._hub.catalog, self.uuid, name)
        self._hub.catalog.create_instance(
            self.uuid, name, typename, config, versioned=versioned, at=self.uuid
        )

    def create_volume(
        self,
        name: str,
        dtype: str | Any,
        *,
        block_shape: Sequence[int] = (64, 64, 64),
        voxel_size: Sequence[float] = (1.0, 1.0, 1.0),
        voxel_units: str = "nanometers",
        codec: str | dict[str, Any] = "zstd",
        max_scale: int = 0,
        anisotropic: bool = False,
        versioned: bool = True,
    ) -> Volume:
        """Create an image volume instance (DVID's ``uint8blk`` family) in this repo.

        ``dtype`` is one of uint8, uint16, uint32, uint64, float32. ``codec`` is ``"zstd"``
        (level 1, the default), ``"raw"``, ``"lz4"``, ``"gzip"`` or ``"jpeg"`` (uint8 only,
        lossy), or a codec JSON spec. ``max_scale`` N keeps pyramid levels 1..N (2x mean
        downsampling in z, y and x, or y and x only when ``anisotropic``) up to date on
        every write. Sizes and voxel sizes are ``(z, y, x)``.
        """
        import numpy as np

        self._hub.check_writable(f"create_volume {name!r}")
        try:
            dtype_name = np.dtype(dtype).name
        except TypeError:
            raise InvalidRequest(f"unknown dtype {dtype!r}") from None
        codec_spec = {"name": codec} if isinstance(codec, str) else dict(codec)
        config = ImageConfig.create(
            dtype=dtype_name,
            block_shape=tuple(block_shape),
            voxel_size=tuple(float(v) for v in voxel_size),
            voxel_units=voxel_units,
            codec=codec_spec,
            max_scale=max_scale,
            anisotropic=anisotropic,
        )
        self._create_instance(name, typename_for(dtype_name), config.to_json(), versioned=versioned)
        return self.volume(name)

    def create_labels(
        self,
        name: str,
        *,
        block_shape: Sequence[int] = (64, 64, 64),
        voxel_size: Sequence[float] = (8.0, 8.0, 8.0),
        voxel_units: str = "nanometers",
        max_scale: int = 0,
        anisotropic: bool = False,
    ) -> LabelVolume:
        """Create a labelmap instance: uint64 supervoxels stored as compressed_segmentation
        + zstd, a versioned supervoxel→body mapping and an exact label index."""
        self._hub.check_writable(f"create_labels {name!r}")
        config = ImageConfig.create(
            dtype="uint64",
            block_shape=tuple(block_shape),
            voxel_size=tuple(float(v) for v in voxel_size),
            voxel_units=voxel_units,
            codec={"name": "cseg"},
            max_scale=max_scale,
            anisotropic=anisotropic,
        )
        self._create_instance(name, "labelmap", config.to_json())
        return self.labels(name)

    def labels(self, name: str) -> LabelVolume:
        """The labelmap instance ``name`` as seen at this node."""
        from voxhub.client.labels import LabelVolume

        info = self._instance_info(name)
        if datatype_for(info.typename).name != "labelmap":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not a labelmap")
        return LabelVolume(self, name, self._hub.open_labels(self.uuid, info))

    def create_annotations(
        self,
        name: str,
        *,
        sync: str | None = None,
        block_shape: Sequence[int] = (64, 64, 64),
    ) -> Annotations:
        """Create an annotation instance (point elements: synapses, notes...), following
        the labelmap ``sync`` if given, so that ``label(body)`` is exact after every write
        and every labelmap mutation."""
        from voxhub.datatypes.annotation.config import new_config

        self._hub.check_writable(f"create_annotations {name!r}")
        if sync is not None:
            self.labels(sync)  # 404 if missing, 400 if not a labelmap
        config = new_config(vec3(block_shape, "block_shape"), [sync] if sync else None)
        self._create_instance(name, "annotation", config)
        return self.annotations(name)

    def annotations(self, name: str) -> Annotations:
        """The annotation instance ``name`` as seen at this node."""
        from voxhub.client.annotations import Annotations

        info = self._instance_info(name)
        if datatype_for(info.typename).name != "annotation":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not an annotation")
        return Annotations(self, name, self._hub.open_annotations(self.uuid, info))

    def create_labelsz(
        self,
        name: str,
        *,
        annotations: str | None = None,
        roi: str | tuple[str, Node | str] | None = None,
    ) -> LabelSizes:
        """Create a labelsz instance counting the elements of each body in the annotation
        instance ``annotations`` (kept exact by every element write and labelmap
        mutation), limited to ``roi`` if given: ``(roi name, committed node)`` or DVID's
        ``"<roi name>,<uuid>"``. Bodies are counted now."""
        from voxhub.datatypes.labelsz.config import check_labelsz_config

        self._hub.check_writable(f"create_labelsz {name!r}")
        if isinstance(roi, tuple):
            roi_name, at = roi
            roi = f"{roi_name},{at.uuid if isinstance(at, Node) else at}"
        config = check_labelsz_config(
            "labelsz", {"sync": [annotations] if annotations else [], "roi": roi}
        )
        check_not_a_level(self._hub.catalog, self.uuid, name)
        self._hub.create_synced(self.uuid, name, "labelsz", config)
        return self.labelsz(name)

    def labelsz(self, name: str) -> LabelSizes:
        """The labelsz instance ``name`` as seen at this node."""
        from voxhub.client.labelsz import LabelSizes

        info = self._instance_info(name)
        if datatype_for(info.typename).name != "labelsz":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not a labelsz")
        return LabelSizes(self, name, self._hub.open_labelsz(self.uuid, info))

    def volume(self, name: str) -> Volume:
        """The image volume ``name`` as seen at this node."""
        info = self._instance_info(name)
        if datatype_for(info.typename).name != "imageblk":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not an image volume")
        return Volume(self, name, self._hub.open_image(self.uuid, info))

    def create_roi(self, name: str, block_size: int | Sequence[int] = 32) -> Roi:
        """Create an roi instance (DVID's ``roi``): spans of ``block_size`` voxel blocks
        (one edge, or ``(z, y, x)``; DVID's default 32)."""
        from voxhub.datatypes.roi.config import RoiConfig

        self._hub.check_writable(f"create_roi {name!r}")
        size = block_size if isinstance(block_size, int) else list(block_size)
        config = RoiConfig.create(size)
        self._create_instance(name, "roi", config.to_json())
        return self.roi(name)

    def roi(self, name: str) -> Roi:
        """The roi instance ``name`` as seen at this node."""
        from voxhub.client.roi import Roi

        info = self._instance_info(name)
        if datatype_for(info.typename).name != "roi":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not an roi")
        return Roi(self, name, self._hub.open_roi(self.uuid, info))

    def create_neuronjson(
        self, name: str, *, versioned: bool = True, user: str | None = None
    ) -> NeuronJson:
        """Create a neuronjson instance (DVID's per-body JSON documents of neuron
        metadata); ``user`` is who its writes through the handle are made by."""
        self._hub.check_writable(f"create_neuronjson {name!r}")
        self._create_instance(name, "neuronjson", {}, versioned=versioned)
        return self.neuronjson(name, user=user)

    def neuronjson(self, name: str, *, user: str | None = None) -> NeuronJson:
        """The neuronjson instance ``name`` as seen at this node (``user``: who writes
        through this handle; by default the login name, or the remote client's user)."""
        from voxhub.client.neuronjson import NeuronJson

        info = self._instance_info(name)
        if datatype_for(info.typename).name != "neuronjson":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not a neuronjson")
        return NeuronJson(self, name, self._hub.open_neuronjson(self.uuid, info), user)

    def create_keyvalue(
        self, name: str, *, versioned: bool = True, chunk_bytes: int | None = None
    ) -> KeyValue:
        """Create a keyvalue instance (DVID's ``keyvalue``): files under string keys.
        Unversioned (``versioned=False``), every node sees and writes the same keys, even
        committed ones. Values of ``chunk_bytes`` (default 4 MiB) or more are stored in
        chunks of that size."""
        from voxhub.datatypes.keyvalue.config import KeyValueConfig

        self._hub.check_writable(f"create_keyvalue {name!r}")
        config = KeyValueConfig() if chunk_bytes is None else KeyValueConfig(chunk_bytes)
        self._create_instance(name, "keyvalue", config.to_json(), versioned=versioned)
        return self.keyvalue(name)

    def keyvalue(self, name: str) -> KeyValue:
        """The keyvalue instance ``name`` as seen at this node (a mapping of str to bytes)."""
        from voxhub.client.keyvalue import KeyValue

        info = self._instance_info(name)
        if info.typename != "keyvalue":
            raise InvalidRequest(f"instance {name!r} is a {info.typename}, not a keyvalue")
        return KeyValue(self, name, self._hub.open_keyvalue(self.uuid, info))
