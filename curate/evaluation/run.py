"""`curate eval`: load each model once, answer every set greedily, grade, and write the folder; with a baseline,
both models answer the same items and their difference is tested per item (exact McNemar, Newcombe interval)."""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from curate.errors import ConfigError, DependencyError, DeviceError
from curate.evaluation import folder, generation, grading, stats, tasks
from curate.model_loading import ModelSource, fingerprint, resolve_model

DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_NEW_TOKENS = 512


class Reporter(Protocol):
    """How a long evaluation shows progress (the CLI draws a rich bar; the library itself prints nothing)."""

    def stage(self, text: str) -> None: ...
    def start(self, label: str, total: int) -> None: ...
    def advance(self, items: int, tokens: int) -> None: ...


class _Silent:
    def stage(self, text: str) -> None:
        pass

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, items: int, tokens: int) -> None:
        pass


@dataclass(frozen=True)
class Settings:
    batch_size: int = DEFAULT_BATCH_SIZE
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    device: str = "auto"  # auto | cpu | cuda
    limit: int | None = None  # the first N items of each set
    grading_workers: int = 2  # processes for math-verify (curate.answers)


@dataclass
class _ModelRun:
    role: str  # "model", or "base" / "trained"
    source: ModelSource
    record: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, dict[str, list]] = field(default_factory=dict)  # task -> per-item columns
    timings: dict[str, Any] = field(default_factory=dict)


def evaluate(
    model: str,
    out: str | Path = "eval",
    *,
    task_names: list[str] | None = None,
    baseline: str | None = None,
    settings: Settings | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Evaluate `model` (and `baseline` on the same items) and write `out`; returns what results.json holds."""
    settings = settings or Settings()
    reporter = reporter or _Silent()
    _check_settings(settings)
    _require_packages()
    out = Path(out)
    folder.check_out_folder(out)
    roles = [("base", baseline), ("trained", model)] if baseline else [("model", model)]
    runs = [_ModelRun(role, resolve_model(spec)) for role, spec in roles]
    reporter.stage("loading the eval sets")
    sets = _load_sets(task_names or list(tasks.DEFAULT_TASKS), settings.limit)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts: spinning threads thrash a busy CPU
    device, dtype = _device_and_dtype(settings.device)
    for run in runs:
        _run_model(run, sets, settings, device, dtype, reporter)
    results = _results(runs, sets, settings, device, dtype)
    files = {_items_path(run.role, s.name): _parquet(s, run.columns[s.name]) for run in runs for s in sets}
    results["files"] = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in files.items()
    }
    reporter.stage("writing the folder")
    folder.write_eval_folder(out, files, results, inputs=_local_inputs(runs, sets))
    return results


def _require_packages() -> None:
    import importlib.util

    from curate.model_loading import EVAL_EXTRA

    missing = [name for name in ("torch", "transformers", "math_verify") if importlib.util.find_spec(name) is None]
    if missing:
        raise DependencyError(f"curate eval needs {', '.join(missing)}, which is not installed", hint=EVAL_EXTRA)


def _check_settings(settings: Settings) -> None:
    for name in ("batch_size", "max_new_tokens"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    if settings.limit is not None and settings.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if settings.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device {settings.device!r}: expected auto, cpu or cuda")


def _load_sets(names: list[str], limit: int | None) -> list[tasks.EvalSet]:
    sets = [tasks.load_eval_set(name, limit) for name in names]
    seen = [s.name for s in sets]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise ConfigError(f"--tasks names the set {', '.join(twice)} twice", hint="Give each set once.")
    return sets


def _device_and_dtype(requested: str) -> tuple[str, str]:
    """CPU runs in float32 (GGUF weights are dequantized to it anyway); CUDA in bfloat16."""
    import torch

    cuda = torch.cuda.is_available()
    if requested == "cuda" and not cuda:
        raise DeviceError("--device cuda: no CUDA device is visible", hint="Use --device cpu (or auto).")
    device = "cuda" if requested == "cuda" or (requested == "auto" and cuda) else "cpu"
    return device, "bfloat16" if device == "cuda" else "float32"


def _run_model(run: _ModelRun, sets, settings: Settings, device: str, dtype: str, reporter: Reporter) -> None:
    import gc

    from curate.model_loading import load_causal_lm
    from curate.tokenizer_loading import load_tokenizer

    reporter.stage(f"loading {run.source.spec}")
    started = time.perf_counter()
    run.record = fingerprint(run.source)
    tokenizer = load_tokenizer(run.source.spec)
    model = load_causal_lm(run.source, device, dtype)
    run.timings["load_s"] = round(time.perf_counter() - started, 3)
    for eval_set in sets:
        run.columns[eval_set.name], run.timings[eval_set.name] = _run_set(
            model, tokenizer, eval_set, settings, reporter, run.role
        )
    del model
    gc.collect()


def _run_set(model, tokenizer, eval_set, settings: Settings, reporter: Reporter, role: str):
    prompts = generation.build_prompts(tokenizer, eval_set.questions)
    reporter.start(f"{role}: {eval_set.name}" if role != "model" else eval_set.name, len(prompts))
    started = time.perf_counter()
    answers = generation.generate(
        model,
        tokenizer,
        prompts,
        batch_size=settings.batch_size,
        max_new_tokens=settings.max_new_tokens,
        advance=reporter.advance,
    )
    generated = time.perf_counter()
    texts = [a.text for a in answers]
    columns = {
        "question": eval_set.questions,
        "reference": eval_set.references,
        "generation": texts,
        "new_tokens": [a.new_tokens for a in answers],
        "truncated": [a.truncated for a in answers],
        **grading.grade(texts, eval_set.references, eval_set.gsm8k_style, workers=settings.grading_workers),
    }
    graded = time.perf_counter()
    tokens = sum(a.new_tokens for a in answers)
    seconds = generated - started
    timing = {
        "generate_s": round(seconds, 3),
        "grade_s": round(graded - generated, 3),
        "items_per_s": round(len(prompts) / seconds, 3) if seconds else None,
        "new_tokens": tokens,
        "new_tokens_per_s": round(tokens / seconds, 1) if seconds else None,
    }
    return columns, timing


def _scores(columns: dict[str, list], gsm8k_style: bool) -> dict[str, Any]:
    n = len(columns["verdict"])
    scores: dict[str, Any] = {}
    for metric, (column, right) in grading.METRICS.items():
        if column not in columns:
            continue
        correct = sum(1 for v in columns[column] if v == right)
        low, high = stats.wilson(correct, n)
        scores[metric] = {"correct": correct, "items": n, "accuracy": correct / n, "ci95": [low, high]}
    verdicts = ("correct", "incorrect", "undetermined")
    scores["verdicts"] = {v: sum(1 for x in columns["verdict"] if x == v) for v in verdicts}
    scores["truncated"] = sum(columns["truncated"])
    return scores


def _comparison(base: dict[str, list], trained: dict[str, list]) -> dict[str, Any]:
    compared = {}
    for metric, (column, right) in grading.METRICS.items():
        if column in base:
            paired = stats.compare_paired([v == right for v in base[column]], [v == right for v in trained[column]])
            compared[metric] = paired.as_dict()
    return compared


def _results(runs: list[_ModelRun], sets, settings: Settings, device: str, dtype: str) -> dict[str, Any]:
    from curate import __version__

    per_task = {}
    for eval_set in sets:
        entry: dict[str, Any] = {
            "source": eval_set.source,
            "items": len(eval_set.questions),
            "lm_eval_metrics": eval_set.gsm8k_style,
            "scores": {run.role: _scores(run.columns[eval_set.name], eval_set.gsm8k_style) for run in runs},
        }
        if len(runs) == 2:
            entry["comparison"] = _comparison(runs[0].columns[eval_set.name], runs[1].columns[eval_set.name])
        per_task[eval_set.name] = entry
    return {
        "curate_version": __version__,
        "eval_format": folder.EVAL_FORMAT,
        "models": {run.role: run.record for run in runs},
        "generation": {
            "decoding": "greedy",
            "shots": 0,
            "chat_template": "the model's own",
            "instruction": generation.INSTRUCTION,
            "max_new_tokens": settings.max_new_tokens,
            "batch_size": settings.batch_size,
            "padding": "left",
            "device": device,
            "dtype": dtype,
            "limit": settings.limit,
        },
        "grading": {
            "math_verify": "curate.answers.correctness: the response's final answer against the reference, gold first",
            "strict_match": "lm-eval gsm8k: first `#### (\\-?[0-9\\.\\,]+)`, exact match after its normalisation",
            "flexible_extract": "lm-eval gsm8k: last `(-?[$0-9.,]{2,})|(-?[0-9]+)`, exact match as strict_match",
        },
        "tasks": per_task,
        "timings": {run.role: run.timings for run in runs},
    }


def _items_path(role: str, task: str) -> str:
    return f"items/{role}/{task.replace('/', '__')}.parquet"


def _parquet(eval_set, columns: dict[str, list]) -> bytes:
    """The per-item table as parquet bytes: same items and answers, same bytes."""
    import polars as pl

    frame = pl.DataFrame({"item": list(range(len(eval_set.questions))), **columns}, strict=False)
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=1)
    return buffer.getvalue()


def _local_inputs(runs: list[_ModelRun], sets) -> list[Path]:
    """Local files the run reads: --out may neither be nor hold one of them."""
    paths = [Path(run.source.location) for run in runs if run.source.kind != "hub"]
    return paths + [Path(s.source["path"]) for s in sets if "path" in s.source]
