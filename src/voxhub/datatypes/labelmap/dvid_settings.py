"""DVID's instance-creation settings of labelmap instances → their config.

``labelmap`` uses ``BlockSize`` (default ``64,64,64``, each side a multiple of 16 as DVID
requires), ``VoxelSize``, ``VoxelUnits``, ``MaxDownresLevel`` (default 0) and
``IndexedLabels: true``; it ignores every other setting (checked all the same when DVID
parses it, see :mod:`voxhub.datatypes.wire.dvid_settings`): ``IndexedLabels: false``
(voxhub always keeps the label index), ``CountLabels`` (it always counts),
``Compression`` (blocks are always compressed_segmentation + zstd), ``Background``,
``Checksum``... (the server reads ``Tags`` and ``versioned`` for every datatype). This is
the ``config_from_settings`` hook of the ``labelmap`` datatype, and
:func:`check_label_config` its ``check_config`` hook (a stored config posted as JSON).
"""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.dvid_settings import image_kwargs
from voxhub.datatypes.wire.dvid_settings import FromSettings, parse_bool, unused
from voxhub.errors import InvalidRequest

LABEL_KEYS = frozenset({"blocksize", "voxelsize", "voxelunits", "maxdownreslevel"})
#: DVID's rule for labelmap blocks (voxhub itself needs only multiples of 8)
LABEL_BLOCK_MULTIPLE = 16


def label_config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """A labelmap config built as ``Node.create_labels`` builds it (uint64, cseg codec),
    and the settings it ignored."""
    used = LABEL_KEYS
    if parse_bool("IndexedLabels", settings.get("indexedlabels", False)):
        used |= {"indexedlabels"}  # what voxhub does anyway; "false" it ignores
    ignored = unused(settings, used)
    kwargs: dict[str, Any] = {"block_shape": (64, 64, 64), "voxel_size": (8.0, 8.0, 8.0)}
    kwargs.update(image_kwargs({k: v for k, v in settings.items() if k in LABEL_KEYS}))
    odd = [s for s in kwargs["block_shape"] if s % LABEL_BLOCK_MULTIPLE]
    if odd:
        bz, by, bx = kwargs["block_shape"]
        raise InvalidRequest(
            f"setting 'BlockSize' {bx},{by},{bz}: every side of a labelmap block must be a "
            f"positive multiple of {LABEL_BLOCK_MULTIPLE}"
        )
    try:
        config = ImageConfig.create(dtype="uint64", codec={"name": "cseg"}, **kwargs)
        return FromSettings(config.to_json(), ignored)
    except InvalidRequest as e:
        raise InvalidRequest(f"instance settings: {e}") from None


def check_label_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """A labelmap config posted as JSON, checked as ``Node.create_labels`` would build it:
    a valid image config of uint64 voxels stored with the cseg codec."""
    try:
        parsed = ImageConfig.from_json(config)
    except TypeError as e:
        raise InvalidRequest(f"config of a {typename} instance: {e}") from None
    if parsed.dtype != "uint64" or parsed.codec.get("name") != "cseg":
        raise InvalidRequest(
            f"config of a {typename} instance must have dtype uint64 and codec cseg, "
            f"not {parsed.dtype} and {parsed.codec.get('name')}"
        )
    return parsed.to_json()
