"""Bad values fail `helm template` with a message that names the key to fix:
the schema for shapes and ranges, the chart's own checks for combinations."""

from __future__ import annotations

import pytest

from tests.chart import chartkit

pytestmark = pytest.mark.helm

ISVC = "inferenceServices.bc"
MLFLOW = ("mlflow.trackingUri=http://mlflow:5000",)


def fails(*set_values: str) -> str:
    with pytest.raises(chartkit.HelmError) as err:
        chartkit.template(set_values=set_values)
    return str(err.value)


def test_unknown_top_level_key() -> None:
    assert "additional properties 'servingRuntme' not allowed" in fails(
        "servingRuntme.workers=2"
    )


def test_unknown_key_inside_an_inference_service() -> None:
    message = fails(f"{ISVC}.model.storageUri=s3://b/m", f"{ISVC}.canaryPercent=10")
    assert "/inferenceServices/bc" in message
    assert "additional properties 'canaryPercent' not allowed" in message


@pytest.mark.parametrize("style", ["knative", "standard"])
def test_traffic_percent_out_of_range(style: str) -> None:
    message = fails(
        f"{ISVC}.model.storageUri=s3://b/m", f"{ISVC}.canary.{style}.trafficPercent=101"
    )
    assert f"/inferenceServices/bc/canary/{style}/trafficPercent" in message
    assert "maximum: got 101, want 100" in message


def test_negative_percent() -> None:
    assert "minimum: got -5, want 0" in fails(
        f"{ISVC}.model.storageUri=s3://b/m", f"{ISVC}.canary.knative.trafficPercent=-5"
    )


def test_both_canary_styles_at_once() -> None:
    message = fails(
        *MLFLOW,
        f"{ISVC}.model.mlflowUri=models:/bc/1",
        f"{ISVC}.canary.knative.enabled=true",
        f"{ISVC}.canary.knative.model.mlflowUri=models:/bc/2",
        f"{ISVC}.canary.standard.enabled=true",
        f"{ISVC}.canary.standard.model.mlflowUri=models:/bc/2",
    )
    assert (
        "inferenceServices.bc: canary.knative and canary.standard are both enabled: "
        "pick one canary style"
    ) in message


def test_standard_canary_in_knative_mode() -> None:
    message = fails(
        f"{ISVC}.model.storageUri=s3://b/1",
        f"{ISVC}.canary.standard.enabled=true",
        f"{ISVC}.canary.standard.model.storageUri=s3://b/2",
    )
    assert (
        "canary.standard (spec.canary[], KServe >= 0.20) needs deploymentMode Standard"
        in message
    )


def test_knative_canary_in_standard_mode() -> None:
    message = fails(
        f"{ISVC}.deploymentMode=Standard",
        f"{ISVC}.autoscaling.scaleMetric=cpu",
        f"{ISVC}.model.storageUri=s3://b/1",
        f"{ISVC}.canary.knative.enabled=true",
        f"{ISVC}.canary.knative.model.storageUri=s3://b/2",
    )
    assert "canary.knative needs deploymentMode Knative" in message


def test_unknown_deployment_mode() -> None:
    message = fails(f"{ISVC}.model.storageUri=s3://b/1", f"{ISVC}.deploymentMode=Raw")
    assert "/inferenceServices/bc/deploymentMode" in message


def test_model_uri_missing_or_doubled() -> None:
    assert "inferenceServices.bc.model: set mlflowUri" in fails(f"{ISVC}.enabled=true")
    assert "set mlflowUri or storageUri, not both" in fails(
        *MLFLOW,
        f"{ISVC}.model.storageUri=s3://b/1",
        f"{ISVC}.model.mlflowUri=models:/bc/1",
    )


def test_registry_uri_in_storage_uri() -> None:
    message = fails(f"{ISVC}.model.storageUri=models:/bc@champion")
    assert "KServe's storage initializer cannot fetch models:/bc@champion" in message


def test_alias_in_a_predictor_is_refused_with_how_to_pin() -> None:
    """A pod must never follow a moving alias: the chart says how to pin it."""
    for key in ("model", "canary.standard.model"):
        message = fails(
            *MLFLOW,
            f"{ISVC}.deploymentMode=Standard",
            f"{ISVC}.autoscaling.scaleMetric=cpu",
            f"{ISVC}.model.mlflowUri=models:/bc/1",
            f"{ISVC}.canary.standard.enabled=true",
            f"{ISVC}.canary.standard.model.mlflowUri=models:/bc/2",
            f"{ISVC}.{key}.mlflowUri=models:/bc@challenger",
        )
        assert (
            f"inferenceServices.bc.{key}.mlflowUri: models:/bc@challenger is an "
            in (message)
        )
        assert "pin the version it points at today, models:/bc/VERSION" in message
        assert "kubectl shiplane canary" in message


def test_unpinned_registry_uri_is_refused() -> None:
    for uri in ("models:/bc", "models:/bc/latest", "models:/bc/0"):
        message = fails(*MLFLOW, f"{ISVC}.model.mlflowUri={uri}")
        assert f"{uri} is not a pinned MLflow registry version" in message


def test_mlflow_uri_without_tracking_server() -> None:
    message = fails(f"{ISVC}.model.mlflowUri=models:/bc/1")
    assert (
        "mlflowUri needs an MLflow tracking server: set mlflow.enabled=true" in message
    )


def test_knative_metric_in_standard_mode() -> None:
    message = fails(
        f"{ISVC}.model.storageUri=s3://b/1", f"{ISVC}.deploymentMode=Standard"
    )
    assert (
        "autoscaling.scaleMetric: concurrency is a Knative autoscaler metric" in message
    )


def test_training_without_mlflow() -> None:
    assert "training needs an MLflow tracking server" in fails(
        "training.job.enabled=true"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            ("training.volumeMounts.data.mountPath=/data",),
            "training.volumeMounts.data: training.volumes has no volume of that name",
        ),
        (
            ("training.volumes.tmp.emptyDir.medium=Memory",),
            "training.volumes.tmp: config and tmp are the chart's own volumes",
        ),
        (
            (
                "training.volumes.data.configMap.name=rows",
                "training.volumeMounts.data.mountPath=/tmp/data",
            ),
            "training.volumeMounts.data.mountPath: /tmp/data is under /config or "
            "/tmp, which the chart mounts itself",
        ),
        (
            (
                "training.env.AWS_SECRET_ACCESS_KEY=x",
                "training.secretEnv.AWS_SECRET_ACCESS_KEY.name=s3",
                "training.secretEnv.AWS_SECRET_ACCESS_KEY.key=secret",
            ),
            "training.secretEnv.AWS_SECRET_ACCESS_KEY: also set in training.env",
        ),
        (
            ("training.secretEnv.AWS_SECRET_ACCESS_KEY.name=s3",),
            "missing property 'key'",
        ),
        (("training.envFrom[0].prefix=AWS_",), "/training/envFrom/0"),
    ],
)
def test_bad_training_data_values(values: tuple[str, ...], message: str) -> None:
    assert message in fails(*MLFLOW, "training.job.enabled=true", *values)


def test_rollout_of_an_unknown_inference_service() -> None:
    message = fails(
        f"{ISVC}.model.storageUri=s3://b/1",
        "rollout.enabled=true",
        "rollout.inferenceService=nope",
        "rollout.prometheusUrl=http://prometheus:9090",
    )
    assert (
        'rollout.inferenceService: "nope" is not a key of inferenceServices' in message
    )


def test_secret_values_have_no_key() -> None:
    """Credentials are read from Secrets: there is no value to put them in."""
    assert "additional properties 'password' not allowed" in fails(
        "mlflow.backendStore.password=hunter2"
    )


def test_a_scoring_job_needs_model_input_and_output() -> None:
    message = fails(*MLFLOW, "scoring.enabled=true", "scoring.model=models:/m/3")
    assert "scoring.enabled: set scoring.model, scoring.input and scoring.output" in (
        message
    )


def test_a_scoring_model_must_be_a_model_uri() -> None:
    message = fails(*MLFLOW, "scoring.model=s3://bucket/model")
    assert "/scoring/model" in message


def test_a_scoring_mount_needs_its_volume() -> None:
    message = fails(
        *MLFLOW,
        "scoring.enabled=true",
        "scoring.model=models:/m/3",
        "scoring.input=/data/in.csv",
        "scoring.output=/data/out.csv",
        "scoring.volumeMounts.data.mountPath=/data",
    )
    assert "scoring.volumeMounts.data: scoring.volumes has no volume of that name" in (
        message
    )
