"""Opening a keyvalue instance at a node from the catalog."""

from __future__ import annotations

from voxhub.datatypes.keyvalue.config import KeyValueConfig
from voxhub.datatypes.keyvalue.instance import KeyValueInstance
from voxhub.errors import InvalidRequest
from voxhub.versioning.catalog import Catalog, InstanceInfo

TYPENAME = "keyvalue"


def open_keyvalue_instance(
    catalog: Catalog, node_uuid: str, info: InstanceInfo
) -> KeyValueInstance:
    """The keyvalue instance ``info`` as seen at ``node_uuid`` (blocking: reads the
    catalog)."""
    if info.typename != TYPENAME:
        raise InvalidRequest(f"instance {info.name!r} is a {info.typename}, not a keyvalue")
    view = catalog.view(node_uuid, info.name)
    return KeyValueInstance(view, KeyValueConfig.from_json(info.config), info.name)
