"""Samples of a Prometheus text exposition, read with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

#: a sample's identity: its name and its labels
SampleKey = tuple[str, frozenset[tuple[str, str]]]


def samples(text: str) -> dict[SampleKey, float]:
    """``{(name, labels): value}`` of every sample in ``text``."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[SampleKey, float], name: str, **labels: str) -> float:
    """The value of one sample (0 if absent: a counter that never moved)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def label_values(found: dict[SampleKey, float], name: str, label: str) -> set[str]:
    """Every value ``label`` takes in the samples called ``name``."""
    return {dict(labels)[label] for n, labels in found if n == name and label in dict(labels)}
