# The compiled module (_cseg_native.c): stored cseg label blocks to DVID's native format.
# Arrays are 1-D and C-contiguous: words uint32, base/sizes int64, rank int32, distinct uint64.
from typing import Any

import numpy as np

class StreamError(ValueError): ...

def parse(
    words: np.ndarray, base: np.ndarray, sizes: np.ndarray, nsub: int, /
) -> tuple[Any, bytes, bytes, bytes]: ...
def convert(
    state: Any, gx: int, gy: int, gz: int, rank: np.ndarray, distinct: np.ndarray, /
) -> tuple[bytes, list[int]]: ...
