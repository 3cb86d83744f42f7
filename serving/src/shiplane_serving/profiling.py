"""``shiplane profile``: a drift baseline for a model version that has none.

A model logged without Shiplane's training serves with drift off. Profiling
loads the version as a server does, reads a dataset like its training data
(CSV or Parquet, a path or object storage), validates its rows as requests are
validated, predicts them, and builds the reference profile from the rows and
the predictions. The profile is logged as the artifact of a run of its own, and
the version's :data:`~shiplane_contracts.modelformat.PROFILE_TAG` tag points at
it: the model's own files stay as their author logged them, and the next server
start finds the baseline.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shiplane_contracts import tables
from shiplane_contracts.identity import parse_models_uri
from shiplane_contracts.modelformat import PROFILE_FILENAME, PROFILE_TAG
from shiplane_contracts.profile import (
    ColumnKind,
    ProfileError,
    ReferenceProfile,
    build_profile,
    build_table_profile,
    fingerprint,
    table_fingerprint,
)
from shiplane_contracts.tables import TableError
from shiplane_serving.dataplane import Dataplane
from shiplane_serving.metrics import ServingMetrics
from shiplane_serving.settings import ServingSettings
from shiplane_serving.tabular import check_columns, validate
from shiplane_serving.types import NUMERIC_KINDS

PROFILE_EXPERIMENT = "shiplane-profiles"


class ProfilingError(RuntimeError):
    """No profile could be built or stored; the message says why."""


@dataclass
class Profiled:
    """A built profile and what it was built from."""

    profile: ReferenceProfile
    name: str
    version: str
    rows_used: int
    rows_rejected: int
    first_reject: str = ""


def build_version_profile(
    settings: ServingSettings, data_uri: str, max_rows: int, batch_rows: int = 10_000
) -> Profiled:
    """Profile the version ``settings.model_uri`` names on up to ``max_rows``
    valid rows of ``data_uri``.

    Raises:
        ProfilingError: not a registry version, the model does not load, the
            data cannot be read or has no valid row.
    """
    parsed = parse_models_uri(settings.model_uri)
    if parsed is None:
        raise ProfilingError(
            f"{settings.model_uri} is not a registry version; name one as "
            "models:/NAME/VERSION or models:/NAME@ALIAS"
        )
    dataplane = Dataplane(
        settings.model_copy(update={"drift": False}), ServingMetrics()
    )
    if not dataplane.load():
        raise ProfilingError(
            f"model {settings.model_uri} did not load: {dataplane.load_error}"
        )
    try:
        schema = dataplane.require_ready()
        loaded = dataplane.loaded
        assert loaded is not None
        chunks: list[np.ndarray[Any, Any]] = []
        used = rejected = 0
        first_reject = ""
        source = tables.locate(data_uri)
        for batch in tables.read_batches(source, batch_rows, schema.feature_names):
            if used == 0 and rejected == 0:
                check_columns(batch.schema, schema, data_uri)
            checked = validate(batch.slice(0, max_rows - used), schema)
            if checked.rejects and not first_reject:
                first_reject = checked.rejects[0][1]
            rejected += len(checked.rejects)
            chunks.append(checked.x)
            used += int(checked.x.shape[0])
            if used >= max_rows:
                break
    except TableError as exc:
        dataplane.stop()
        raise ProfilingError(str(exc)) from exc
    if used == 0:
        dataplane.stop()
        raise ProfilingError(
            f"{data_uri} has no row the model takes"
            + (f" (first refusal: {first_reject})" if first_reject else "")
        )
    x = np.concatenate(chunks)
    labels = dataplane.predict_rows(x).labels
    dataplane.stop()
    try:
        if schema.typed:
            kinds: dict[str, ColumnKind] = {
                c.name: "numeric" if c.kind in NUMERIC_KINDS else "categorical"
                for c in schema.columns
            }
            columns = {c.name: x[:, j].tolist() for j, c in enumerate(schema.columns)}
            profile = build_table_profile(
                columns, kinds, labels, loaded.task, table_fingerprint(columns, labels)
            )
        else:
            profile = build_profile(
                x, schema.feature_names, labels, loaded.task, fingerprint(x, labels)
            )
    except ProfileError as exc:
        raise ProfilingError(f"cannot profile {data_uri}: {exc}") from exc
    return Profiled(
        profile, parsed.name, dataplane.version, used, rejected, first_reject
    )


def store_profile(profiled: Profiled, tracking_uri: str, data_uri: str) -> str:
    """Log the profile as a run's artifact and tag the version with it.

    Returns:
        The artifact URI the version's tag now names.

    Raises:
        ProfilingError: MLflow refused (the version keeps its old tag then).
    """
    from shiplane_contracts.mlflowclient import registry_client

    client = registry_client(tracking_uri or None)
    try:
        experiment = client.get_experiment_by_name(PROFILE_EXPERIMENT)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(PROFILE_EXPERIMENT)
        )
        run = client.create_run(
            experiment_id,
            run_name=f"profile-{profiled.name}-v{profiled.version}",
            tags={"shiplane.model": profiled.name},
        )
        run_id = run.info.run_id
        for key, value in {
            "model": profiled.name,
            "model_version": profiled.version,
            "data": data_uri,
            "rows": profiled.rows_used,
            "rows_rejected": profiled.rows_rejected,
            "dataset_fingerprint": profiled.profile.dataset_fingerprint,
        }.items():
            client.log_param(run_id, key, value)
        with tempfile.TemporaryDirectory() as tmp:
            path = profiled.profile.save(Path(tmp) / PROFILE_FILENAME)
            client.log_artifact(run_id, str(path))
        uri = f"runs:/{run_id}/{PROFILE_FILENAME}"
        client.set_model_version_tag(profiled.name, profiled.version, PROFILE_TAG, uri)
        client.set_terminated(run_id)
    except Exception as exc:  # MLflow raises many types for one refusal
        raise ProfilingError(
            f"cannot store the profile of {profiled.name} version "
            f"{profiled.version} in MLflow: {exc}"
        ) from exc
    return uri


def summary(profiled: Profiled) -> list[str]:
    """Lines that describe a profile, for the terminal."""
    p = profiled.profile
    lines = [
        f"profile of {profiled.name} version {profiled.version}: "
        f"{profiled.rows_used:,} rows ({profiled.rows_rejected:,} refused), "
        f"{p.task}, schema version {p.schema_version}"
    ]
    if profiled.first_reject:
        lines.append(f"  first refused row: {profiled.first_reject}")
    for f in p.features:
        if f.kind == "categorical":
            lines.append(
                f"  {f.name}: categorical, {len(f.categories)} categories, "
                f"{f.missing} missing"
            )
        else:
            lines.append(
                f"  {f.name}: numeric, {f.bins} bins, mean {f.mean:.4g}, "
                f"std {f.std:.4g}, {f.missing} missing"
            )
    return lines
