"""The numpy API: ``voxhub.open(path or URL)`` → repos → version nodes → volumes."""

from voxhub.client.embedded import EmbeddedHub
from voxhub.client.hub import Hub
from voxhub.client.labels import LabelVolume
from voxhub.client.node import Node
from voxhub.client.opener import Mode, open
from voxhub.client.remote import RemoteHub
from voxhub.client.repo import Repo
from voxhub.client.results import (
    CleaveResult,
    MergeResult,
    RenumberResult,
    SplitResult,
    SupervoxelSplit,
)
from voxhub.client.volume import ScaledView, Volume

__all__ = [
    "CleaveResult",
    "EmbeddedHub",
    "Hub",
    "LabelVolume",
    "MergeResult",
    "Mode",
    "Node",
    "RemoteHub",
    "RenumberResult",
    "Repo",
    "ScaledView",
    "SplitResult",
    "SupervoxelSplit",
    "Volume",
    "open",
]
