"""DVID's JSON description of a labelmap instance (``GET info``, ``/api/repos/info``)."""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.imageblk.dvid_info import instance_info_json
from voxhub.datatypes.labelmap.opening import counters_for, open_label_instance
from voxhub.versioning.records import InstanceInfo

TYPE_URL = "github.com/voxhub/voxhub/datatypes/labelmap"


def label_info_json(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    """DVID's ``GET info`` of a labelmap: the image JSON plus the label fields of
    ``Extended`` (``MaxLabel`` at this node, ``MaxRepoLabel`` and ``NextLabel`` from the
    repo-wide counter, ``IndexedLabels``, ``MaxDownresLevel``); the registry's
    ``describe_instance`` hook of labelmaps. Blocking: it reads the store."""
    instance = open_label_instance(access, node_uuid, info)
    out = instance_info_json(info, instance.config, instance.extents(0))
    out["Base"]["TypeURL"] = TYPE_URL
    next_label = counters_for(access.store, info).next_label()
    out["Extended"].update(
        {
            "MaxLabel": instance.maxlabel(),
            "MaxRepoLabel": max(instance.maxlabel(), next_label - 1),
            "NextLabel": next_label,
            "IndexedLabels": True,
            "MaxDownresLevel": instance.config.max_scale,
        }
    )
    return out
