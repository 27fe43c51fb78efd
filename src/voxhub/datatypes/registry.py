"""The one registry of datatypes: DVID typename → the datatype that serves it.

Built-ins register here the same way a plug-in would (``register``). Re-registering a
typename with a different datatype is refused so one package cannot silently shadow
another.

Built-ins are loaded lazily (their modules import numpy and codecs) but always completely:
the first ``register``, ``datatype_for`` or ``typenames`` from any thread loads all of
them under one lock, and "loaded" is a flag set after the last one, never "the registry is
not empty" (which hid the built-ins once a plug-in registered first, and let a second
thread look up a built-in while the first was still registering them).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voxhub.datatypes.dvid_differences import NO_DIFFERENCES, DvidDifferences
from voxhub.errors import Conflict, InvalidRequest
from voxhub.versioning.protocols import VersionedReader, VersionedTxn, VersionedView

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from voxhub.datatypes.access import StoreAccess
    from voxhub.datatypes.health import CheckOptions, Problem, ValueCheck
    from voxhub.datatypes.sync import (
        BuildSynced,
        ElementSource,
        LabelChange,
        LabelSource,
        MakeElementSource,
        MakeLabelSource,
        OnElementChange,
        OnLabelChange,
        OnSourceReset,
    )
    from voxhub.datatypes.wire.dvid_settings import FromSettings
    from voxhub.datatypes.wire.ndstore_face import ChannelOpener
    from voxhub.versioning.catalog import Catalog
    from voxhub.versioning.dag import NodeInfo
    from voxhub.versioning.records import InstanceInfo

#: DVID's JSON of one instance seen at a node: (store access, node UUID, instance) → JSON
DescribeInstance = Callable[["StoreAccess", str, "InstanceInfo"], dict[str, Any]]
#: ``voxhub doctor``'s problems of one instance at a node, and its repair there
CheckInstance = Callable[["StoreAccess", str, "InstanceInfo", "CheckOptions"], list["Problem"]]
RepairInstance = Callable[["StoreAccess", str, "InstanceInfo"], list[str]]
#: DVID's JSON of pyramid level N of an instance, served as the instance ``<name>_N``
DescribeLevel = Callable[["StoreAccess", str, "InstanceInfo", int], dict[str, Any]]


@dataclass(frozen=True)
class Datatype:
    """What the layers above need to know about a datatype without importing it."""

    #: family name, e.g. ``"imageblk"``
    name: str
    #: DVID typenames served, e.g. ``("uint8blk", "uint16blk")``
    typenames: tuple[str, ...]
    #: turn a type key into a human-readable string (merge reports, diffs)
    describe_tkey: Callable[[bytes], str]
    #: one-paragraph description served as help text
    summary: str
    #: whether a type key holds data recomputed from other keys (exempt from merge conflicts)
    is_derived: Callable[[bytes], bool] = lambda tkey: False
    #: recompute derived data at a merge child: (child view, instance config, parent
    #: views, tkeys that differ between the parents)
    repair_merge: (
        Callable[[VersionedView, dict[str, Any], Sequence[VersionedReader], Iterable[bytes]], None]
        | None
    ) = None
    #: HTTP routes of one instance, paths relative to ``/api/node/{uuid}/{name}`` (loaded
    #: lazily so that the numpy API never imports the web stack)
    routes: Callable[[], list[BaseRoute]] | None = None
    #: DVID's instance JSON (``Base``, ``Extended``, ``Extents``) at a node, as its ``GET
    #: info`` answers and ``/api/repos/info`` lists it (blocking); ``None``: ``Base`` only
    describe_instance: DescribeInstance | None = None
    #: the opener of its instances as ndstore/BossDB channels (loaded lazily, like
    #: ``routes``); ``None``: ndstore URLs refuse its instances
    ndstore: Callable[[], ChannelOpener] | None = None
    #: DVID's instance-creation settings (keys lower-cased, ``typename``, ``dataname`` and
    #: ``versioned`` removed) → the stored config of a new instance of a typename and the
    #: settings it ignores (DVID ignores what a type does not use); ``None``: not
    #: creatable over HTTP
    config_from_settings: Callable[[str, dict[str, Any]], FromSettings] | None = None
    #: a stored config posted as JSON (voxhub's own ``POST .../instance``) checked as the
    #: datatype's constructor checks it; ``None``: stored as given
    check_config: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    #: ``voxhub doctor`` (:mod:`voxhub.datatypes.health`): a checker of stored values
    #: built from an instance config, the derived-data check of an instance at a node,
    #: and its repair (one transaction; returns what it rebuilt); ``None``: not checked
    check_values: Callable[[dict[str, Any]], ValueCheck] | None = None
    check_instance: CheckInstance | None = None
    repair_instance: RepairInstance | None = None
    #: DVID's convention for downres grayscale (what neuroglancer's ``dvid://`` source
    #: reads): pyramid level N of instance ``name`` is the instance ``name_N``. The top
    #: level an instance config has (0: none), its ``info`` JSON at a level, and the
    #: read-only routes serving a level (the context's ``level`` says which); ``None``:
    #: the datatype's levels are not served under such names
    pyramid_levels: Callable[[dict[str, Any]], int] | None = None
    describe_level: DescribeLevel | None = None
    level_routes: Callable[[], list[BaseRoute]] | None = None
    #: what its HTTP face does differently from DVID (``/api/help/{type}`` lists it)
    dvid_differences: DvidDifferences = NO_DIFFERENCES
    #: instance paths (``"/ptquery"``) whose POST only reads (DVID's queries with a JSON
    #: body): a caller who may read the node may ask
    read_posts: frozenset[str] = frozenset()
    #: sync between instances (:mod:`voxhub.datatypes.sync`): the datatype families its
    #: instances may follow (``POST sync`` is served when not empty), what it does inside
    #: a followed labelmap's or annotation's transaction, how it rebuilds its derived data
    #: when a sync is set up, and how others see it as a source
    sync_targets: tuple[str, ...] = ()
    on_label_change: OnLabelChange | None = None
    on_element_change: OnElementChange | None = None
    on_source_reset: OnSourceReset | None = None
    build_synced: BuildSynced | None = None
    #: recompute, at a pending merge child, derived data that depends on other instances
    #: (after every instance's ``repair_merge``; one transaction)
    repair_merge_synced: Callable[[Catalog, NodeInfo, InstanceInfo], None] | None = None
    #: a new instance's config checked against its repo (instances, versions it names)
    #: and normalised, before the instance is created (400 naming what is wrong)
    resolve_config: Callable[[StoreAccess, str, dict[str, Any]], dict[str, Any]] | None = None
    label_source: MakeLabelSource | None = None
    element_source: MakeElementSource | None = None
    #: merges of datatypes that merge their keys item by item (keys exempt from the
    #: key-level check through ``is_derived``): the conflicting items of a merge of the
    #: parents, described (refused unless resolved), and the repair at the pending merge
    #: node, with the catalog at hand (used instead of ``repair_merge``)
    check_merge: Callable[[Catalog, Sequence[str], InstanceInfo], list[str]] | None = None
    repair_merge_at: Callable[[Catalog, NodeInfo, InstanceInfo, set[bytes]], None] | None = None
    #: what a diff between two nodes names, given the keys that differ (``None``: each
    #: key, described by ``describe_tkey``)
    diff_items: Callable[[Catalog, str, str, InstanceInfo, list[bytes]], list[str]] | None = None


_registry: dict[str, Datatype] = {}
_lock = threading.RLock()  # re-entrant: a lookup from the loading thread cannot deadlock
_builtins_loaded = False


def register(datatype: Datatype) -> None:
    """Register ``datatype`` under each of its typenames (built-ins are loaded first, so a
    plug-in can neither hide them nor claim one of their typenames)."""
    _load_builtins()
    with _lock:
        _register(datatype)


def _register(datatype: Datatype) -> None:
    for typename in datatype.typenames:
        current = _registry.get(typename)
        if current is not None and current != datatype:
            raise Conflict(f"typename {typename!r} is already registered by {current.name!r}")
    for typename in datatype.typenames:
        _registry[typename] = datatype


def datatype_for(typename: str) -> Datatype:
    """The datatype serving ``typename``; InvalidRequest lists the known ones if unknown."""
    _load_builtins()
    try:
        return _registry[typename]
    except KeyError:
        known = ", ".join(sorted(_registry))
        raise InvalidRequest(f"unknown datatype {typename!r}; known types: {known}") from None


def typenames() -> list[str]:
    """Every registered typename, sorted."""
    _load_builtins()
    return sorted(_registry)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:  # the fast path reads a flag only set once loading is complete
        return
    with _lock:
        if _builtins_loaded:
            return
        _register_builtins()
        _builtins_loaded = True


def _register_builtins() -> None:
    from voxhub.datatypes.imageblk.dvid_differences import IMAGE_DIFFERENCES
    from voxhub.datatypes.imageblk.dvid_settings import (
        check_image_config,
        image_config_from_settings,
    )
    from voxhub.datatypes.imageblk.keys import describe_tkey, is_derived
    from voxhub.datatypes.imageblk.merge import repair_after_merge

    _register(
        Datatype(
            name="imageblk",
            typenames=("uint8blk", "uint16blk", "uint32blk", "uint64blk", "float32blk"),
            describe_tkey=describe_tkey,
            summary="Image volumes stored as compressed blocks, with a multi-scale pyramid.",
            is_derived=is_derived,
            repair_merge=repair_after_merge,
            routes=_imageblk_routes,
            describe_instance=_describe_image,
            ndstore=_imageblk_ndstore,
            config_from_settings=image_config_from_settings,
            check_config=check_image_config,
            check_values=_image_values,
            check_instance=_check_image,
            repair_instance=_repair_image,
            pyramid_levels=_image_levels,
            describe_level=_describe_image_level,
            level_routes=_imageblk_level_routes,
            dvid_differences=IMAGE_DIFFERENCES,
        )
    )

    from voxhub.datatypes.labelmap import keys as label_keys
    from voxhub.datatypes.labelmap.dvid_differences import LABELMAP_DIFFERENCES
    from voxhub.datatypes.labelmap.dvid_settings import (
        check_label_config,
        label_config_from_settings,
    )

    _register(
        Datatype(
            name="labelmap",
            typenames=("labelmap",),
            describe_tkey=label_keys.describe_tkey,
            summary="64-bit supervoxel segmentations grouped into bodies by a versioned "
            "mapping, with an exact label index and merge/cleave mutations.",
            is_derived=label_keys.is_derived,
            repair_merge=_repair_labels,
            routes=_labelmap_routes,
            describe_instance=_describe_labels,
            ndstore=_labelmap_ndstore,
            config_from_settings=label_config_from_settings,
            check_config=check_label_config,
            check_values=_label_values,
            check_instance=_check_labels,
            repair_instance=_repair_labels_health,
            dvid_differences=LABELMAP_DIFFERENCES,
            label_source=_label_source,
        )
    )

    from voxhub.datatypes.roi import keys as roi_keys
    from voxhub.datatypes.roi.config import check_roi_config, roi_config_from_settings
    from voxhub.datatypes.roi.dvid_differences import ROI_DIFFERENCES

    _register(
        Datatype(
            name="roi",
            typenames=("roi",),
            describe_tkey=roi_keys.describe_tkey,
            summary="Regions of interest: span lists [z, y, x0, x1] of blocks, with point "
            "queries, voxel masks and DVID's partitions.",
            routes=_roi_routes,
            describe_instance=_describe_roi,
            config_from_settings=roi_config_from_settings,
            check_config=check_roi_config,
            check_values=lambda config: roi_keys.check_value,
            read_posts=frozenset({"/ptquery"}),
            dvid_differences=ROI_DIFFERENCES,
        )
    )

    from voxhub.datatypes.annotation import keys as annotation_keys
    from voxhub.datatypes.annotation.config import check_config as check_annotation_config
    from voxhub.datatypes.annotation.config import config_from_settings as annotation_settings
    from voxhub.datatypes.annotation.dvid_differences import ANNOTATION_DIFFERENCES

    _register(
        Datatype(
            name="annotation",
            typenames=("annotation",),
            describe_tkey=annotation_keys.describe_tkey,
            summary="Point elements (synapses, notes) with kinds, tags, properties and "
            "relationships, indexed by block and, synced to a labelmap, by body.",
            is_derived=annotation_keys.is_derived,
            routes=_annotation_routes,
            describe_instance=_describe_annotation,
            config_from_settings=annotation_settings,
            check_config=check_annotation_config,
            dvid_differences=ANNOTATION_DIFFERENCES,
            read_posts=frozenset({"/labels"}),  # POST labels with body ids only reads
            sync_targets=("labelmap",),
            on_label_change=_annotation_on_label_change,
            build_synced=_annotation_build_synced,
            element_source=_annotation_element_source,
            check_merge=_annotation_check_merge,
            repair_merge_at=_annotation_repair_merge,
            diff_items=_annotation_diff,
        )
    )

    from voxhub.datatypes.labelsz import keys as labelsz_keys
    from voxhub.datatypes.labelsz.config import (
        check_labelsz_config,
        labelsz_config_from_settings,
        resolve_labelsz_config,
    )
    from voxhub.datatypes.labelsz.dvid_differences import LABELSZ_DIFFERENCES
    from voxhub.datatypes.labelsz.recount import build_synced as build_labelsz
    from voxhub.datatypes.labelsz.recount import on_element_change as labelsz_change
    from voxhub.datatypes.labelsz.recount import on_source_reset as labelsz_reset
    from voxhub.datatypes.labelsz.recount import repair_after_merge as repair_labelsz

    _register(
        Datatype(
            name="labelsz",
            typenames=("labelsz",),
            describe_tkey=labelsz_keys.describe_tkey,
            summary="Bodies ranked by their number of annotation elements of each kind "
            "(PreSyn, PostSyn, Gap, Note, AllSyn), kept exact in the annotation's "
            "transactions, optionally within an ROI (static, or live: recounted in the "
            "ROI's transactions).",
            is_derived=labelsz_keys.is_derived,
            routes=_labelsz_routes,
            describe_instance=_describe_labelsz,
            config_from_settings=labelsz_config_from_settings,
            check_config=check_labelsz_config,
            resolve_config=resolve_labelsz_config,
            sync_targets=("annotation", "roi"),
            on_element_change=labelsz_change,
            on_source_reset=labelsz_reset,
            build_synced=build_labelsz,
            repair_merge_synced=repair_labelsz,
            # POST counts/{kind} only reads (DVID answers it on GET, with a body)
            read_posts=frozenset(f"/counts/{kind}" for kind in labelsz_keys.KINDS),
            dvid_differences=LABELSZ_DIFFERENCES,
        )
    )

    from voxhub.datatypes.neuronjson import keys as neuronjson_keys
    from voxhub.datatypes.neuronjson.dvid_differences import NEURONJSON_DIFFERENCES
    from voxhub.datatypes.neuronjson.settings import (
        check_neuronjson_config,
        neuronjson_config_from_settings,
    )

    _register(
        Datatype(
            name="neuronjson",
            typenames=("neuronjson",),
            describe_tkey=neuronjson_keys.describe_tkey,
            summary="Per-body JSON documents (neuron metadata) with per-field user and time "
            "stamps, field-level updates and queries.",
            routes=_neuronjson_routes,
            describe_instance=_describe_neuronjson,
            config_from_settings=neuronjson_config_from_settings,
            check_config=check_neuronjson_config,
            check_values=_neuronjson_values,
            dvid_differences=NEURONJSON_DIFFERENCES,
            read_posts=frozenset({"/query"}),
        )
    )

    from voxhub.datatypes.keyvalue import keys as kv_keys
    from voxhub.datatypes.keyvalue.config import (
        check_keyvalue_config,
        keyvalue_config_from_settings,
    )
    from voxhub.datatypes.keyvalue.dvid_differences import KEYVALUE_DIFFERENCES
    from voxhub.datatypes.keyvalue.dvid_info import keyvalue_info_json
    from voxhub.datatypes.keyvalue.health import check_keyvalue, keyvalue_value_check
    from voxhub.datatypes.keyvalue.mutlog import diff_items as keyvalue_diff

    def keyvalue_routes() -> list[BaseRoute]:  # loaded lazily: the web stack
        module = importlib.import_module("voxhub.datatypes.keyvalue.routes")
        routes: list[BaseRoute] = module.keyvalue_routes()
        return routes

    _register(
        Datatype(
            name="keyvalue",
            typenames=("keyvalue",),
            describe_tkey=kv_keys.describe_tkey,
            summary="Versioned files under string keys; big values stored, written and "
            "read in chunks.",
            routes=keyvalue_routes,
            describe_instance=lambda access, node_uuid, info: keyvalue_info_json(info),
            config_from_settings=keyvalue_config_from_settings,
            check_config=check_keyvalue_config,
            check_values=keyvalue_value_check,
            check_instance=check_keyvalue,
            dvid_differences=KEYVALUE_DIFFERENCES,
            diff_items=keyvalue_diff,
        )
    )


def _repair_labels(
    child: VersionedView,
    config: dict[str, Any],
    parents: Sequence[VersionedReader],
    changed: Iterable[bytes],
) -> None:
    from voxhub.datatypes.labelmap.merge import repair_labels_after_merge

    repair_labels_after_merge(child, config, parents, changed)


def _label_source(txn: VersionedTxn, info: InstanceInfo) -> LabelSource:
    from voxhub.datatypes.imageblk.config import ImageConfig
    from voxhub.datatypes.labelmap.synced import TxnLabels

    return TxnLabels(txn, ImageConfig.from_json(info.config))


def _labelsz_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.labelsz.routes")
    routes: list[BaseRoute] = module.labelsz_routes()
    return routes


def _describe_labelsz(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    from voxhub.datatypes.labelsz.dvid_info import labelsz_info_json

    return labelsz_info_json(access, node_uuid, info)


def _imageblk_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.imageblk.routes")
    routes: list[BaseRoute] = module.image_routes()
    return routes


def _imageblk_level_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.imageblk.routes_levels")
    routes: list[BaseRoute] = module.level_routes()
    return routes


def _image_levels(config: dict[str, Any]) -> int:
    from voxhub.datatypes.imageblk.levels import top_level

    return top_level(config)


def _describe_image_level(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, level: int
) -> dict[str, Any]:
    from voxhub.datatypes.imageblk.levels import level_info_json

    return level_info_json(access, node_uuid, info, level)


def _labelmap_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.labelmap.routes")
    routes: list[BaseRoute] = module.label_routes()
    return routes


def _roi_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.roi.routes")
    routes: list[BaseRoute] = module.roi_routes()
    return routes


def _describe_roi(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    from voxhub.datatypes.roi.dvid_info import roi_info_json

    return roi_info_json(access, node_uuid, info)


def _describe_image(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    from voxhub.datatypes.imageblk.dvid_info import image_info_json

    return image_info_json(access, node_uuid, info)


def _describe_labels(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    from voxhub.datatypes.labelmap.dvid_info import label_info_json

    return label_info_json(access, node_uuid, info)


def _imageblk_ndstore() -> ChannelOpener:
    module = importlib.import_module("voxhub.datatypes.imageblk.routes_ndstore")
    opener: ChannelOpener = module.open_image_channel
    return opener


def _labelmap_ndstore() -> ChannelOpener:
    module = importlib.import_module("voxhub.datatypes.labelmap.routes_ndstore")
    opener: ChannelOpener = module.open_label_channel
    return opener


# -- voxhub doctor (loaded on first use) ---------------------------------------------------
def _image_values(config: dict[str, Any]) -> ValueCheck:
    from voxhub.datatypes.imageblk.health import block_value_check

    return block_value_check(config)


def _check_image(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, options: CheckOptions
) -> list[Problem]:
    from voxhub.datatypes.imageblk.health import check_image

    return check_image(access, node_uuid, info, options)


def _repair_image(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> list[str]:
    from voxhub.datatypes.imageblk.health import repair_image

    return repair_image(access, node_uuid, info)


def _label_values(config: dict[str, Any]) -> ValueCheck:
    from voxhub.datatypes.labelmap.health import label_value_check

    return label_value_check(config)


def _check_labels(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, options: CheckOptions
) -> list[Problem]:
    from voxhub.datatypes.labelmap.health import check_labels

    return check_labels(access, node_uuid, info, options)


def _repair_labels_health(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> list[str]:
    from voxhub.datatypes.labelmap.health import repair_labels

    return repair_labels(access, node_uuid, info)


# -- annotation (loaded on first use) ------------------------------------------------------
def _annotation_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.annotation.routes")
    routes: list[BaseRoute] = module.annotation_routes()
    return routes


def _describe_annotation(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    from voxhub.datatypes.annotation.dvid_info import annotation_info_json

    return annotation_info_json(access, node_uuid, info)


def _annotation_on_label_change(
    txn: VersionedTxn, info: InstanceInfo, labels: LabelSource, change: LabelChange
) -> frozenset[int]:
    from voxhub.datatypes.annotation.synced import on_label_change

    return on_label_change(txn, info, labels, change)


def _annotation_build_synced(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
    from voxhub.datatypes.annotation.synced import build_synced

    build_synced(access, node_uuid, info)


def _annotation_element_source(
    txn: VersionedTxn, info: InstanceInfo, labels: LabelSource | None
) -> ElementSource:
    from voxhub.datatypes.annotation.synced import element_source

    return element_source(txn, info, labels)


def _annotation_check_merge(
    catalog: Catalog, parents: Sequence[str], info: InstanceInfo
) -> list[str]:
    from voxhub.datatypes.annotation.merge import check_merge

    return check_merge(catalog, parents, info)


def _annotation_repair_merge(
    catalog: Catalog, child: NodeInfo, info: InstanceInfo, changed: set[bytes]
) -> None:
    from voxhub.datatypes.annotation.merge import repair_merge_at

    repair_merge_at(catalog, child, info, changed)


def _annotation_diff(
    catalog: Catalog, a: str, b: str, info: InstanceInfo, tkeys: list[bytes]
) -> list[str]:
    from voxhub.datatypes.annotation.merge import diff_items

    return diff_items(catalog, a, b, info, tkeys)


# -- neuronjson (loaded on first use) ------------------------------------------------------
def _neuronjson_routes() -> list[BaseRoute]:
    module = importlib.import_module("voxhub.datatypes.neuronjson.routes")
    routes: list[BaseRoute] = module.neuronjson_routes()
    return routes


def _describe_neuronjson(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    from voxhub.datatypes.neuronjson.dvid_info import neuronjson_info_json

    return neuronjson_info_json(access, node_uuid, info)


def _neuronjson_values(config: dict[str, Any]) -> ValueCheck:
    from voxhub.datatypes.neuronjson.health import neuronjson_value_check

    return neuronjson_value_check(config)
