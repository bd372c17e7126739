"""Read local parquet, JSON, JSONL and folders into one polars frame, with errors that name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from curate.errors import InputError, first_line

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
DATA_SUFFIXES = {".parquet", ".json", *JSONL_SUFFIXES}


def source_files(path: Path, split: str) -> list[Path]:
    """The files of a local file or folder that hold the split."""
    if not path.exists():
        raise InputError(f"source not found: {path}", hint="Pass an existing file or folder to --source.")
    return [path] if path.is_file() else _folder_files(path, split)


def read_files(files: list[Path]) -> pl.DataFrame:
    return _concat([read_file(f) for f in files], files)


def read_file(path: Path) -> pl.DataFrame:
    if path.is_dir():
        return _read_saved_dataset(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix in JSONL_SUFFIXES:
        return _rows_to_frame(_read_jsonl(path), path)
    if suffix == ".json":
        return _rows_to_frame(_read_json_array(path), path)
    raise InputError(
        f"{path}: unsupported file type {suffix or '(none)'}",
        hint="Use parquet, JSON (an array of objects) or JSONL (one object per line).",
    )


def _folder_files(folder: Path, split: str) -> list[Path]:
    if (folder / "state.json").exists() or (folder / "dataset_dict.json").exists():
        return [folder]  # a save_to_disk folder: read whole by datasets
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    files = [p for p in files if not _is_metadata_file(p)]
    if not files:
        raise InputError(f"{folder}: no parquet, JSON or JSONL files found")
    of_split = [p for p in files if _names_split(p.relative_to(folder), split)]
    if of_split or len(files) == 1:
        return of_split or files
    # Several files and none names the split: reading them all could mix a test split into training.
    names = ", ".join(p.relative_to(folder).as_posix() for p in files[:6])
    raise InputError(
        f"{folder}: no file names the split {split!r} (files: {names}{', ...' if len(files) > 6 else ''})",
        hint="Pass --split with the split's name as the file names spell it (e.g. train_prefs).",
    )


def _is_metadata_file(path: Path) -> bool:
    return path.name in {"dataset_info.json", "dataset_infos.json", "report.json", "state.json"}


def _names_split(relative: Path, split: str) -> bool:
    """Hub layout: `data/train-00000-of-00001.parquet`, `train.jsonl` or `train/xxx.parquet`."""
    stem = relative.name.split(".")[0]
    return stem == split or stem.startswith(f"{split}-") or split in relative.parts[:-1]


def _concat(frames: list[pl.DataFrame], files: list[Path]) -> pl.DataFrame:
    if len(frames) == 1:
        return frames[0]
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except pl.exceptions.PolarsError as err:
        names = ", ".join(str(f) for f in files)
        raise InputError(f"files do not share one schema ({names}): {err}") from None


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(f"{path}: not a readable parquet file ({first_line(err)})") from None


def _read_saved_dataset(folder: Path) -> pl.DataFrame:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as err:  # datasets raises many kinds here; all mean "not a saved dataset"
        raise InputError(f"{folder}: not a readable save_to_disk folder ({first_line(err)})") from None
    if isinstance(loaded, datasets.DatasetDict):
        raise InputError(f"{folder} holds splits {sorted(loaded)}", hint="Point --source at one split's folder.")
    return pl.from_arrow(loaded.data.table)


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path}: file is empty, no rows to read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"{path}, line {line}: not valid UTF-8 (byte {err.start})", hint="Re-encode the file as UTF-8."
        ) from None


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(_decode(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}, line {number}: malformed JSON ({err.msg}, column {err.colno})") from None
        if not isinstance(row, dict):
            raise InputError(f"{path}, line {number}: expected a JSON object, found {type(row).__name__}")
        rows.append(row)
    return rows


def _read_json_array(path: Path) -> list[dict]:
    try:
        rows = json.loads(_decode(path))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}, line {err.lineno}: malformed JSON ({err.msg}, column {err.colno})") from None
    if not isinstance(rows, list):
        raise InputError(
            f"{path}: expected a JSON array of objects, found {type(rows).__name__}",
            hint="For one object per line, name the file .jsonl.",
        )
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"{path}, item {index}: expected a JSON object, found {type(row).__name__}")
    return rows


def _rows_to_frame(rows: list[dict], path: Path) -> pl.DataFrame:
    if not rows:
        raise InputError(f"{path}: no rows")
    names = list(dict.fromkeys(key for row in rows for key in row))
    return pl.DataFrame([_column(name, [row.get(name) for row in rows], path) for name in names])


def _column(name: str, values: list, path: Path) -> pl.Series:
    try:
        return pl.Series(name, values)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        pass
    # Mixed scalars (a rating written as 7.5 in one row and "high" in another) become text, so the
    # validation step can name the bad rows instead of failing the whole file.
    scalars = (str, int, float, type(None))
    for index, value in enumerate(values):
        if not isinstance(value, scalars) or isinstance(value, bool):
            raise InputError(
                f"{path}, row {index}: column '{name}' holds {type(value).__name__}, other rows hold {_kinds(values)}"
            )
    return pl.Series(name, [v if v is None or isinstance(v, str) else repr(v) for v in values], pl.String)


def _kinds(values: list) -> str:
    return ", ".join(sorted({type(v).__name__ for v in values if v is not None}))
