"""Helpers for the training tests (importable as ``trainkit``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import pandas as pd
from mlflow import MlflowClient
from pyarrow import fs as pafs

from shiplane_tools.localstack import S3Credentials

WriteConfig = Callable[..., Path]


def base_config(model_name: str, **overrides: Any) -> dict[str, Any]:
    """A fast classification config (logistic regression on breast_cancer)."""
    config: dict[str, Any] = {
        "model_name": model_name,
        "task": "classification",
        "seed": 42,
        "dataset": {"builtin": "breast_cancer"},
        "estimator": {"name": "logistic_regression", "params": {"max_iter": 500}},
    }
    config.update(overrides)
    return config


def versions_of(client: MlflowClient, name: str) -> list[Any]:
    """Every registered version of ``name`` (empty if the model does not exist)."""
    return list(client.search_model_versions(f"name = '{name}'"))


@dataclass(frozen=True)
class S3Store:
    """A bucket on the session's real S3 server (``s3`` fixture)."""

    endpoint_url: str
    bucket: str
    credentials: S3Credentials

    @property
    def env(self) -> dict[str, str]:
        """The AWS SDK variables a training process reads the bucket with."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_key,
            "AWS_REGION": "us-east-1",
            # Never ask a cloud's instance-metadata address: not ours to call.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def filesystem(self, **options: Any) -> pafs.S3FileSystem:
        endpoint = urlsplit(self.endpoint_url)
        return pafs.S3FileSystem(
            access_key=self.credentials.access_key,
            secret_key=self.credentials.secret_key,
            region="us-east-1",
            endpoint_override=endpoint.netloc,
            scheme=endpoint.scheme,
            **options,
        )

    def put(self, key: str, data: bytes) -> str:
        """Upload ``data`` as ``key``; returns its ``s3://`` URI."""
        with self.filesystem().open_output_stream(f"{self.bucket}/{key}") as out:
            out.write(data)
        return f"s3://{self.bucket}/{key}"


CITIES = ("paris", "oslo", "rome", "lima")


def shop_frame(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """A small table with a signal in every kind of column: price (float),
    rooms (int), city (strings, a few missing), member (bool), label (0/1)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "price": rng.normal(20.0, 5.0, rows).round(2),
            "rooms": rng.integers(1, 6, rows),
            "city": rng.choice(np.asarray(CITIES[:3], dtype=object), rows),
            "member": rng.choice([True, False], rows),
        }
    )
    votes = (
        (frame["price"] > 20).astype(int)
        + (frame["city"] == "oslo").astype(int)
        + frame["member"].astype(int)
    )
    frame["label"] = (votes >= 2).astype(int)
    frame.loc[frame.index[::25], "city"] = None
    return frame


@dataclass(frozen=True)
class Served:
    """What the serving dataplane answered for V1 rows, and the estimator it
    loaded (the registered pipeline itself)."""

    labels: list[Any]
    proba: npt.NDArray[np.float64] | None
    estimator: Any
    loaded: Any
    """The serving loader's LoadedModel."""
    drift: bool
    """Whether the dataplane measures drift against the model's profile."""


def serve_v1(
    model_uri: str, tracking_uri: str, download_dir: Path, rows: list[dict[str, Any]]
) -> Served:
    """Load ``model_uri`` as the serving runtime does (its loader, in-process)
    and answer a V1 ``:predict_proba`` request of objects keyed by column."""
    from shiplane_serving.dataplane import Dataplane
    from shiplane_serving.metrics import ServingMetrics
    from shiplane_serving.protocol import parse_v1
    from shiplane_serving.settings import ServingSettings

    settings = ServingSettings(
        model_uri=model_uri,
        model_name="served",
        tracking_uri=tracking_uri,
        download_dir=download_dir,
        grpc_port=0,
        load_retries=0,
    )
    plane = Dataplane(settings, ServingMetrics())
    assert plane.load(), plane.load_error
    assert plane.schema is not None and plane.loaded is not None
    body = json.dumps({"instances": rows}).encode()
    parsed = parse_v1(
        body, plane.schema, "predict_proba" if plane.schema.has_proba else "predict"
    )

    async def answer() -> Any:
        try:
            prediction, _ = await plane.infer(parsed)
            return prediction
        finally:
            await plane.close()

    prediction = asyncio.run(answer())
    return Served(
        labels=list(prediction.labels),
        proba=prediction.proba,
        estimator=plane.loaded.estimator,
        loaded=plane.loaded,
        drift=plane.drift is not None,
    )
