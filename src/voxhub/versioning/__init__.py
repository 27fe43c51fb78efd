"""Versioning: repos, the version DAG, and versioned key-value views over a ``KVStore``.

* :mod:`~voxhub.versioning.keys` — physical key layout (metadata, versioned data with a
  data/tombstone marker, per-version write sets);
* :mod:`~voxhub.versioning.dag` — pure rules: node lifecycle, ancestry (chunked), resolution,
  refs;
* :mod:`~voxhub.versioning.catalog` — ``Catalog``: repos, nodes, branches, instances;
  ``Catalog.view(ref, instance)`` gives a view; :mod:`~voxhub.versioning.nodes` holds the
  node records and the per-repo indexes that keep lookups O(1);
* :mod:`~voxhub.versioning.view` — ``VersionedKV``, implementing
  :class:`~voxhub.versioning.protocols.VersionedView` (what datatypes see);
* :mod:`~voxhub.versioning.writesets`, :mod:`~voxhub.versioning.merge`,
  :mod:`~voxhub.versioning.diff` — what each version wrote, conflicts and diffs from it;
  :mod:`~voxhub.versioning.pending` — merges not yet visible.
"""
