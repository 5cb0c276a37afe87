"""Reading the archiver's metrics in tests: an SDK meter provider with an in-memory reader.

``recording()`` points ``archiver.metrics`` at a fresh provider for the block; ``Readings``
turns what the reader collected into plain numbers keyed by metric and attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint

from archiver import metrics

Attributes = tuple[tuple[str, Any], ...]


@dataclass
class Readings:
    """Sums of counters and gauges' values, and histograms, by (name, attributes)."""

    values: dict[tuple[str, Attributes], float] = field(default_factory=dict)
    histograms: dict[tuple[str, Attributes], HistogramDataPoint] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, **attributes: Any) -> float:
        return self.values.get((name, tuple(sorted(attributes.items()))), 0.0)

    def total(self, name: str) -> float:
        return sum(v for (n, _), v in self.values.items() if n == name)

    def by(self, name: str, key: str) -> dict[str, float]:
        return {
            dict(attrs)[key]: v for (n, attrs), v in self.values.items() if n == name and key in dict(attrs)
        }

    def histogram(self, name: str, **attributes: Any) -> HistogramDataPoint | None:
        return self.histograms.get((name, tuple(sorted(attributes.items()))))

    def names(self) -> set[str]:
        return {n for n, _ in self.values} | {n for n, _ in self.histograms}

    def attributes(self) -> list[dict[str, Any]]:
        return [dict(attrs) for _, attrs in [*self.values, *self.histograms]]


def read(reader: InMemoryMetricReader) -> Readings:
    readings = Readings()
    data = reader.get_metrics_data()
    if data is None:
        return readings
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                readings.units[metric.name] = metric.unit or ""
                for point in metric.data.data_points:
                    key = (metric.name, tuple(sorted(dict(point.attributes or {}).items())))
                    if isinstance(point, HistogramDataPoint):
                        readings.histograms[key] = point
                    elif isinstance(point, NumberDataPoint):
                        readings.values[key] = float(point.value)
    return readings


@contextmanager
def recording() -> Iterator[InMemoryMetricReader]:
    """Metrics go to an in-memory reader for the block (the global provider is never touched)."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics.use(provider)
    try:
        yield reader
    finally:
        metrics.reset()
        provider.shutdown()
