"""Versioning: repos, the version DAG, and versioned key-value views over a ``KVStore``.

* :mod:`~voxhub.versioning.keys` — physical key layout (metadata and versioned data);
* :mod:`~voxhub.versioning.dag` — pure rules: node lifecycle, ancestry, resolution, refs;
* :mod:`~voxhub.versioning.catalog` — ``Catalog``: repos, nodes, branches, instances,
  persisted with compare-and-swap; ``Catalog.view(ref, instance)`` gives a view;
* :mod:`~voxhub.versioning.view` — ``VersionedKV``, implementing
  :class:`~voxhub.versioning.protocols.VersionedView` (what datatypes see);
* :mod:`~voxhub.versioning.merge`, :mod:`~voxhub.versioning.diff` — conflicts and diffs.
"""
