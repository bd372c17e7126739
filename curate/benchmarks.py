"""Benchmarks to decontaminate against: the built-in GSM8K and MATH-500, any Hub dataset, or a local file.

Hub benchmarks are loaded with `datasets.load_dataset` (which caches them); an unreachable Hub is an error
that names the ways out, never a silent skip.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.config import BenchmarkSpec, DecontaminateConfig
from curate.errors import ConfigError, HubError, InputError, first_line

BUILTIN = {
    "gsm8k": BenchmarkSpec(name="gsm8k", dataset="openai/gsm8k", config="main", split="test", column="question"),
    "math500": BenchmarkSpec(name="math500", dataset="HuggingFaceH4/MATH-500", split="test", column="problem"),
}
ITEM_COLUMNS = ("problem", "question", "prompt", "instruction", "text", "input")
FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")
WAY_OUT = (
    "Pass a local copy instead (--decontaminate PATH, a JSONL or parquet file with the items in a `question` "
    "or `problem` column, or `path:` under decontaminate.benchmarks in the recipe), set HF_HUB_OFFLINE=1 if it "
    "is in your Hub cache, or turn decontamination off with --decontaminate none."
)
OFFLINE_WAY_OUT = (
    "HF_HUB_OFFLINE is set and this benchmark is not in the Hub cache: load it once online, pass a local copy "
    "(--decontaminate PATH, a JSONL or parquet file with a `question` or `problem` column), or turn "
    "decontamination off with --decontaminate none."
)


@dataclass(frozen=True)
class Benchmark:
    name: str
    items: list[str]
    source: dict[str, Any] = field(default_factory=dict)  # where the items came from, for the report


def resolve(entry: str | BenchmarkSpec) -> BenchmarkSpec:
    """A recipe entry as a full spec: a built-in name, a local file path or a Hub dataset id."""
    if isinstance(entry, BenchmarkSpec):
        return entry
    if entry in BUILTIN:
        return BUILTIN[entry]
    if Path(entry).exists() or entry.lower().endswith(FILE_SUFFIXES):
        return BenchmarkSpec(path=entry)
    if entry.count("/") == 1:
        return BenchmarkSpec(dataset=entry)
    raise ConfigError(
        f"unknown benchmark {entry!r}: not {' or '.join(BUILTIN)}, not an existing file and not a Hub id (owner/name)",
        hint="Use gsm8k, math500, a Hub dataset id, a path to a JSONL or parquet file, or none.",
    )


def load_benchmarks(config: DecontaminateConfig) -> list[Benchmark]:
    return [load_benchmark(resolve(entry)) for entry in config.benchmarks]


def load_benchmark(spec: BenchmarkSpec) -> Benchmark:
    rows, source = _local_rows(spec) if spec.path else _hub_rows(spec)
    column = spec.column or _detect_column(list(rows), spec)
    if column not in rows:
        raise InputError(
            f"benchmark {_name(spec)}: no column {column!r}; found {sorted(rows)}",
            hint="Name the column of the items under decontaminate.benchmarks (`column:`).",
        )
    items = [text for text in rows[column] if isinstance(text, str) and text.strip()]
    digest = hashlib.sha256("\x1e".join(items).encode()).hexdigest()
    return Benchmark(_name(spec), items, {**source, "column": column, "items": len(items), "items_sha256": digest})


def _name(spec: BenchmarkSpec) -> str:
    return spec.name or spec.dataset or Path(spec.path or "").name


def _detect_column(columns: list[str], spec: BenchmarkSpec) -> str:
    found = next((c for c in ITEM_COLUMNS if c in columns), None)
    if found is None:
        raise InputError(
            f"benchmark {_name(spec)}: none of the columns {list(ITEM_COLUMNS)} found; it has {sorted(columns)}",
            hint="Name the column under decontaminate.benchmarks in the recipe: {path: ..., column: ...}.",
        )
    return found


def _local_rows(spec: BenchmarkSpec) -> tuple[dict[str, list], dict[str, Any]]:
    from curate.sources.files import read_file

    path = Path(spec.path)
    if not path.is_file():
        raise InputError(f"benchmark file not found: {path}", hint="Pass an existing JSONL, JSON or parquet file.")
    frame = read_file(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return frame.to_dict(as_series=False), {"name": _name(spec), "path": path.as_posix(), "sha256": digest}


def _hub_rows(spec: BenchmarkSpec) -> tuple[dict[str, list], dict[str, Any]]:
    """The split through `datasets` (cached under HF_HOME), pinned to the commit the Hub resolves first."""
    from huggingface_hub import constants

    sha = None if constants.HF_HUB_OFFLINE else _resolve_sha(spec)
    with _benchmark_errors(spec):
        import datasets

        loaded = datasets.load_dataset(spec.dataset, spec.config, split=spec.split, revision=sha or spec.revision)
    source = {"name": _name(spec), "dataset": spec.dataset, "config": spec.config, "split": spec.split}
    return loaded.to_dict(), {**source, "revision": spec.revision, "sha": sha}


def _resolve_sha(spec: BenchmarkSpec) -> str:
    """Ask the Hub first, with a short timeout: `load_dataset` retries for ~20 s before it gives up."""
    from huggingface_hub import HfApi

    with _benchmark_errors(spec):
        return HfApi().dataset_info(spec.dataset, revision=spec.revision, timeout=15).sha


class _benchmark_errors:
    def __init__(self, spec: BenchmarkSpec):
        self.spec = spec

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or not isinstance(error, Exception):
            return False
        from huggingface_hub import errors

        where = f"benchmark {_name(self.spec)} ({self.spec.dataset}, split {self.spec.split})"
        if isinstance(error, errors.RepositoryNotFoundError | errors.RevisionNotFoundError):
            raise HubError(f"{where} not found on the Hub", hint=_way_out()) from None
        if _unreachable(error):
            raise HubError(f"cannot load {where}: {first_line(error)}", hint=_way_out()) from None
        if isinstance(error, ValueError) and "split" in str(error).lower():
            raise InputError(f"{where}: {first_line(error)}", hint="Set `split:` for this benchmark in the recipe.")
        return False


def _way_out() -> str:
    from huggingface_hub import constants

    return OFFLINE_WAY_OUT if constants.HF_HUB_OFFLINE else WAY_OUT


def _unreachable(error: BaseException) -> bool:
    """Network failures as huggingface_hub, httpx and datasets raise them (datasets: ConnectionError after
    its retries, DatasetNotFoundError offline), and server errors that persist."""
    from huggingface_hub import errors

    if isinstance(error, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError | ConnectionError):
        return True
    if isinstance(error, errors.HfHubHTTPError):
        return getattr(error.response, "status_code", 0) >= 500
    names = {base.__name__ for base in type(error).__mro__}
    return bool(names & {"TransportError", "TimeoutException", "DatasetNotFoundError"})
