"""Block I/O: read and write arbitrary boxes through a grid of encoded blocks.

Nothing here knows about datatypes or key formats: a :class:`BlockLayout` supplies the
grid, dtype, codec, background and the block-coordinate-to-key function.
"""

from voxhub.blocks.layout import BlockLayout
from voxhub.blocks.output import new_output
from voxhub.blocks.read import fetch_blocks, fill_block, read_box
from voxhub.blocks.write import (
    PreparedWrite,
    apply_write,
    prepare_write,
    put_encoded,
    store_blocks,
    write_box,
)

__all__ = [
    "BlockLayout",
    "PreparedWrite",
    "apply_write",
    "fetch_blocks",
    "fill_block",
    "new_output",
    "prepare_write",
    "put_encoded",
    "read_box",
    "store_blocks",
    "write_box",
]
