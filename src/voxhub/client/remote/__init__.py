"""The numpy API over HTTP: ``voxhub.open("http://host:port")`` → :class:`RemoteHub`."""

from voxhub.client.remote.hub import RemoteHub

__all__ = ["RemoteHub"]
