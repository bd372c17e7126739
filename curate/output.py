"""Write the build folder atomically: parquet splits in the Hub layout, dropped rows, card, report."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from curate.errors import OutputError

DROPPED_COLUMNS = [
    "source_row", "step", "reason", "detail", "system", "prompt", "chosen", "rejected",
    "chosen_rating", "rejected_rating",
]  # fmt: skip


def split_path(split: str) -> str:
    return f"data/{split}-00000-of-00001.parquet"


DROPPED_PATH = "dropped/dropped-00000-of-00001.parquet"


ROW_GROUP = 50_000


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Plain Arrow types (string, list) as `push_to_hub` writes them; fixed settings so bytes repeat."""
    write_parquet_parts([frame], path)


def write_parquet_parts(parts: Iterable[pl.DataFrame], path: Path) -> None:
    """One parquet file from frames made one at a time (at least one, maybe empty), so that a large split
    never has to exist whole in memory, nor its Arrow copy."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for frame in parts:
            table = frame.to_arrow()
            table = table.cast(pa.schema([_plain_field(f) for f in table.schema]))
            writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()


def _plain_field(field):
    import pyarrow as pa

    return pa.field(field.name, _plain_type(field.type), field.nullable)


def _plain_type(kind):
    import pyarrow as pa

    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        return pa.list_(_plain_type(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([_plain_field(kind.field(i)) for i in range(kind.num_fields)])
    return kind


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_records(folder: Path, names: list[str]) -> dict[str, dict]:
    return {name: {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size} for name in names}


def write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8")


def write_atomically(out: Path, fill: Callable[[Path], None]) -> None:
    """Let `fill` write a fresh folder beside `out`, then swap it in; on failure `out` is untouched."""
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        fill(staging)
        _swap(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} is a file", hint="Choose a folder path for --out.")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.json").exists():
        raise OutputError(
            f"{out} is not empty and is not a curate build folder; refusing to replace it",
            hint="Choose a new --out folder, or remove this one yourself.",
        )


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(retired)
    try:
        staging.rename(out)
    except OSError:
        retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
