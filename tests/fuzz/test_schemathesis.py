"""A small bounded schemathesis run against a real ``voxhub serve`` (``bench.fuzz``, whose
full run is recorded in ``bench/README.md``): no answer is a 5xx."""

from __future__ import annotations

from bench.fuzz import run


def test_schemathesis_finds_no_server_error_on_a_real_server() -> None:
    figures = run(examples=2, size=32, phases="examples,fuzzing")
    assert figures["operations"] > 80
    assert figures["cases"] > figures["operations"]
    assert figures["server_errors"] == 0, figures["first_errors"]
    assert figures["statuses"].get(200, 0) > 0, figures["statuses"]
