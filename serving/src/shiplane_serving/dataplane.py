"""The serving dataplane: the one path every transport calls.

The REST app, KServe's ModelServer and the gRPC server each only turn their
wire format into a :class:`~shiplane_serving.types.ParsedRequest` and a
:class:`~shiplane_serving.types.Prediction` back into their answer. Everything
in between happens here, once: loading the model (MLflow registry,
``runs:/``, a directory), its input schema, batching, the model call, drift,
request ids, feedback scoring, and every request, prediction and refusal
metric. No other module writes a serving metric.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn

from shiplane_contracts.modelformat import PROFILE_PATH
from shiplane_serving import fastpath, loader
from shiplane_serving.batching import OpportunisticBatcher
from shiplane_serving.drift import DriftMonitor
from shiplane_serving.drift.monitor import DriftReport
from shiplane_serving.errors import (
    ModelLoadError,
    ModelNotReady,
    ServingError,
    ValueRefused,
)
from shiplane_serving.feedback import (
    FeedbackResult,
    RequestIds,
    encode_predictions,
    parse_feedback,
    score,
)
from shiplane_serving.metrics import DriftCollector, ServingMetrics
from shiplane_serving.protocol.common import decode_json, to_frame
from shiplane_serving.settings import ServingSettings
from shiplane_serving.tracing import Tracing
from shiplane_serving.types import FloatMatrix, InputSchema, ParsedRequest, Prediction

log = logging.getLogger(__name__)

VERSION_HEADER = "x-shiplane-model-version"
REQUEST_ID_HEADER = "x-shiplane-request-id"


@dataclass
class Tracked:
    """One inference request being answered: what its metrics will say."""

    protocol: str
    rows: int = 0


class Dataplane:
    """One served scikit-learn model with Shiplane's metrics, drift and feedback.

    Args:
        settings: the process settings.
        metrics: the process's collectors.
        tracing: spans (off unless configured).
    """

    def __init__(
        self,
        settings: ServingSettings,
        metrics: ServingMetrics,
        tracing: Tracing | None = None,
    ) -> None:
        self.name = settings.model_name
        self.settings = settings
        self.metrics = metrics
        self.tracing = tracing or Tracing("")
        self.ready = False
        self.loaded: loader.LoadedModel | None = None
        self.load_error: str = ""
        self.schema: InputSchema | None = None
        self.batcher: OpportunisticBatcher | None = None
        self.drift: DriftMonitor | None = None
        secret = settings.feedback_secret.encode() or secrets.token_bytes(32)
        self.request_ids = RequestIds(secret, settings.feedback_ttl_s)
        self._class_index: dict[Any, int] | None = None
        self._classes: np.ndarray[Any, Any] | None = None
        self._class_labels: list[str] = []
        self._direct: Callable[[FloatMatrix], Any] | None = None
        # One thread: one model call at a time per worker, as batching intends.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="shiplane-model")
        self.metrics.child(self.metrics.model_ready, self.name).set(0)

    # ---- loading -----------------------------------------------------------------
    @property
    def version(self) -> str:
        return self.loaded.source.version if self.loaded else ""

    def load(self) -> bool:
        """Resolve, download and load the model; never raises.

        Returns:
            True when the model is ready; otherwise ``load_error`` says why and
            the model never serves.
        """
        s = self.settings
        started = time.monotonic()
        try:
            with self.tracing.span("shiplane.load", uri=s.model_uri):
                loaded = loader.load(s)
                self._activate(loaded)
        except ModelLoadError as exc:
            self.load_error = str(exc)
            log.error("model %s failed to load and will not serve: %s", self.name, exc)
            return False
        except Exception as exc:  # a broken model file must not take the server down
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("model %s failed to load and will not serve", self.name)
            return False
        src = loaded.source
        log.info(
            "model %s ready: version %s alias %r run %s from %s (%s, %d features) "
            "in %.1fs",
            self.name,
            src.version,
            src.alias,
            src.run_id,
            src.uri,
            loaded.task,
            loaded.n_features,
            time.monotonic() - started,
        )
        return True

    def _activate(self, loaded: loader.LoadedModel) -> None:
        s = self.settings
        self.schema = InputSchema(
            feature_names=tuple(loaded.feature_names),
            allow_nan=loaded.allow_nan,
            max_rows=s.max_batch_rows,
            has_proba=loaded.has_proba,
            columns=tuple(loaded.columns),
        )
        profile = loaded.profile
        if not loaded.columns and hasattr(loaded.estimator, "feature_names_in_"):
            # Fitted on a DataFrame, served float64 rows already in its column
            # order: scikit-learn's "no valid feature names" warning is noise.
            warnings.filterwarnings(
                "ignore", message="X does not have valid feature names"
            )
        if loaded.classes is not None:
            self._classes = np.asarray(loaded.estimator.classes_)
            self._class_index = {c: i for i, c in enumerate(self._classes.tolist())}
            self._class_labels = [str(c) for c in self._classes.tolist()]
        # The verified direct call takes float64 rows and is checked on values
        # drawn from a numeric profile: a table model, or one without a
        # profile, keeps scikit-learn's own path.
        if (
            s.direct_call
            and profile is not None
            and profile.numeric_only
            and not loaded.columns
            and (loaded.classes is None or loaded.has_proba)
        ):
            self._direct = fastpath.verified(
                loaded.estimator,
                profile,
                loaded.allow_nan,
                classifier=loaded.classes is not None,
            )
            log.info(
                "model %s: %s",
                self.name,
                "direct call path verified and used"
                if self._direct
                else "scikit-learn's own predict path",
            )
        self.metrics.child(
            self.metrics.drift_baseline_missing, self.name, loaded.source.version
        ).set(0 if loaded.profile is not None else 1)
        if loaded.profile is None:
            log.warning(
                "model %s version %s has no reference profile (%s): it serves, "
                "drift is off. Give it one from a dataset like its training data: "
                "shiplane profile %s --data FILE_OR_URI (docs/serving.md)",
                self.name,
                loaded.source.version,
                PROFILE_PATH,
                loaded.source.version_uri,
            )
        if s.drift and profile is not None:
            directory = s.metrics_dir if s.workers > 1 else None
            self.drift = DriftMonitor(
                profile, s.drift_config(), directory, loaded.allow_nan
            )
            if self._classes is not None:
                self.drift.set_classes(self._class_labels)
            self.metrics.add_drift(DriftCollector(self._drift_report))
        self.batcher = OpportunisticBatcher(
            self.predict_rows,
            s.batch_max_rows,
            self._executor if s.model_thread else None,
            on_batch=self._on_batch,
            enabled=s.batching,
            after=self._after_call,
        )
        self.loaded = loaded
        src = loaded.source
        self.metrics.child(
            self.metrics.model_info, self.name, src.version, src.alias, src.run_id
        ).set(1)
        if src.version.isdigit():
            self.metrics.child(
                self.metrics.model_registry_version, self.name, src.version
            ).set(int(src.version))
        self.metrics.child(self.metrics.model_ready, self.name).set(1)
        self.ready = True

    def _drift_report(self) -> tuple[str, str, DriftReport] | None:
        if self.drift is None:
            return None
        return self.name, self.version, self.drift.report()

    # ---- prediction ------------------------------------------------------------------
    def _on_batch(self, rows: int, waiting: int) -> None:
        m = self.metrics
        m.child(m.batch_rows, self.name, self.version).observe(rows)
        m.child(m.batch_queue_depth, self.name, self.version).set(waiting)

    def predict_rows(self, x: FloatMatrix) -> Prediction:
        """One model call. Input is validated already, so scikit-learn's own
        checks are skipped (or, with the verified direct path, not run at all)."""
        assert self.loaded is not None
        if self._direct is not None:
            out = self._direct(x)
            if self._classes is None:
                return Prediction(labels=np.asarray(out), proba=None)
            proba = np.asarray(out, dtype=np.float64)
            index = np.argmax(proba, axis=1)
            return Prediction(self._classes[index], proba, index)
        est: Any = self.loaded.estimator
        if self.schema is not None and self.schema.typed:
            return self._predict_table(to_frame(x, self.schema.columns))
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return self._call(est, x)

    def _call(self, est: Any, x: Any) -> Prediction:
        if self._classes is None:
            return Prediction(labels=np.asarray(est.predict(x)), proba=None)
        if self.schema is not None and self.schema.has_proba:
            proba = np.asarray(est.predict_proba(x), dtype=np.float64)
            # The class with the highest probability: what predict() returns
            # for every estimator Shiplane trains, at no second call.
            index = np.argmax(proba, axis=1)
            return Prediction(self._classes[index], proba, index)
        # A classifier without probabilities (LinearSVC, RidgeClassifier):
        # its labels, indexed for the class counters and feedback.
        assert self._class_index is not None
        labels = np.asarray(est.predict(x))
        index = np.fromiter(
            (self._class_index[v] for v in labels.tolist()), np.intp, len(labels)
        )
        return Prediction(labels, None, index)

    def _predict_table(self, frame: Any) -> Prediction:
        """A table model's call. Its own checks stay on: they are what refuses
        a category the encoder never saw, answered as a 422 that quotes it."""
        assert self.loaded is not None
        est = self.loaded.estimator
        try:
            return self._call(est, frame)
        except ValueError as exc:
            raise ValueRefused(f"the model refused the input: {exc}") from exc

    def _after_call(self, x: FloatMatrix, pred: Prediction) -> None:
        """Count a call's predictions and feed drift (after the answers left)."""
        self.metrics.observe_predictions(
            self.name, self.version, pred, self._class_labels
        )
        if self.drift is not None:
            self.drift.update(x, pred)

    def require_ready(self) -> InputSchema:
        """The input schema of the loaded model.

        Raises:
            ModelNotReady: still loading, or the load failed (with the reason).
        """
        if self.schema is None or self.batcher is None:
            why = f"failed to load: {self.load_error}" if self.load_error else "loading"
            raise ModelNotReady(f"model {self.name!r} is not ready ({why})")
        return self.schema

    def count_refusal(self, exc: ServingError) -> None:
        """Count a request refused before or outside :meth:`track`."""
        self.metrics.child(self.metrics.invalid_requests, self.name, exc.reason).inc()

    @contextmanager
    def track(
        self, protocol: str, refused_status: int | None = None
    ) -> Iterator[Tracked]:
        """Time and count one inference request, whatever its outcome.

        A :class:`ServingError` inside is counted under its reason and
        re-raised for the transport to answer; anything else counts as a 500.

        Args:
            protocol: the ``protocol`` label (``v1``, ``v2``, ``grpc``).
            refused_status: the status the transport answers every refusal
                with, when it cannot answer the error's own (KServe: 400).
        """
        started = time.perf_counter()
        tracked = Tracked(protocol)
        code = 200
        try:
            yield tracked
        except ServingError as exc:
            code = refused_status or exc.status
            self.count_refusal(exc)
            raise
        except Exception:
            code = 500
            raise
        except BaseException:
            code = 0  # cancelled: the client left, nobody heard an answer
            raise
        finally:
            if code:
                self.metrics.observe_request(
                    self.name,
                    self.version,
                    tracked.protocol,
                    code,
                    time.perf_counter() - started,
                    tracked.rows,
                )

    async def infer(self, parsed: ParsedRequest) -> tuple[Prediction, str]:
        """Predict a validated request; returns the prediction and its request id."""
        self.require_ready()
        assert self.batcher is not None
        with self.tracing.span("shiplane.predict", rows=parsed.rows):
            pred = await self.batcher.submit(parsed.x)
        request_id = self.request_ids.make(self.version, encode_predictions(pred))
        return pred, request_id

    def feedback(self, body: bytes) -> FeedbackResult:
        """Score ground truth against the predictions its request ids carry.

        Raises:
            ServingError: bad JSON, not ready, or feedback of the wrong shape
                (counted under its reason; nothing of the call is scored).
        """
        try:
            self.require_ready()
            assert self.loaded is not None
            result = score(
                parse_feedback(decode_json(body)),
                self.request_ids,
                self.loaded.task,
                self.loaded.classes,
            )
        except ServingError as exc:
            self.count_refusal(exc)
            raise
        m = self.metrics
        for outcome, per_version in (
            ("correct", result.correct),
            ("incorrect", result.incorrect),
            ("scored", result.scored),
        ):
            for version, count in per_version.items():
                m.child(m.feedback, self.name, version, outcome).inc(count)
        for version, total in result.absolute_error.items():
            m.child(m.feedback_absolute_error, self.name, version).inc(total)
        if result.unknown:
            m.child(m.feedback_unknown, self.name).inc(len(result.unknown))
        return result

    @property
    def class_labels(self) -> list[str]:
        """The classes as strings, in ``classes_`` order (empty: regression)."""
        return self._class_labels

    def stop(self) -> None:
        """Release the model thread outside an event loop (batch use, where
        nothing was queued)."""
        self._executor.shutdown(wait=True)

    async def close(self) -> None:
        """Answer everything queued, then stop."""
        if self.batcher is not None:
            await self.batcher.close()
        self._executor.shutdown(wait=True)
        self.tracing.shutdown()
