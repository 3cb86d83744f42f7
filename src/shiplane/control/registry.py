"""The MLflow side of a promotion or rollback: version tags and alias moves.

A promotion moves ``@champion`` to the promoted version and gives the version
it replaces ``@previous``; both versions get ``shiplane.*`` tags saying what
happened, when, by whom and with which verdict. A rollback only tags the
canary version: aliases stay, so a server loading ``@challenger`` keeps working
and the next training run decides what the challenger is.

This runs *after* the Kubernetes patch, so a failure here leaves a half-done
operation; :class:`RegistryError` says exactly what is left to do.
"""

from __future__ import annotations

from typing import Any

from shiplane.control.audit import Action
from shiplane.control.errors import InvalidRequestError, RegistryError
from shiplane.control.plans import Plan
from shiplane_contracts.identity import CHAMPION_ALIAS as CHAMPION
from shiplane_contracts.identity import PREVIOUS_ALIAS as PREVIOUS
from shiplane_contracts.identity import ModelsUri

TAG_PROMOTED_AT = "shiplane.promoted_at"
TAG_ROLLED_BACK_AT = "shiplane.rolled_back_at"
TAG_REPLACED_AT = "shiplane.replaced_at"
TAG_VERDICT = "shiplane.verdict"
TAG_REASON = "shiplane.reason"
TAG_BY = "shiplane.by"
TAG_WHERE = "shiplane.target"


def _finish_hint(action: Action, name: str, version: str) -> str:
    if action is Action.PROMOTE:
        return (
            f"finish by hand: move alias {CHAMPION} to {name} v{version} "
            f"(MlflowClient().set_registered_model_alias({name!r}, {CHAMPION!r}, "
            f"{version!r})) and tag it {TAG_PROMOTED_AT}"
        )
    return f"finish by hand: tag {name} v{version} with {TAG_ROLLED_BACK_AT}"


def record_plan(
    plan: Plan, tracking_uri: str | None, client: Any | None = None
) -> list[str]:
    """Write an applied InferenceService plan to the registry (see :func:`record`).

    No-op plans and traffic changes record nothing.
    """
    recorded = (Action.PROMOTE, Action.ROLLBACK)
    if plan.noop or plan.action not in recorded or plan.audit_entry is None:
        return []
    return record(
        plan.action,
        plan.model_name,
        plan.from_version,
        plan.to_version,
        plan.audit_entry,
        f"the InferenceService {plan.namespace}/{plan.name}",
        tracking_uri,
        client,
    )


def resolve_version(uri: ModelsUri, tracking_uri: str) -> str:
    """The version a ``models:/`` URI names, checked against the registry: an
    alias is resolved once, now, so what lands in an InferenceService is pinned.

    Raises:
        InvalidRequestError: the model, version or alias does not exist.
        RegistryError: MLflow cannot be reached.
    """
    from mlflow.exceptions import MlflowException

    from shiplane_contracts.mlflowclient import registry_client

    client = registry_client(tracking_uri)
    try:
        if uri.version is None:
            assert uri.alias is not None
            found = client.get_model_version_by_alias(uri.name, uri.alias)
        else:
            found = client.get_model_version(uri.name, uri.version)
    except MlflowException as exc:
        what = f"version {uri.version}" if uri.alias is None else f"alias @{uri.alias}"
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise InvalidRequestError(
                f"{uri}: registered model {uri.name!r} has no {what} in MLflow at "
                f"{tracking_uri}; nothing applied"
            ) from None
        raise RegistryError(
            f"could not resolve {uri} in MLflow at {tracking_uri}: "
            f"{str(exc).splitlines()[0]}; nothing applied"
        ) from None
    except OSError as exc:
        raise RegistryError(
            f"MLflow at {tracking_uri} is unreachable ({exc}); nothing applied"
        ) from None
    return str(found.version)


def record(
    action: Action,
    model_name: str | None,
    from_version: str | None,
    to_version: str | None,
    entry: dict[str, Any],
    where: str,
    tracking_uri: str | None,
    client: Any | None = None,
) -> list[str]:
    """Tag the versions and move the aliases for a promotion or a rollback.

    Args:
        action: promote or rollback.
        model_name: registered model name.
        from_version: version traffic moved away from (old stable on promote,
            the canary on rollback).
        to_version: version traffic moved to.
        entry: the audit entry (``at``, ``by``, ``verdict``, ``reason``).
        where: what was already changed, for the error message.
        tracking_uri: MLflow tracking server.
        client: an ``MlflowClient`` to reuse (built from ``tracking_uri`` if None).

    Returns:
        One line per change made, for the CLI to print.

    Raises:
        RegistryError: MLflow is unreachable or refused a change; the message
            says what was applied and how to finish.
    """
    applied = f"{where} WAS updated ({action})"
    subject = to_version if action is Action.PROMOTE else from_version
    if not model_name or not subject:
        raise RegistryError(
            f"{applied}, but the MLflow model name or version is unknown (set the "
            "serving.shiplane.io/model-name and canary-version annotations, or use "
            "a models:/NAME/VERSION storageUri); MLflow was NOT updated"
        )
    from mlflow.exceptions import MlflowException

    from shiplane_contracts.mlflowclient import registry_client

    mlflow = client or registry_client(tracking_uri)
    common = {
        TAG_VERDICT: str(entry.get("verdict", "")),
        TAG_REASON: str(entry.get("reason", ""))[:4000],
        TAG_BY: str(entry.get("by", "")),
        TAG_WHERE: where,
    }
    at = str(entry.get("at", ""))
    done: list[str] = []
    name, version = model_name, str(subject)
    try:
        if action is Action.PROMOTE:
            try:
                old = mlflow.get_model_version_by_alias(name, CHAMPION).version
            except MlflowException:
                old = None  # no champion yet: a first promotion
            for key, value in {TAG_PROMOTED_AT: at, **common}.items():
                mlflow.set_model_version_tag(name, version, key, value)
            done.append(f"mlflow: tagged {name} v{version} {TAG_PROMOTED_AT}={at}")
            if old is not None and str(old) != version:
                mlflow.set_registered_model_alias(name, PREVIOUS, str(old))
                mlflow.set_model_version_tag(name, str(old), TAG_REPLACED_AT, at)
                done.append(f"mlflow: @{PREVIOUS} -> {name} v{old}")
            mlflow.set_registered_model_alias(name, CHAMPION, version)
            done.append(f"mlflow: @{CHAMPION} -> {name} v{version}")
        else:
            for key, value in {TAG_ROLLED_BACK_AT: at, **common}.items():
                mlflow.set_model_version_tag(name, version, key, value)
            done.append(f"mlflow: tagged {name} v{version} {TAG_ROLLED_BACK_AT}={at}")
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"{applied}, but updating MLflow failed after {len(done)} change(s): "
            f"{exc}. {_finish_hint(action, name, version)}"
        ) from exc
    return done
