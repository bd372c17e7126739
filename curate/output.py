"""Write the build folder atomically: parquet splits in the Hub layout, dropped rows, card, report."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl

from curate.errors import OutputError

DROPPED_COLUMNS = [
    "source_row", "step", "reason", "detail", "system", "prompt", "chosen", "rejected",
    "chosen_rating", "rejected_rating",
]  # fmt: skip


SHARD_ROWS = 100_000  # rows per parquet file: one file up to this, then shards in the Hub's naming
ROW_GROUP = 50_000
# zstd's fastest level: at 1M rows 16% less write time than the default (3) for 5% larger files.
ZSTD_LEVEL = 1


def shard_path(prefix: str, index: int, count: int) -> str:
    """`data/train` -> `data/train-00000-of-00001.parquet`, the names `push_to_hub` writes."""
    return f"{prefix}-{index:05d}-of-{count:05d}.parquet"


def split_prefix(split: str) -> str:
    return f"data/{split}"


DROPPED_PREFIX = "dropped/dropped"


def shards_of(folder: Path, prefix: str) -> list[Path]:
    """The files written under `prefix`, in order."""
    return sorted((folder / prefix).parent.glob(f"{Path(prefix).name}-*-of-*.parquet"))


def write_shards(
    folder: Path,
    prefix: str,
    rows: int,
    part: Callable[[int, int], pl.DataFrame],
    written: Callable[[str, pl.DataFrame], object] = lambda _name, _part: None,
) -> None:
    """Write `rows` rows as parquet shards of at most SHARD_ROWS rows (one file, maybe empty, when there
    are none), each made by `part(offset, length)` only when it is written, so a large split never exists
    whole in memory. polars writes each shard straight from its own buffers, with fixed settings (zstd level
    ZSTD_LEVEL, row groups of ROW_GROUP rows), so the same rows give the same bytes. `written` is told each
    path and its rows as soon as its file is complete."""
    count = max(1, -(-rows // SHARD_ROWS))
    for index in range(count):
        name = shard_path(prefix, index, count)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        start = index * SHARD_ROWS
        rows_here = part(start, min(SHARD_ROWS, rows - start))
        rows_here.write_parquet(
            folder / name, compression="zstd", compression_level=ZSTD_LEVEL, row_group_size=ROW_GROUP
        )
        written(name, rows_here)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shard_sizes(path: Path, rows: pl.DataFrame) -> dict:
    """A written shard's bytes on disk, rows and Arrow size (what the dataset card's `dataset_info` needs)."""
    return {"bytes": path.stat().st_size, "rows": rows.height, "arrow_bytes": arrow_nbytes(rows)}


def arrow_nbytes(frame: pl.DataFrame) -> int:
    """The bytes of the frame's Arrow buffers as `datasets` holds them after loading the parquet: what
    `push_to_hub` records as a split's `num_bytes` (pyarrow's `Table.nbytes`). Strings and lists are large
    types (8-byte offsets, counted once per value); numbers come with a validity bitmap, strings and lists
    only when they hold a null, as pyarrow's parquet reader makes them. Exact for a file of one row group;
    with several, pyarrow gives a string column a bitmap only in the groups that hold a null, so this counts
    up to a bitmap more (rows / 8 bytes): an estimate, as `datasets`' own number is."""
    return sum(_nbytes(frame[column], top=True) for column in frame.columns)


def _nbytes(values: pl.Series, top: bool = False) -> int:
    n, dtype = len(values), values.dtype
    bitmap = (n + 7) // 8
    validity = bitmap if values.null_count() else 0
    if dtype == pl.String:
        return validity + 8 * n + int(values.str.len_bytes().sum() or 0)
    if isinstance(dtype, pl.List):
        return validity + 8 * n + _nbytes(values.filter(values.list.len() > 0).list.explode())  # no null, no []
    if isinstance(dtype, pl.Struct):
        return validity + sum(_nbytes(values.struct.field(field.name)) for field in dtype.fields)
    if dtype == pl.Boolean:
        return bitmap + (bitmap if top else validity)
    if dtype not in NUMBER_BYTES:
        raise TypeError(f"no Arrow size for column {values.name} of type {dtype}")
    return (bitmap if top else validity) + n * NUMBER_BYTES[dtype]


NUMBER_BYTES = {pl.Int32: 4, pl.Int64: 8, pl.UInt32: 4, pl.UInt64: 8, pl.Float32: 4, pl.Float64: 8}


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
