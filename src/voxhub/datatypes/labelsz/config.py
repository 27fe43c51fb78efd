"""A labelsz instance's config: the annotation it counts and the ROI that limits it.

Stored as ``{"sync": ["<annotation>", "<roi>"?], "roi": {"name": "<roi>", "uuid":
"<uuid>"}}`` (all optional). An ROI limits the counts in one of two ways:

* **static** (``"roi"``, DVID's ``ROI`` setting ``"<roi name>,<uuid>"`` naming a
  *committed* version): the roi instance as that version holds it, which never changes;
* **live** (the roi instance among the ``"sync"`` names: DVID's ``ROI`` setting with
  only a name, or naming an open version, or ``POST sync``): at every version, the ROI as
  *that* version holds it; replacing or deleting the ROI there recounts in the same
  transaction (:mod:`.recount`).

The check and the resolution of a UUID prefix happen when the instance is created, and
again when ``POST sync`` changes what it follows (:func:`resolve_labelsz_config`).
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


def parse_roi_setting(value: Any, key: str = "ROI") -> RoiSpec | str:
    """DVID's ``"<roi name>,<uuid>"`` as a :class:`RoiSpec`, or a bare ``"<roi name>"``
    (a live ROI) as the name (400 naming the setting otherwise)."""
    parts = [p.strip() for p in setting_text(key, value).split(",")]
    if len(parts) == 1 and parts[0]:
        return parts[0]
    if len(parts) != 2 or not all(parts):
        raise InvalidRequest(
            f"setting {key!r} must be '<roi name>' or '<roi name>,<uuid>', got {value!r}"
        )
    return RoiSpec(parts[0], parts[1])


def _with_roi(config: dict[str, Any], roi: RoiSpec | str) -> dict[str, Any]:
    """``config`` limited to ``roi``: a static one under ``"roi"``, a live one (a name)
    among the ``"sync"`` names."""
    if isinstance(roi, RoiSpec):
        return {**config, ROI_KEY: roi.to_json()}
    return {**config, SYNC_KEY: [*config.get(SYNC_KEY, []), roi]}


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
        config = _with_roi(config, parse_roi_setting(settings["roi"]))
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
        return _with_roi(out, parse_roi_setting(roi, "config 'roi'"))
    if roi is not None:
        out[ROI_KEY] = roi
        roi_of(out)
    return out


def resolve_labelsz_config(
    access: StoreAccess, repo: str, config: dict[str, Any]
) -> dict[str, Any]:
    """The static ROI a labelsz names must be an roi instance of the repo (400
    otherwise); its UUID is stored in full. Naming an open version makes it a live ROI
    (see the module doc). A labelsz has one ROI, static or live."""
    roi = roi_of(config)
    if roi is None:
        return config
    catalog = access.catalog
    live = [n for n in config.get(SYNC_KEY, []) if _is_roi(access, repo, n)]
    if live:
        raise InvalidRequest(
            f"a labelsz counts within one ROI: the static ROI {roi.dvid!r} or the live "
            f"ROI {live[0]!r}, not both"
        )
    try:
        node = catalog.node(roi.uuid)
        info = catalog.instance(repo, roi.name)
    except NotFound as e:
        raise InvalidRequest(f"ROI {roi.dvid!r}: {e}") from None
    if node.repo != catalog.repo(repo).root:
        raise InvalidRequest(f"ROI {roi.dvid!r}: version {roi.uuid} is in another repo")
    if info.typename != "roi":
        raise InvalidRequest(f"ROI {roi.dvid!r}: {roi.name!r} is a {info.typename}, not an roi")
    if not node.locked:  # an open version's ROI may change: follow it live
        config = {k: v for k, v in config.items() if k != ROI_KEY}
        return _with_roi(config, roi.name)
    return {**config, ROI_KEY: RoiSpec(roi.name, node.uuid).to_json()}


def _is_roi(access: StoreAccess, repo: str, name: str) -> bool:
    try:
        return access.catalog.instance(repo, name).typename == "roi"
    except NotFound:
        return False
