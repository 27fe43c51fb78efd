"""The requests neuroglancer's ``dvid://`` source makes (shared/reference/neuroglancer_dvid.md)."""

from __future__ import annotations

import gzip
import io

import compressed_segmentation as cseg
import numpy as np
from PIL import Image

from .conftest import EM, Dvid
from .test_labelmap_reads import MAPPED


def test_repos_info_has_every_field_neuroglancer_requires(dvid: Dvid) -> None:
    repos = dvid.session.get(dvid.url + "/api/repos/info", params={}, timeout=30).json()
    for repo in repos.values():  # one bad repo breaks every dvid:// layer on the server
        assert isinstance(repo["Alias"], str)
        assert isinstance(repo["Description"], str)
        assert isinstance(repo["DataInstances"], dict)
        assert isinstance(repo["DAG"]["Nodes"], dict)
    mine = repos[dvid.repo]
    assert {dvid.committed, dvid.node} <= set(mine["DAG"]["Nodes"])
    for name, typename in (("seg", "labelmap"), ("em", "uint8blk"), ("em_1", "uint8blk")):
        instance = mine["DataInstances"][name]
        assert instance["Base"]["TypeName"] == typename
        assert isinstance(instance["Base"]["Compression"], str)
        assert instance["Extended"]["Values"][0]["DataType"] in ("uint8", "uint64")
        assert len(instance["Extended"]["VoxelSize"]) == 3


def test_image_chunk_as_one_jpeg(dvid: Dvid) -> None:
    """``raw/0_1_2/…/jpeg``: one grayscale JPEG sx wide and sy·sz high (row z·sy + y)."""
    reply = dvid.ok(
        "GET", dvid.at("em", "raw/0_1_2/32_32_32/0_0_32/jpeg"), params={"app": "Neuroglancer"}
    )
    image = np.asarray(Image.open(io.BytesIO(reply.content)))
    assert image.shape == (32 * 32, 32)
    expected = EM[32:64, :32, :32].reshape(32 * 32, 32).astype(int)
    assert np.abs(image.astype(int) - expected).mean() < 8  # lossy, but the same picture


def test_label_chunk_as_googlegzip(dvid: Dvid) -> None:
    """``raw?compression=googlegzip&scale=L``: channel table then compressed_segmentation,
    gzip'd with Content-Encoding: gzip (the browser inflates; neuroglancer never does)."""
    params = {"compression": "googlegzip", "scale": "0", "app": "Neuroglancer"}
    url = dvid.url + dvid.at("seg", "raw/0_1_2/64_64_64/64_0_0")
    reply = dvid.session.get(url, params=params, stream=True, timeout=30)
    assert reply.status_code == 200
    assert reply.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(reply.raw.read())
    assert len(body) % 4 == 0
    assert np.frombuffer(body[:4], "<u4").tolist() == [1]
    # the package's stream starts with that channel table; order "F" reads x fastest
    xyz = cseg.decompress(body, (64, 64, 64), np.uint64, order="F")
    assert np.array_equal(np.asarray(xyz).T, MAPPED[:, :, 64:])
    scaled = dvid.session.get(
        url.replace("64_0_0", "0_0_0"), params={**params, "scale": "1"}, timeout=30
    )
    assert scaled.status_code == 200
