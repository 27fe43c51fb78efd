"""The numpy API: ``voxhub.open(path)`` → repos → version nodes → volumes."""

from voxhub.client.hub import Hub, open
from voxhub.client.node import Node
from voxhub.client.repo import Repo
from voxhub.client.volume import ScaledView, Volume

__all__ = ["Hub", "Node", "Repo", "ScaledView", "Volume", "open"]
