"""Reading a dataset file from where it lives into a pandas DataFrame.

Local paths (a mounted volume: a PVC, a ConfigMap, a CSI driver) and object
storage (``s3://``, ``gs://``) are read through :mod:`pyarrow.fs`, so the usual
credential chains and endpoint variables apply without code of ours: for S3
the ``AWS_*`` variables (``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` for an
S3-compatible store), ``~/.aws`` profiles, IRSA's web identity (``AWS_ROLE_ARN``
+ ``AWS_WEB_IDENTITY_TOKEN_FILE``) and instance metadata; for GCS application
default credentials and Workload Identity. MLflow artifacts (``runs:/``,
``mlflow-artifacts:/``) are downloaded through MLflow's artifact repository into
a temporary folder, then read the same way.

Only reading happens here; what the columns hold is checked by
:mod:`shiplane_training.data`. A file that is not there, a storage that refuses
or cannot be reached is a :class:`DataSourceError`; a file that is there but
empty or unparsable is a :class:`DataError`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import unquote, urlsplit

import pandas as pd
from pyarrow import fs as pafs

from shiplane_training.errors import DataError, DataSourceError

OBJECT_STORES: Final = ("s3", "gs")
MLFLOW_SCHEMES: Final = ("runs", "mlflow-artifacts")
SCHEMES: Final = ("file", *OBJECT_STORES, *MLFLOW_SCHEMES)
"""URI schemes ``dataset.uri`` takes."""

FORMATS: Final[dict[str, str]] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
"""File suffix -> format."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


@dataclass(frozen=True)
class SourceOptions:
    """What reading needs from the process settings. (Storage credentials and
    endpoints are the storage SDKs' own variables: they read them themselves.)"""

    tracking_uri: str = ""
    """The MLflow server ``runs:/`` and ``mlflow-artifacts:/`` resolve against."""


def check_uri(uri: str) -> str:
    """The scheme of a dataset URI.

    Raises:
        ValueError: not a URI, or a scheme Shiplane cannot read.
    """
    match = _SCHEME.match(uri)
    if match is None:
        raise ValueError(
            f"{uri!r} is not a URI (use s3://bucket/key, gs://bucket/key, "
            "runs:/RUN_ID/path, mlflow-artifacts:/path or file:///path; a local "
            "file goes in dataset.path)"
        )
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise ValueError(
            f"unsupported scheme {scheme!r} in {uri!r} (supported: "
            f"{', '.join(s + ':' for s in SCHEMES)})"
        )
    if scheme in OBJECT_STORES:
        parts = urlsplit(uri)
        if not parts.netloc or parts.path in ("", "/"):
            raise ValueError(f"{uri!r} names no object: use {scheme}://bucket/key")
    return scheme


def read_frame(
    location: Path | str, options: SourceOptions | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file: a local :class:`~pathlib.Path`, or a URI
    string (see module doc).

    Raises:
        DataSourceError: missing file or object, access denied, unreachable
            storage or MLflow, a URI Shiplane cannot read.
        DataError: unsupported suffix, empty or unparsable file.
    """
    options = options or SourceOptions()
    if isinstance(location, Path):
        where = str(location)
        fmt = _format(location.suffix, where)
        return _read(pafs.LocalFileSystem(), where, fmt, where)
    try:
        scheme = check_uri(location)
    except ValueError as exc:
        raise DataSourceError(str(exc)) from exc
    fmt = _format(PurePosixPath(urlsplit(location).path).suffix, location)
    if scheme in MLFLOW_SCHEMES:
        with tempfile.TemporaryDirectory(prefix="shiplane-data-") as tmp:
            local = _download_artifact(location, Path(tmp), options.tracking_uri)
            return _read(pafs.LocalFileSystem(), str(local), fmt, location)
    filesystem, path = _filesystem(location, scheme)
    return _read(filesystem, path, fmt, location)


def _format(suffix: str, where: str) -> str:
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        raise DataError(
            f"{where}: unsupported file type {suffix.lower() or '(none)'!r} "
            "(use .csv or .parquet)"
        )
    return fmt


def _filesystem(where: str, scheme: str) -> tuple[pafs.FileSystem, str]:
    if scheme == "file":
        return pafs.LocalFileSystem(), unquote(urlsplit(where).path)
    try:
        # Arrow reads the AWS SDK's variables, AWS_ENDPOINT_URL(_S3) included
        # (MinIO, Ceph, SeaweedFS...); without an endpoint it asks AWS for the
        # bucket's region (one unsigned HEAD), so no region needs configuring.
        filesystem, path = pafs.FileSystem.from_uri(where)
    except (OSError, ValueError) as exc:
        raise DataSourceError(f"{where}: {_storage_problem(exc)}") from exc
    return filesystem, path


def _read(filesystem: pafs.FileSystem, path: str, fmt: str, where: str) -> pd.DataFrame:
    remote = not isinstance(filesystem, pafs.LocalFileSystem)
    try:
        info = filesystem.get_file_info(path)
    except OSError as exc:
        raise DataSourceError(f"{where}: {_storage_problem(exc)}") from exc
    if info.type == pafs.FileType.NotFound:
        raise DataSourceError(f"{where}: no such {'object' if remote else 'file'}")
    if info.type != pafs.FileType.File:
        raise DataSourceError(f"{where}: is a folder or prefix, not a file")
    if info.size == 0:
        raise DataError(f"{where}: the file is empty")
    try:
        if fmt == "parquet":
            with filesystem.open_input_file(path) as parquet:
                return pd.read_parquet(parquet)
        with filesystem.open_input_stream(path) as stream:
            return pd.read_csv(stream)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{where}: the file is empty (no columns)") from exc
    except (pd.errors.ParserError, ValueError) as exc:  # ArrowInvalid is a ValueError
        raise DataError(f"{where}: cannot be parsed: {_first_line(exc)}") from exc
    except OSError as exc:
        raise DataSourceError(f"{where}: {_storage_problem(exc)}") from exc


def _download_artifact(uri: str, into: Path, tracking_uri: str) -> Path:
    if not tracking_uri:
        raise DataSourceError(
            f"{uri}: an MLflow artifact needs the tracking server: set "
            "MLFLOW_TRACKING_URI or pass --tracking-uri"
        )
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(into), tracking_uri=tracking_uri
            )
        )
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise DataSourceError(f"{uri}: no such run or artifact") from exc
        raise DataSourceError(f"{uri}: MLflow failed: {_first_line(exc)}") from exc
    except OSError as exc:
        raise DataSourceError(f"{uri}: {_first_line(exc)}") from exc


# What the AWS SDK says through Arrow, and what to check. A HEAD request (how
# Arrow looks a key up) has no error body: missing, wrong and unauthorised
# credentials all read ACCESS_DENIED.
_PROBLEMS: Final[tuple[tuple[str, str], ...]] = (
    (
        "ACCESS_DENIED",
        "access denied: no credentials, or they may not read this object (check "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the "
        "ServiceAccount's IRSA role and its policy)",
    ),
    (
        "NETWORK_CONNECTION",
        "cannot connect to the storage (check AWS_ENDPOINT_URL and the network)",
    ),
)


def _storage_problem(exc: BaseException) -> str:
    text = str(exc)
    for needle, meaning in _PROBLEMS:
        if needle in text:
            return meaning
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
