"""Traces: off by default (no tracer at all), exported over real OTLP/HTTP when
an endpoint is configured."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from shiplane_serving.tracing import Tracing
from shiplane_tools import localstack


def test_tracing_is_off_and_free_by_default() -> None:
    tracing = Tracing("")
    assert not tracing.enabled
    assert tracing.span("x") is tracing.span("y")  # one shared null context


def test_spans_are_exported_over_otlp_http() -> None:
    received: list[bytes] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = localstack.free_port()
    server = HTTPServer((localstack.LOOPBACK, port), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tracing = Tracing(f"http://{localstack.LOOPBACK}:{port}/v1/traces")
        with tracing.span("shiplane.predict", rows=3):
            pass
        tracing.shutdown()  # flushes the batch processor
    finally:
        server.shutdown()
        server.server_close()
    assert received and b"shiplane.predict" in b"".join(received)
