"""The ``keyvalue`` datatype: versioned files under string keys (DVID's keyvalue).

Values are bytes of any size; big ones are stored, written and read in chunks
(:mod:`.instance`). Key layout: :mod:`.keys`; stored records: :mod:`.values`; HTTP
routes: :mod:`.routes` and :mod:`.routes_batch`.
"""

from voxhub.datatypes.keyvalue.config import KeyValueConfig
from voxhub.datatypes.keyvalue.instance import KeyValueInstance, Upload
from voxhub.datatypes.keyvalue.keys import MAX_KEY_BYTES

__all__ = ["MAX_KEY_BYTES", "KeyValueConfig", "KeyValueInstance", "Upload"]
