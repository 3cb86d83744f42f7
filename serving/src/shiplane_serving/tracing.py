"""OpenTelemetry traces around model load and inference.

Off unless an OTLP endpoint is configured; then spans go to it over OTLP/HTTP in
batches. When off, :meth:`Tracing.span` returns a shared null context manager, so
a request pays one attribute check and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_NULL = contextlib.nullcontext()


class Tracing:
    """Spans for the serving runtime.

    Args:
        endpoint: OTLP/HTTP traces URL; empty turns tracing off.
        service_name: ``service.name`` resource attribute.
    """

    def __init__(self, endpoint: str, service_name: str = "shiplane-serving") -> None:
        self.enabled = bool(endpoint)
        self._tracer: Any = None
        self._provider: Any = None
        if not self.enabled:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self._provider = TracerProvider(
            resource=Resource.create({"service.name": service_name})
        )
        self._provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
        )
        self._tracer = self._provider.get_tracer("shiplane_serving")

    def span(
        self, name: str, **attributes: Any
    ) -> contextlib.AbstractContextManager[Any]:
        """A span named ``name`` (a no-op context when tracing is off)."""
        if not self.enabled:
            return _NULL
        return self._span(name, attributes)

    @contextlib.contextmanager
    def _span(self, name: str, attributes: dict[str, Any]) -> Iterator[Any]:
        with self._tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span

    def shutdown(self) -> None:
        """Flush pending spans."""
        if self._provider is not None:
            self._provider.shutdown()
