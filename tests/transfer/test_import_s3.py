"""Import from an S3 bucket (the session's SeaweedFS) through tensorstore's s3 driver: a
sharded precomputed volume and an OME-Zarr group, both exported there by voxhub, import
back equal to the numpy API's reads; a bad location says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.errors import InvalidRequest
from voxhub.testing.seaweed import SeaweedServer
from voxhub.transfer import export_precomputed, import_volume, open_source
from voxhub.transfer.zarr_export import export_ome_zarr

pytest.importorskip("tensorstore")


@pytest.fixture
def on_s3(seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://bucket/imports/{name}?endpoint=...`` with ``{name}`` to fill in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    return f"s3://{seaweed.bucket}/imports/{{name}}?endpoint={seaweed.endpoint}"


@pytest.mark.parametrize("kind", ["precomputed", "zarr"])
def test_a_volume_exported_to_s3_imports_back(on_s3: str, kind: str) -> None:
    node = voxhub.open("memory://").create_repo("s3").master
    em = node.create_volume("em", "uint16", block_shape=(16, 16, 16), max_scale=1)
    voxels = np.random.default_rng(4).integers(1, 60000, (20, 24, 40), dtype=np.uint16)
    em[0:20, 0:24, 0:40] = voxels
    em.build_pyramid()
    where = on_s3.format(name=kind)
    if kind == "precomputed":
        export_precomputed(node, "em", where, progress=False)
    else:
        export_ome_zarr(em, where, progress=False)
    for scale in (0, 1):
        source = open_source(f"{kind}://{where}", scale=scale)
        try:
            copy = node.create_volume(f"copy{scale}", "uint16", block_shape=(16, 16, 16))
            import_volume(copy, source, progress=False)
        finally:
            source.close()
        expected = em.read(Box((0, 0, 0), source.shape), scale)
        np.testing.assert_array_equal(copy.read(Box((0, 0, 0), source.shape)), expected)
    assert (copy.read(Box((0, 0, 0), (10, 12, 20))) != 0).any()


def test_bad_s3_locations_say_what_is_wrong(on_s3: str) -> None:
    with pytest.raises(InvalidRequest, match="takes endpoint, region"):
        open_source("precomputed://s3://bucket/x?colour=red", scale=None)
    with pytest.raises(InvalidRequest, match="bucket"):
        open_source("precomputed://s3:///x", scale=None)
    with pytest.raises((InvalidRequest, voxhub.errors.NotFound)):
        open_source(f"precomputed://{on_s3.format(name='absent')}", scale=None)
