"""DVID's names for pyramid levels: level N of instance ``em`` is also the instance ``em_N``.

DVID stores downres grayscale as separate instances ``<name>_1``, ``<name>_2``, ...;
neuroglancer's ``dvid://`` source finds an image's scales only under those names, in
``/api/repos/info``. A datatype whose registry entry has ``pyramid_levels`` (images)
gets its stored levels 1..N listed and served under them, read-only, from the
instance's own levels (``Datatype.level_routes``). The names follow the pyramid: they
appear and disappear with the instance's levels.

Rules for names:

* A real instance always wins: if ``em_1`` exists it is served and listed as itself,
  and only the levels of ``em`` whose names are free are derived.
* Creating an instance over HTTP under a name that is a level of an existing instance
  (``em_1`` while ``em`` has level 1) is refused with 409 naming the base instance,
  so a real instance never silently replaces a level neuroglancer was showing.
* Only real instances have derived names (``em_1_1`` is not level 1 of the name ``em_1``
  unless ``em_1`` really exists).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Protocol

from voxhub.datatypes.registry import datatype_for
from voxhub.errors import Conflict, NotFound
from voxhub.versioning.catalog import InstanceInfo


class Instances(Protocol):
    """Where instances are looked up by name (the catalog, or a remote hub's)."""

    def instance(self, repo_ref: str, name: str) -> InstanceInfo: ...


#: ``<base>_<level>``, the level a positive decimal without leading zeros
_LEVEL_NAME = re.compile(r"(.+)_([1-9][0-9]{0,2})")


def top_level(info: InstanceInfo) -> int:
    """The highest pyramid level of ``info`` served under DVID's names (0: none)."""
    levels = datatype_for(info.typename).pyramid_levels
    return 0 if levels is None else levels(info.config)


def split_level_name(name: str) -> tuple[str, int] | None:
    """``("em", 2)`` for ``"em_2"``; ``None`` if ``name`` cannot name a level."""
    match = _LEVEL_NAME.fullmatch(name)
    return None if match is None else (match.group(1), int(match.group(2)))


def derived_levels(instances: Iterable[InstanceInfo]) -> Iterator[tuple[str, InstanceInfo, int]]:
    """``(name, base, level)`` of every level name of ``instances`` (one repo's) that no
    real instance takes."""
    infos = list(instances)
    taken = {i.name for i in infos}
    for info in infos:
        for level in range(1, top_level(info) + 1):
            name = f"{info.name}_{level}"
            if name not in taken:
                yield name, info, level


def level_of(catalog: Instances, repo_ref: str, name: str) -> tuple[InstanceInfo, int] | None:
    """The instance and level the name ``name`` derives from in the repo of ``repo_ref``
    (``None`` if it names none; call it only when no instance ``name`` exists)."""
    split = split_level_name(name)
    if split is None:
        return None
    base_name, level = split
    try:
        base = catalog.instance(repo_ref, base_name)
    except NotFound:
        return None
    return (base, level) if level <= top_level(base) else None


def check_not_a_level(catalog: Instances, repo_ref: str, name: str) -> None:
    """409 if ``name`` is served as a pyramid level of an existing instance."""
    found = level_of(catalog, repo_ref, name)
    if found is not None:
        base, level = found
        raise Conflict(
            f"instance name {name!r} is taken: it is pyramid level {level} of "
            f"{base.typename} instance {base.name!r} (DVID's name for it, served read-only); "
            f"choose another name, or create {base.name!r} without that level"
        )
