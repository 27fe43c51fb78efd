"""A labelsz instance's config: the annotation it counts and the ROI that limits it.

Stored as ``{"sync": ["<annotation>"], "roi": {"name": "<roi>", "uuid": "<uuid>"}}``
(both optional). DVID's creation settings are ``Sync`` (the annotation) and ``ROI``
(``"<roi name>,<uuid>"``: a *static* ROI, the roi instance as a committed version holds
it). voxhub requires that version to be committed, since only then can counts limited
to it stay exact (a committed version never changes); the check and the resolution of a
UUID prefix happen when the instance is created (:func:`resolve_labelsz_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.sync_config import SYNC_KEY, parse_sync_names, sync_from_settings
from voxhub.datatypes.wire.dvid_settings import FromSettings, setting_text
from voxhub.errors import InvalidRequest, NotFound

ROI_KEY = "roi"
_USED = frozenset({"sync", "roi"})


@dataclass(frozen=True)
class RoiSpec:
    """A static ROI: the roi instance ``name`` as the committed version ``uuid`` holds it."""

    name: str
    uuid: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "uuid": self.uuid}

    @property
    def dvid(self) -> str:
        """DVID's ``"<name>,<uuid>"`` form."""
        return f"{self.name},{self.uuid}"


def parse_roi_setting(value: Any, key: str = "ROI") -> RoiSpec:
    """DVID's ``"<roi name>,<uuid>"`` (400 naming the setting otherwise)."""
    parts = [p.strip() for p in setting_text(key, value).split(",")]
    if len(parts) != 2 or not all(parts):
        raise InvalidRequest(f"setting {key!r} must be '<roi name>,<uuid>', got {value!r}")
    return RoiSpec(parts[0], parts[1])


def roi_of(config: dict[str, Any]) -> RoiSpec | None:
    """The ROI a stored config names, if any."""
    roi = config.get(ROI_KEY)
    if roi is None:
        return None
    if not isinstance(roi, dict) or not {"name", "uuid"} <= roi.keys():
        raise InvalidRequest(f"config 'roi' must be {{'name': ..., 'uuid': ...}}, got {roi!r}")
    return RoiSpec(str(roi["name"]), str(roi["uuid"]))


def labelsz_config_from_settings(typename: str, settings: dict[str, Any]) -> FromSettings:
    """DVID's creation settings (``Sync``, ``ROI``) → the stored config."""
    config = sync_from_settings(settings)
    if settings.get("roi") is not None:
        config[ROI_KEY] = parse_roi_setting(settings["roi"]).to_json()
    return FromSettings(config, frozenset(settings) - _USED)


def check_labelsz_config(typename: str, config: dict[str, Any]) -> dict[str, Any]:
    """A config posted as JSON (voxhub's own ``POST .../instance``), checked."""
    stray = sorted(set(config) - {SYNC_KEY, ROI_KEY})
    if stray:
        raise InvalidRequest(f"labelsz config has unknown keys {stray} (known: sync, roi)")
    out: dict[str, Any] = {}
    if config.get(SYNC_KEY):
        out[SYNC_KEY] = parse_sync_names(config[SYNC_KEY], "config 'sync'")
    roi = config.get(ROI_KEY)
    if isinstance(roi, str):
        roi = parse_roi_setting(roi, "config 'roi'").to_json()
    if roi is not None:
        out[ROI_KEY] = roi
        roi_of(out)
    return out


def resolve_labelsz_config(
    access: StoreAccess, repo: str, config: dict[str, Any]
) -> dict[str, Any]:
    """The ROI a new labelsz names must be an roi instance of the repo at a committed
    version of it (400 otherwise); its UUID is stored in full."""
    roi = roi_of(config)
    if roi is None:
        return config
    catalog = access.catalog
    try:
        node = catalog.node(roi.uuid)
        info = catalog.instance(repo, roi.name)
    except NotFound as e:
        raise InvalidRequest(f"ROI {roi.dvid!r}: {e}") from None
    if node.repo != catalog.repo(repo).root:
        raise InvalidRequest(f"ROI {roi.dvid!r}: version {roi.uuid} is in another repo")
    if info.typename != "roi":
        raise InvalidRequest(f"ROI {roi.dvid!r}: {roi.name!r} is a {info.typename}, not an roi")
    if not node.locked:
        raise InvalidRequest(
            f"ROI {roi.dvid!r}: version {node.uuid} is open; a labelsz counts within an ROI "
            "as a committed version holds it (commit it first)"
        )
    return {**config, ROI_KEY: RoiSpec(roi.name, node.uuid).to_json()}
