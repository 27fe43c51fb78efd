"""Test kits shipped with voxhub, for voxhub's own tests and for third-party backends.

* :mod:`voxhub.testing.store` — ``StoreTests``, the key-value store conformance suite
  (needs pytest and hypothesis);
* :mod:`voxhub.testing.seaweed` — start and stop a throwaway SeaweedFS S3 server.

Nothing is imported here, so using one kit does not pull in the other's dependencies.
"""
