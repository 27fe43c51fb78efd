"""Tests of the labelmap datatype."""
