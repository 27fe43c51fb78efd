"""The ``labelsz`` datatype: per-body counts of annotation element kinds, ranked."""
