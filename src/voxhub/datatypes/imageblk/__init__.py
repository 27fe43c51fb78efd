"""Image volumes stored as compressed blocks (DVID's ``uint8blk`` family) with pyramids.

File roles: ``keys`` (type keys), ``config`` (instance settings), ``read`` / ``write``
(voxel I/O through ``voxhub.blocks``), ``pyramid`` (downsampling), ``instance`` (the
object the client and server use).
"""

from voxhub.datatypes.imageblk.config import ImageConfig, typename_for
from voxhub.datatypes.imageblk.instance import ImageInstance

__all__ = ["ImageConfig", "ImageInstance", "typename_for"]
