"""The ``voxhub`` command line (click)."""
