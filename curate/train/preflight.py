"""Checks that run before any GPU time is spent: packages, device, data, tokenizer, token lengths."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import DependencyError, DeviceError, InputError
from curate.hub_errors import hub_offline
from curate.preference_data import cached_commit, load_preference_splits, locate_data
from curate.tokenizer_loading import load_tokenizer
from curate.train.backends import Backend, for_recipe
from curate.train.config import TrainRecipe

TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate")
CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")


@dataclass
class PreflightReport:
    data: dict[str, Any]  # kind, path, revision (Hub sha) or report_sha256 (local build)
    rows: dict[str, int]
    max_length: int
    longest: int
    too_long: dict[str, int] = field(default_factory=dict)  # per split, dropped before training when allowed


def preflight(recipe: TrainRecipe, check_machine: bool = True, token: str | None = None) -> PreflightReport:
    """Fail fast, with one clear error each, on everything that would otherwise fail on the GPU.

    check_machine=False (dry runs) skips what only the launching machine needs: CUDA devices and the
    backend's own packages (DeepSpeed)."""
    backend = for_recipe(recipe)
    require_packages(recipe, backend.packages(recipe) if check_machine else [])
    if check_machine and backend.needs.cuda_device:
        require_device(recipe)
    if backend.needs.hub_inputs:
        require_hub_inputs(recipe, backend)
    data = locate_data(recipe.data, recipe.data_revision, token)
    tokenizer = load_tokenizer(recipe.model, recipe.model_revision, token)  # its Hub check before the data loads
    splits = load_preference_splits(data, token)
    if data["kind"] == "hub" and hub_offline():
        data = cached_commit(data, splits["train"])
    check_chat_tokens(tokenizer, splits["train"], recipe.model)
    lengths = audit_tokens(splits, tokenizer, recipe.model)
    return size_check(recipe, data, splits, lengths)


def require_packages(recipe: TrainRecipe, backend_packages: list[str]) -> None:
    import importlib.util

    needed = [*TRAIN_PACKAGES, *(["bitsandbytes"] if recipe.method == "qlora" else []), *backend_packages]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise DependencyError(
            f"training packages not installed: {', '.join(missing)}",
            hint="pip install 'curate[train]'" + "".join(f" {n}" for n in missing if n not in TRAIN_PACKAGES),
        )


def require_device(recipe: TrainRecipe) -> None:
    if recipe.device != "cuda":
        return
    import torch

    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        raise DeviceError(
            "no CUDA device on this machine",
            hint="Use --backend hf-jobs to train on Hugging Face's GPUs, or --device cpu for a tiny model's smoke run.",
        )
    if recipe.gpus > available:
        raise DeviceError(f"--gpus {recipe.gpus} but this machine has {available} CUDA device(s)")


def require_hub_inputs(recipe: TrainRecipe, backend: Backend) -> None:
    """A backend that runs elsewhere cannot read this machine's folders."""
    if Path(recipe.model).exists():
        raise InputError(
            f"--model {recipe.model} is a local folder; {backend.where} can only load models from the Hub",
            hint="Pass a Hub model id.",
        )
    folder = Path(recipe.data)
    if folder.is_dir():
        raise InputError(
            f"{folder} is a local folder; {backend.where} can only read data from the Hub",
            hint=f"Publish it first: curate push {folder} --repo user/name, then train on user/name.",
        )


def check_chat_tokens(tokenizer, train, model: str) -> None:
    """ChatML strings need `<|im_start|>` and `<|im_end|>` to be single tokens of this tokenizer."""
    first = train[0]["prompt"] if len(train) else ""
    if isinstance(first, list):
        if not tokenizer.chat_template:
            raise InputError(f"the data is conversational but the tokenizer of {model} has no chat template")
        return
    used = [token for token in CHATML_TOKENS if any(token in text for text in train[:50]["prompt"])]
    broken = [token for token in used if len(tokenizer.encode(token, add_special_tokens=False)) != 1]
    if broken:
        raise InputError(
            f"the tokenizer of {model} lacks the ChatML token(s) {broken} that the data uses",
            hint="Train a ChatML model (e.g. OpenHermes-2.5), or rebuild the data with --format conversational.",
        )


def audit_tokens(splits: dict, tokenizer, model: str) -> dict[str, list[int]]:
    """`curate check` on the training data: BOS/EOS, prefix, control-token and template problems stop the run
    (lengths are size_check's business)."""
    from curate.checker import PROBLEMS, check_splits

    report = check_splits(splits, tokenizer, model)
    found = {kind: f for kind, f in report.findings.items() if f.count}
    if found:
        listed = "; ".join(
            f"{kind} ({PROBLEMS[kind]}): {f.count} pairs, e.g. {', '.join(f.examples)}" for kind, f in found.items()
        )
        raise InputError(
            f"the data does not tokenize as TRL expects with {model}: {listed}",
            hint=f"Run `curate check DATA --tokenizer {model}` for the full report.",
        )
    return report.lengths


def size_check(recipe: TrainRecipe, data: dict, splits: dict, lengths: dict[str, list[int]]) -> PreflightReport:
    longest = max((max(values, default=0) for values in lengths.values()), default=0)
    max_length = recipe.max_length or min(recipe.max_length_cap, max(64, math.ceil(longest / 64) * 64))
    too_long = {name: sum(n > max_length for n in values) for name, values in lengths.items()}
    report = PreflightReport(data, {n: len(s) for n, s in splits.items()}, max_length, longest, too_long)
    if too_long.get("train", 0) == len(splits["train"]):
        shortest = min(lengths["train"], default=0)
        raise InputError(
            f"every train pair is longer than max_length {max_length} tokens (shortest {shortest})",
            hint="Raise --max-length.",
        )
    if sum(too_long.values()) and not recipe.drop_long:
        counts = ", ".join(f"{name} {n}" for name, n in too_long.items())
        raise InputError(
            f"{sum(too_long.values())} pairs ({counts}) are longer than max_length {max_length} tokens "
            f"(longest {longest}); TRL would truncate them",
            hint="Pass --drop-long to train without them, or a larger --max-length.",
        )
    return report
