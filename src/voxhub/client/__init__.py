"""The numpy API: ``voxhub.open(path or URL)`` → repos → version nodes → volumes."""

from voxhub.client.embedded import EmbeddedHub
from voxhub.client.hub import Hub
from voxhub.client.node import Node
from voxhub.client.opener import open
from voxhub.client.repo import Repo
from voxhub.client.volume import ScaledView, Volume

__all__ = ["EmbeddedHub", "Hub", "Node", "Repo", "ScaledView", "Volume", "open"]
