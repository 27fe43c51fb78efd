"""Tests of the neuronjson datatype."""
