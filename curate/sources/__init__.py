"""Load the source rows (Hub or local) into the canonical frame, with a record of where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate.config import ColumnMap, SourceConfig
from curate.errors import InputError
from curate.output import sha256_file
from curate.sources.columns import TEXT_FIELDS, detect_columns, to_canonical
from curate.sources.files import EXAMPLES, NumbersInText, SourceRows, read_files, source_files


@dataclass(frozen=True)
class LoadedSource:
    frame: pl.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def load_source(config: SourceConfig) -> LoadedSource:
    if config.path:
        return _load_local(Path(config.path), config)
    return _load_hub(config)


def _load_local(path: Path, config: SourceConfig) -> LoadedSource:
    files = source_files(path, config.split)
    raw, records = _read_and_record(files, path)
    frame, columns = _canonical(raw, config, origin=str(path))
    info = {
        "kind": "local",
        "path": path.as_posix(),
        "split": config.split,
        "files": records,
        "columns": columns.model_dump(),
    }
    return LoadedSource(frame, info)


def _load_hub(config: SourceConfig) -> LoadedSource:
    from curate.sources.hub import download_dataset

    folder, sha = download_dataset(config.dataset, config.revision)
    raw, records = _read_and_record(source_files(folder, config.split), folder)
    frame, columns = _canonical(raw, config, origin=f"{config.dataset}@{sha[:12]}")
    info = {
        "kind": "hub",
        "dataset": config.dataset,
        "revision": config.revision,
        "sha": sha,
        "split": config.split,
        "license": _card_license(folder),
        "files": records,
        "columns": columns.model_dump(),
    }
    return LoadedSource(frame, info)


def _canonical(raw: SourceRows, config: SourceConfig, origin: str) -> tuple[pl.DataFrame, ColumnMap]:
    columns = config.columns or detect_columns(raw.frame.columns)
    _refuse_numbers_in_text(raw.numbers_in_text, columns, origin)
    return to_canonical(raw.frame, columns, origin=origin), columns


def _refuse_numbers_in_text(numbers: dict[str, NumbersInText], columns: ColumnMap, origin: str) -> None:
    """A text column with numbers in some rows: the same error as one holding only numbers. (Ratings may
    mix them: validation names their rows.)"""
    for field_name in TEXT_FIELDS:
        name = getattr(columns, field_name)
        found = numbers.get(name) if name else None
        if found:
            more = "; ..." if len(found.rows) > EXAMPLES else ""
            raise InputError(
                f"{origin}: column '{name}' ({field_name}) must hold text, but {len(found.rows)} of its rows "
                f"hold numbers: {'; '.join(found.examples)}{more}",
                hint='Write those values as JSON strings ("5", not 5), or map another column in source.columns.',
            )


def _read_and_record(files: list[Path], root: Path) -> tuple[SourceRows, list[dict[str, str]]]:
    """The rows of `files` and their records; the files are hashed on a second thread while polars parses
    them (hashlib lets go of the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        records = pool.submit(lambda: [_file_record(f, root) for f in files])
        return read_files(files), records.result()


def _file_record(file: Path, root: Path) -> dict[str, str]:
    name = file.relative_to(root).as_posix() if file != root else file.name
    return {"path": name, "sha256": _sha256(file)}


def _sha256(path: Path) -> str:
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()  # a save_to_disk folder: its files' hashes in name order
    for part in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(part.relative_to(path).as_posix().encode() + b"\0" + sha256_file(part).encode())
    return digest.hexdigest()


def _card_license(folder: Path) -> str | None:
    """The license in the source's own dataset card, carried into ours."""
    from huggingface_hub.repocard import metadata_load

    readme = folder / "README.md"
    license_ = (metadata_load(readme) or {}).get("license") if readme.exists() else None
    return license_ if isinstance(license_, str) else None
