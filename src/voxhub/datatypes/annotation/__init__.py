"""The ``annotation`` datatype: point elements (synapses, notes) with relationships,
stored by block and, synced to a labelmap, indexed by supervoxel (see :mod:`.keys`)."""
