"""A real HTTP server on 127.0.0.1 that speaks the slice of the Kubernetes API
``shiplane`` uses: GET and JSON-merge-PATCH of ``serving.kserve.io/v1beta1``
inferenceservices, with resourceVersion preconditions (409), 404 and 415 as a
kube-apiserver answers them.

No kube-apiserver can be installed here; this is the real peer the official
``kubernetes`` client talks to over real HTTP with a generated kubeconfig. The
merge-patch semantics are implemented here independently of
``shiplane.control.isvc`` so that a bug there cannot hide itself.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

_PATH = re.compile(
    r"^/apis/serving\.kserve\.io/v1beta1/namespaces/(?P<ns>[^/]+)/"
    r"inferenceservices/(?P<name>[^/?]+)(?:\?.*)?$"
)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}  # fmt: skip


@dataclass
class FakeKubeApi:
    """The objects, the requests seen, and switches to provoke races."""

    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str, Any]] = field(default_factory=list)
    """(method, path, content type, body) of every request."""
    race_after_get: bool = False
    """Simulate another writer: every GET is followed by a change of the object."""
    next_version: int = 100000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[(meta["namespace"], meta["name"])] = copy.deepcopy(obj)

    def load(self, path: Path) -> dict[str, Any]:
        obj = yaml.safe_load(path.read_text())
        self.put(obj)
        return copy.deepcopy(obj)

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.objects[(namespace, name)])

    def touch(self, namespace: str, name: str) -> None:
        """Another writer (KServe's status update, a colleague) changes it."""
        with self.lock:
            obj = self.objects[(namespace, name)]
            self.next_version += 1
            obj["metadata"]["resourceVersion"] = str(self.next_version)

    def patches(self) -> list[Any]:
        return [body for method, _, _, body in self.requests if method == "PATCH"]


class _Handler(BaseHTTPRequestHandler):
    api: FakeKubeApi

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str] | None:
        match = _PATH.match(self.path)
        if match is None:
            self._send(
                404,
                _status(
                    404, "NotFound", "the server could not find the requested resource"
                ),
            )
            return None
        return match["ns"], match["name"]

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.api.requests.append(("GET", self.path, "", None))
        key = self._route()
        if key is None:
            return
        with self.api.lock:
            obj = self.api.objects.get(key)
        if obj is None:
            self._send(
                404,
                _status(
                    404,
                    "NotFound",
                    f'inferenceservices.serving.kserve.io "{key[1]}" not found',
                ),
            )
            return
        self._send(200, obj)
        if self.api.race_after_get:
            self.api.touch(*key)

    def do_PATCH(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "")
        body = json.loads(raw) if raw else None
        self.api.requests.append(("PATCH", self.path, ctype, body))
        key = self._route()
        if key is None:
            return
        if ctype != "application/merge-patch+json":
            self._send(
                415,
                _status(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format: {ctype}",
                ),
            )
            return
        with self.api.lock:
            obj = self.api.objects.get(key)
            if obj is None:
                self._send(
                    404,
                    _status(
                        404,
                        "NotFound",
                        f'inferenceservices.serving.kserve.io "{key[1]}" not found',
                    ),
                )
                return
            wanted = ((body or {}).get("metadata") or {}).get("resourceVersion")
            if wanted is not None and wanted != obj["metadata"]["resourceVersion"]:
                self._send(409, _status(
                    409, "Conflict",
                    f'Operation cannot be fulfilled on inferenceservices.serving.kserve'
                    f'.io "{key[1]}": the object has been modified; please apply your '
                    "changes to the latest version and try again"))  # fmt: skip
                return
            updated = _merge(obj, body)
            updated["status"] = obj.get("status")  # main resource: status untouched
            if updated.get("status") is None:
                updated.pop("status")
            if updated.get("spec") != obj.get("spec"):
                meta = updated["metadata"]
                meta["generation"] = int(meta.get("generation") or 1) + 1
            self.api.next_version += 1
            updated["metadata"]["resourceVersion"] = str(self.api.next_version)
            self.api.objects[key] = updated
        self._send(200, updated)


@dataclass
class RunningApi:
    """A started server, its state and a kubeconfig pointing at it."""

    api: FakeKubeApi
    url: str
    kubeconfig: Path


def start(tmp: Path) -> tuple[RunningApi, ThreadingHTTPServer]:
    """Start the server on a free port and write a kubeconfig for it (context
    namespace ``models``, user ``alice``)."""
    api = FakeKubeApi()
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "fake", "cluster": {"server": url}}],
        "users": [{"name": "alice", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "test", "context": {"cluster": "fake", "user": "alice",
                                                  "namespace": "models"}}],
    }))  # fmt: skip
    return RunningApi(api, url, kubeconfig), server
