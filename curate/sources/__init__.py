"""Load the source rows (Hub or local) into the canonical frame, with a record of where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate.config import SourceConfig
from curate.output import sha256_file
from curate.sources.columns import detect_columns, to_canonical
from curate.sources.files import read_files, source_files


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
    columns = config.columns or detect_columns(raw.columns)
    frame = to_canonical(raw, columns, origin=str(path))
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
    columns = config.columns or detect_columns(raw.columns)
    frame = to_canonical(raw, columns, origin=f"{config.dataset}@{sha[:12]}")
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


def _read_and_record(files: list[Path], root: Path) -> tuple[pl.DataFrame, list[dict[str, str]]]:
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
