"""What a datatype plugs into the ndstore (Open Connectome) and BossDB URL faces.

:mod:`voxhub.server.ndstore` parses the URL grammar and resolves the token and channel;
everything particular to a datatype happens in the :class:`NdstoreChannel` its registry
hook (``Datatype.ndstore``) opens. Every method blocks (it reads the store): the server
calls them from the thread pool. Services a datatype does not offer (ids and bounding
boxes need labels) answer 400 naming the channel's type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.wire import numbers
from voxhub.datatypes.wire.url_geometry import describe_xyz
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box
from voxhub.versioning.records import InstanceInfo

#: the kinds of bounding box BossDB's ``?type=`` names
BBOX_TYPES = ("loose", "tight")


class NdstoreChannel:
    """One instance at one node as ndstore's cutout service sees it."""

    def __init__(self, info: InstanceInfo, max_scale: int) -> None:
        self.info = info
        self.max_scale = max_scale

    @property
    def name(self) -> str:
        return self.info.name

    def resolution(self, text: str) -> int:
        """The URL's resolution segment as a level of this channel's pyramid (400 if not)."""
        return parse_res(text, self.max_scale, self.name)

    # -- every channel ----------------------------------------------------------------------
    def read(self, fmt: str, box: Box, res: int, limit: int) -> tuple[bytes, str]:
        """``(body, media type)`` of a cutout or slice of ``box`` at ``res`` in ``fmt``."""
        raise self._unsupported(f"a {fmt} cutout")

    def check_write(self, box: Box, limit: int) -> None:
        """Refuse a write of ``box`` (too large, committed node) before its body is read."""
        raise self._unsupported("POST")

    def write(self, fmt: str, body: bytes, box: Box, limit: int) -> None:
        """Decode a POSTed ``fmt`` body holding ``box`` and write it at resolution 0."""
        raise self._unsupported("POST")

    # -- label channels ---------------------------------------------------------------------
    def voxel_id(self, box: Box, res: int, limit: int) -> str:
        """``…/id/…``: the id at the one voxel of ``box``, as decimal text."""
        raise self._needs_labels("the id service")

    def ids(self, box: Box, res: int, limit: int) -> str:
        """``…/ids/…``: the unique nonzero ids in ``box``, comma-separated."""
        raise self._needs_labels("the ids service")

    def bbox_hdf5(self, label: int, res: int) -> bytes:
        """ndstore's RAMON HDF5 bounding box of ``label`` at ``res``."""
        raise self._needs_labels("boundingbox")

    def bossdb_bbox(self, label: int, res: int, kind: str) -> dict[str, Any]:
        """BossDB's bounding-box JSON of ``label`` at ``res`` (``loose`` or ``tight``)."""
        raise self._needs_labels("boundingbox")

    def _unsupported(self, what: str) -> InvalidRequest:
        return InvalidRequest(
            f"{what} is not served for channel {self.name!r}, a {self.info.typename}"
        )

    def _needs_labels(self, what: str) -> InvalidRequest:
        return InvalidRequest(
            f"{what} needs a labelmap (annotation) channel; "
            f"channel {self.name!r} is a {self.info.typename}"
        )


#: a datatype's hook: (store access, node UUID, instance, byte limit) → its channel
ChannelOpener = Callable[[StoreAccess, str, InstanceInfo, int], NdstoreChannel]


def parse_res(text: str, max_scale: int, channel: str) -> int:
    """The resolution segment as a level of the channel's pyramid."""
    res = numbers.parse_int(text, "resolution", 0, 255)
    if res > max_scale:
        raise InvalidRequest(
            f"resolution {res} out of range 0..{max_scale} for channel {channel!r}"
        )
    return res


def check_inside(box: Box, extents: Box | None, channel: str, res: int, what: str) -> None:
    """ndstore refuses reads past the data rather than clipping them; so do we."""
    if extents is None or not extents.contains(box):
        bounds = extents or Box((0, 0, 0), (0, 0, 0))
        raise InvalidRequest(
            f"{what} {describe_xyz(box)} lies outside the bounds {describe_xyz(bounds)} "
            f"of channel {channel!r} at resolution {res}"
        )


def parse_label(text: str) -> int:
    """A decimal uint64 id from the URL; 0 and non-ids refused (400)."""
    return numbers.parse_label(text)
