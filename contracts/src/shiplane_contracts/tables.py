"""Reading and writing tabular files in bounded memory: CSV or Parquet, on a
local path (a mounted volume) or in object storage (``s3://``, ``gs://``).

One module so batch scoring and profiling read a dataset the same way. Files
stream in record batches of at most ``batch_rows`` rows, so memory depends on
the batch size, never on the file. Object storage goes through ``pyarrow.fs``:
credentials come from the usual chain (``AWS_*`` variables, a web identity
token as IRSA mounts it, instance metadata; ``GOOGLE_APPLICATION_CREDENTIALS``),
and ``AWS_ENDPOINT_URL`` points S3 at MinIO or SeaweedFS.

Needs the ``tables`` extra (pyarrow).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

Format = Literal["csv", "parquet"]
SUFFIXES: Final[dict[str, Format]] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
REMOTE_SCHEMES: Final = ("s3", "gs", "gcs")


class TableError(ValueError):
    """A table cannot be read or written; the message says which and why."""


@dataclass(frozen=True)
class Location:
    """Where a table lives: its filesystem, the path on it, and its format."""

    uri: str
    filesystem: pafs.FileSystem
    path: str
    format: Format
    local: bool = False


def format_of(uri: str) -> Format:
    """The format a file's suffix names.

    Raises:
        TableError: neither ``.csv`` nor ``.parquet``/``.pq``.
    """
    suffix = PurePosixPath(uri.split("?", 1)[0]).suffix.lower()
    if suffix not in SUFFIXES:
        raise TableError(
            f"{uri}: cannot tell the format from {suffix or 'no suffix'!r}; "
            f"name a {', '.join(SUFFIXES)} file"
        )
    return SUFFIXES[suffix]


def locate(uri: str) -> Location:
    """Resolve ``uri`` (a path, ``file://``, ``s3://``, ``gs://``) to a
    filesystem and path.

    Raises:
        TableError: an unknown scheme, or the filesystem cannot be set up.
    """
    import pyarrow.fs as pafs

    fmt = format_of(uri)
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme in ("", "file"):
        path = os.path.abspath(uri.removeprefix("file://"))
        return Location(uri, pafs.LocalFileSystem(), path, fmt, local=True)
    if scheme not in REMOTE_SCHEMES:
        raise TableError(
            f"{uri}: unknown scheme {scheme!r}; use a path, file://, s3:// or gs://"
        )
    bucket_and_key = uri.split("://", 1)[1]
    try:
        if scheme == "s3":
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get(
                "AWS_ENDPOINT_URL"
            )
            options: dict[str, Any] = {}
            if endpoint:
                scheme_part, _, host = endpoint.partition("://")
                options = {"endpoint_override": host or endpoint}
                if scheme_part == "http":
                    options["scheme"] = "http"
            region = os.environ.get("AWS_REGION") or os.environ.get(
                "AWS_DEFAULT_REGION"
            )
            if region:
                options["region"] = region
            filesystem: pafs.FileSystem = pafs.S3FileSystem(**options)
        else:
            filesystem = pafs.GcsFileSystem()
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for setup
        raise TableError(f"{uri}: cannot open {scheme}://: {exc}") from exc
    return Location(uri, filesystem, bucket_and_key, fmt)


def count_rows(location: Location) -> int | None:
    """Rows of a Parquet file from its footer; None for CSV (unknown until read)."""
    if location.format != "parquet":
        return None
    import pyarrow.parquet as pq

    try:
        with location.filesystem.open_input_file(location.path) as f:
            return int(pq.ParquetFile(f).metadata.num_rows)
    except (OSError, ValueError) as exc:
        raise TableError(f"cannot read {location.uri}: {exc}") from exc


def read_batches(
    location: Location, batch_rows: int, text_columns: tuple[str, ...] = ()
) -> Iterator[pa.RecordBatch]:
    """The table's rows in order, at most ``batch_rows`` per batch.

    Args:
        text_columns: CSV columns to read as text rather than infer a type for,
            so one bad cell is the caller's to refuse, not an error that stops
            the whole read (Parquet columns are typed already).

    Raises:
        TableError: the file is missing, unreadable, or not what its suffix says.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    fs, path = location.filesystem, location.path
    try:
        if location.format == "parquet":
            with fs.open_input_file(path) as f:
                yield from pq.ParquetFile(f).iter_batches(batch_size=batch_rows)
            return
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in text_columns},
            strings_can_be_null=True,
        )
        with fs.open_input_stream(path) as raw:
            reader = pacsv.open_csv(
                raw,
                read_options=pacsv.ReadOptions(block_size=1 << 22),
                convert_options=convert,
            )
            for batch in reader:
                yield from _split(batch, batch_rows)
    except (OSError, pa.ArrowInvalid) as exc:
        raise TableError(f"cannot read {location.uri}: {exc}") from exc


def _split(batch: pa.RecordBatch, rows: int) -> Iterator[pa.RecordBatch]:
    for start in range(0, batch.num_rows, rows):
        yield batch.slice(start, rows)


class TableWriter:
    """Write record batches to a CSV or Parquet file, one batch at a time.

    The file appears under its name only when :meth:`close` succeeds: until
    then it is written next to it as ``NAME.partial``, so a run that fails
    halfway never leaves a file that looks complete.
    """

    def __init__(self, location: Location, schema: pa.Schema) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        self.location = location
        self._partial = f"{location.path}.partial"
        fs = location.filesystem
        try:
            if location.local:  # object stores have no directories to make
                parent = os.path.dirname(location.path)
                if parent:
                    os.makedirs(parent, exist_ok=True)
            self._sink = fs.open_output_stream(self._partial)
        except OSError as exc:
            raise TableError(f"cannot write {location.uri}: {exc}") from exc
        self._writer: Any
        if location.format == "parquet":
            self._writer = pq.ParquetWriter(self._sink, schema)
        else:
            self._writer = pacsv.CSVWriter(self._sink, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        try:
            self._writer.write_batch(batch)
        except OSError as exc:
            raise TableError(f"cannot write {self.location.uri}: {exc}") from exc

    def close(self) -> None:
        """Finish the file and give it its name."""
        fs = self.location.filesystem
        try:
            self._writer.close()
            self._sink.close()
            fs.move(self._partial, self.location.path)
        except OSError as exc:
            raise TableError(f"cannot write {self.location.uri}: {exc}") from exc

    def abort(self) -> None:
        """Drop what was written (best effort: the run already failed)."""
        try:
            self._writer.close()
            self._sink.close()
            self.location.filesystem.delete_file(self._partial)
        except Exception:  # nothing more to save; the caller reports the cause
            pass
