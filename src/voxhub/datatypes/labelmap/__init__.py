"""labelmap: 64-bit supervoxel segmentations, a versioned supervoxel→body mapping, an exact
per-body label index, and the proofreading mutations (merge, cleave, ...)."""
