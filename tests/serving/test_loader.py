"""Loading, in-process with real files and real (or really unreachable) MLflow:
local directories, regression models, MLflow down at start, models that must
never serve."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from shiplane_serving.dataplane import Dataplane
from shiplane_serving.errors import ModelLoadError, ModelNotReady
from shiplane_serving.feedback import parse_feedback, score
from shiplane_serving.loader import parse_registry_uri, with_retries
from shiplane_serving.metrics import ServingMetrics
from shiplane_serving.protocol import parse_v1
from shiplane_serving.settings import ServingSettings
from shiplane_tools import localstack


def model_for(uri: str, tmp_path: Path, **overrides: object) -> Dataplane:
    settings = ServingSettings(
        model_uri=uri,
        model_name="m",
        download_dir=tmp_path / "dl",
        grpc_port=0,
        **overrides,  # type: ignore[arg-type]
    )
    return Dataplane(settings, ServingMetrics())


def test_registry_uris_parse() -> None:
    assert parse_registry_uri("models:/bc@champion") == ("bc", "champion", "")
    assert parse_registry_uri("models:/bc/3") == ("bc", "", "3")
    assert parse_registry_uri("/mnt/models") is None
    with pytest.raises(ModelLoadError, match="NAME@ALIAS"):
        parse_registry_uri("models:/bc/champion/x")


def test_local_directory_serves_with_its_metadata_version(
    local_model_dir: Path, tmp_path: Path
) -> None:
    model = model_for(str(local_model_dir), tmp_path)
    assert model.load(), model.load_error
    assert model.ready and model.version == "7"
    assert model.schema is not None and model.schema.n_features == 30

    async def predict() -> list[int]:
        assert model.schema is not None
        parsed = parse_v1(
            b'{"instances": ['
            + b",".join([b"[" + b",".join([b"10.0"] * 30) + b"]"] * 3)
            + b"]}",
            model.schema,
            "predict",
        )
        pred, request_id = await model.infer(parsed)
        assert request_id.startswith("s1.")
        return [int(v) for v in pred.labels]

    assert len(asyncio.run(predict())) == 3


def test_regression_feedback_scores_absolute_error(tmp_path: Path) -> None:
    from tests.serving.modelkit import save_shiplane_model

    model_dir = save_shiplane_model(tmp_path / "reg", task="regression", version="2")
    model = model_for(str(model_dir), tmp_path)
    assert model.load(), model.load_error
    assert model.schema is not None and not model.schema.has_proba

    async def predict() -> tuple[float, str]:
        assert model.schema is not None
        parsed = parse_v1(
            b'{"instances": [[' + b",".join([b"0.01"] * 10) + b"]]}",
            model.schema,
            "predict",
        )
        pred, request_id = await model.infer(parsed)
        return float(pred.labels[0]), request_id

    value, request_id = asyncio.run(predict())
    result = score(
        parse_feedback({"request_id": request_id, "truth": value + 3.0}),
        model.request_ids,
        "regression",
        None,
    )
    assert result.scored == {"2": 1}
    assert result.absolute_error["2"] == pytest.approx(3.0)


def test_mlflow_unreachable_retries_with_backoff_and_never_gets_ready(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = localstack.free_port()  # nothing listens here
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    model = model_for(
        "models:/bc@champion",
        tmp_path,
        tracking_uri=f"http://127.0.0.1:{closed}",
        load_retries=2,
        load_backoff_s=0.05,
    )
    with caplog.at_level(logging.WARNING):
        assert not model.load()
    assert not model.ready
    retries = [r for r in caplog.records if "MLflow unreachable" in r.getMessage()]
    assert len(retries) == 2
    assert "retrying in 0.1s" in retries[1].getMessage()  # backoff doubled
    assert "after 3 attempts" in model.load_error
    with pytest.raises(ModelNotReady, match="failed to load"):
        model.require_ready()


def test_backoff_gives_up_at_once_on_fatal_errors() -> None:
    calls: list[float] = []

    def missing() -> None:
        raise ModelLoadError("no such model")

    with pytest.raises(ModelLoadError):
        with_retries("x", missing, retries=5, backoff_s=1, sleep=calls.append)
    assert calls == []


@pytest.mark.parametrize("damage", ["corrupt", "untrusted"])
def test_a_model_that_fails_to_load_never_serves(
    local_model_dir: Path, tmp_path: Path, damage: str
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(local_model_dir, broken)
    if damage == "corrupt":
        (broken / "model.skops").write_bytes(b"PK\x03\x04 not a model")
    else:
        import skops.io
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer

        skops.io.dump(
            make_pipeline(FunctionTransformer(np.log1p)), broken / "model.skops"
        )
    model = model_for(str(broken), tmp_path)
    assert not model.load()
    assert not model.ready and model.load_error
    with pytest.raises(ModelNotReady):
        model.require_ready()


def test_a_model_without_a_profile_serves_with_drift_off(
    local_model_dir: Path, tmp_path: Path
) -> None:
    """A version logged without Shiplane's profile is Ready; its drift is off and
    the baseline-missing gauge says so."""
    bare = tmp_path / "bare"
    shutil.copytree(local_model_dir, bare)
    shutil.rmtree(bare / "extra_files")
    model = model_for(str(bare), tmp_path)
    assert model.load(), model.load_error
    assert model.ready and model.drift is None
    exposition = model.metrics.render()[0].decode()
    labels = f'model="m",model_version="{model.version}"'
    assert f"shiplane_drift_baseline_missing{{{labels}}} 1.0" in exposition
