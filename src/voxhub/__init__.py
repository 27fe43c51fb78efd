"""voxhub: a versioned, image-oriented data service for connectomics."""

__version__ = "0.1.0"
