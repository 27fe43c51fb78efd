"""Session-wide fixtures shared by every test area."""

import pytest

# The shipped conformance suite asserts inside an installed module; rewrite its asserts
# so failures show the compared values.
pytest.register_assert_rewrite("voxhub.testing.store", "voxhub.testing.store_model")
