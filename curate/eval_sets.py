"""Benchmarks to decontaminate against: the built-in GSM8K and MATH-500, any Hub dataset, or a local file.
`curate eval` reads the same sets, with their reference answers (`load_rows`, `REFERENCE_COLUMNS`).

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
# The reference answer, for `curate eval`: GSM8K's `answer` ("... #### 42"), MATH-500's `answer` (before `solution`).
REFERENCE_COLUMNS = ("answer", "final_answer", "reference", "target", "solution")
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


EXPECTED_FORMS = "Use gsm8k, math500, a Hub dataset id (owner/name), a path to a JSONL or parquet file, or none."


def resolve(entry: str | BenchmarkSpec) -> BenchmarkSpec:
    """A recipe entry as a full spec: a built-in name, a local file path or a Hub dataset id."""
    if isinstance(entry, BenchmarkSpec):
        if entry.dataset:
            _check_hub_id(entry.dataset)
        return entry
    if entry in BUILTIN:
        return BUILTIN[entry]
    if Path(entry).exists() or entry.lower().endswith(FILE_SUFFIXES):
        return BenchmarkSpec(path=entry)
    if entry.count("/") == 1:
        _check_hub_id(entry)
        return BenchmarkSpec(dataset=entry)
    raise ConfigError(
        f"unknown benchmark {entry!r}: not {' or '.join(BUILTIN)}, not an existing file and not a Hub id (owner/name)",
        hint=EXPECTED_FORMS,
    )


def _check_hub_id(repo_id: str) -> None:
    """The Hub's own rule for ids, before any request: `datasets` would end in a traceback."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise ConfigError(
            f"benchmark {repo_id!r} is not a valid Hub dataset id (owner/name of letters, digits, '-', '_' and '.'), "
            "and no such local file exists",
            hint=EXPECTED_FORMS,
        ) from None


def load_benchmarks(config: DecontaminateConfig) -> list[Benchmark]:
    return [load_benchmark(resolve(entry)) for entry in config.benchmarks]


def load_benchmark(spec: BenchmarkSpec) -> Benchmark:
    rows, source = load_rows(spec)
    column = spec.column or _detect_column(list(rows), spec)
    if column not in rows:
        raise InputError(
            f"benchmark {_name(spec)}: no column {column!r}; found {sorted(rows)}",
            hint="Name the column of the items under decontaminate.benchmarks (`column:`).",
        )
    items = [text for text in rows[column] if isinstance(text, str) and text.strip()]
    _require_usable_items(spec, column, len(rows[column]), items)
    digest = hashlib.sha256("\x1e".join(items).encode()).hexdigest()
    return Benchmark(_name(spec), items, {**source, "column": column, "items": len(items), "items_sha256": digest})


def _require_usable_items(spec: BenchmarkSpec, column: str, rows: int, items: list[str]) -> None:
    """A benchmark none of whose items the check can use would check nothing: an error, not a silent no-op."""
    from curate.steps.decontaminate import SHORTEST_ITEM
    from curate.words import match_words

    if any(len(match_words(item)) >= SHORTEST_ITEM for item in items):
        return
    raise InputError(
        f"benchmark {_name(spec)}: none of its {rows} items in column {column!r} has {SHORTEST_ITEM} or more "
        f"words ({len(items)} non-empty, all shorter), so it would check nothing",
        hint=f"Items under {SHORTEST_ITEM} words are not used; name the column of the problem texts "
        "(`column:` under decontaminate.benchmarks), or remove this benchmark.",
    )


def load_rows(
    spec: BenchmarkSpec, way_out: tuple[str, str] | None = None, what: str = "benchmark"
) -> tuple[dict[str, list], dict[str, Any]]:
    """Every column of the set, and where it came from (the file's sha256, or the Hub commit). `way_out` replaces
    the decontamination hints of Hub errors: (online hint, HF_HUB_OFFLINE hint); `what` names the set in errors."""
    return _local_rows(spec, what) if spec.path else _hub_rows(spec, way_out, what)


def name_of(spec: BenchmarkSpec) -> str:
    """The set's name in reports: the built-in's, the Hub id or the file name."""
    return _name(spec)


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


def _local_rows(spec: BenchmarkSpec, what: str = "benchmark") -> tuple[dict[str, list], dict[str, Any]]:
    from curate.sources.files import read_file

    path = Path(spec.path)
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}", hint="Pass an existing JSONL, JSON or parquet file.")
    frame = read_file(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return frame.to_dict(as_series=False), {"name": _name(spec), "path": path.as_posix(), "sha256": digest}


def _hub_rows(
    spec: BenchmarkSpec, way_out: tuple[str, str] | None = None, what: str = "benchmark"
) -> tuple[dict[str, list], dict[str, Any]]:
    """The split through `datasets` (cached under HF_HOME), pinned to the commit the Hub resolves first."""
    from huggingface_hub import constants

    sha = None if constants.HF_HUB_OFFLINE else _resolve_sha(spec, way_out, what)
    with _benchmark_errors(spec, way_out, what):
        import datasets

        loaded = datasets.load_dataset(spec.dataset, spec.config, split=spec.split, revision=sha or spec.revision)
    source = {"name": _name(spec), "dataset": spec.dataset, "config": spec.config, "split": spec.split}
    return loaded.to_dict(), {**source, "revision": spec.revision, "sha": sha}


def _resolve_sha(spec: BenchmarkSpec, way_out: tuple[str, str] | None = None, what: str = "benchmark") -> str:
    """Ask the Hub first, with a short timeout: `load_dataset` retries for ~20 s before it gives up."""
    from huggingface_hub import HfApi

    from curate.hub_errors import PROBE_TIMEOUT

    with _benchmark_errors(spec, way_out, what):
        return HfApi().dataset_info(spec.dataset, revision=spec.revision, timeout=PROBE_TIMEOUT).sha


class _benchmark_errors:
    def __init__(self, spec: BenchmarkSpec, way_out: tuple[str, str] | None = None, what: str = "benchmark"):
        self.spec = spec
        self.way_out = way_out or (WAY_OUT, OFFLINE_WAY_OUT)
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or not isinstance(error, Exception):
            return False
        from huggingface_hub import errors

        where = f"{self.what} {_name(self.spec)} ({self.spec.dataset}, split {self.spec.split})"
        if isinstance(error, errors.RepositoryNotFoundError | errors.RevisionNotFoundError):
            raise HubError(f"{where} not found on the Hub", hint=_way_out(self.way_out)) from None
        if _unreachable(error):
            raise HubError(f"cannot load {where}: {first_line(error)}", hint=_way_out(self.way_out)) from None
        if isinstance(error, ValueError) and "split" in str(error).lower():
            raise InputError(f"{where}: {first_line(error)}", hint="Set `split:` for this benchmark in the recipe.")
        return False


def _way_out(hints: tuple[str, str] = (WAY_OUT, OFFLINE_WAY_OUT)) -> str:
    from huggingface_hub import constants

    return hints[1] if constants.HF_HUB_OFFLINE else hints[0]


def _unreachable(error: BaseException) -> bool:
    """Network failures (hub_errors' one rule; `datasets` raises ConnectionError after its retries), server
    errors that persist, and `datasets`' DatasetNotFoundError, which it also raises offline."""
    from curate.hub_errors import is_network_error, status_of

    names = {base.__name__ for base in type(error).__mro__}
    return is_network_error(error) or status_of(error) >= 500 or "DatasetNotFoundError" in names
