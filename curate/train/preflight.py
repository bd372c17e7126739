"""Checks that run before any GPU time is spent: packages, device, data, tokenizer, token lengths."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import CurateError, DependencyError, DeviceError, HubError, InputError, first_line
from curate.hub_errors import PROBE_TIMEOUT, hub_errors, hub_offline
from curate.output import verify_build
from curate.tokenizer_loading import load_tokenizer
from curate.train.backends import Backend, for_recipe
from curate.train.config import TrainRecipe

TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate")
PREFERENCE_COLUMNS = ("prompt", "chosen", "rejected")
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
    data = locate_data(recipe, token)
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


def locate_data(recipe: TrainRecipe, token: str | None = None) -> dict[str, Any]:
    """A local build folder (checked against its report, whose hash the model card records) or a Hub dataset
    pinned to a commit sha."""
    folder = Path(recipe.data)
    if folder.is_dir():
        report = folder / "report.json"
        if report.is_file():
            verify_build(folder)  # the files must still be the ones the report describes
        digest = hashlib.sha256(report.read_bytes()).hexdigest() if report.is_file() else None
        return {"kind": "local", "path": str(folder.resolve()), "report_sha256": digest}
    if folder.exists() or recipe.data.count("/") != 1:
        raise InputError(f"{recipe.data} is neither a build folder nor a Hub dataset id (user/name)")
    sha = _resolve_dataset_sha(recipe.data, recipe.data_revision, token)
    return {"kind": "hub", "path": recipe.data, "revision": sha}


def _resolve_dataset_sha(repo_id: str, revision: str | None, token: str | None) -> str | None:
    """One short request (load_dataset retries for ~20 s when the Hub is unreachable). Offline, `datasets`
    finds its cached copy itself, and preflight records the commit it holds (`cached_commit`)."""
    from huggingface_hub import HfApi

    if hub_offline():
        return revision
    with hub_errors(f"dataset {repo_id}", token=token, revision=revision, unreachable_hint=LOCAL_DATA):
        return HfApi(token=token).dataset_info(repo_id, revision=revision, timeout=PROBE_TIMEOUT).sha


def cached_commit(data: dict[str, Any], train) -> dict[str, Any]:
    """Offline, the commit sha of the cached copy `datasets` loaded (its cache folder is named by it)."""
    folder = Path(train.cache_files[0]["filename"]).parent.name if train.cache_files else ""
    if not re.fullmatch(r"[0-9a-f]{40}", folder):
        return data
    asked = data.get("revision")
    if asked and re.fullmatch(r"[0-9a-f]{40}", asked) and asked != folder:
        raise HubError(
            f"HF_HUB_OFFLINE is set and dataset {data['path']}@{asked} is not in the Hub cache (it holds {folder})",
            hint=CACHED,
        )
    return {**data, "revision": folder}


LOCAL_DATA = "Train on a local build folder, or set HF_HUB_OFFLINE=1 to use your Hub cache."
CACHED = "Unset HF_HUB_OFFLINE on a machine that reaches the Hub (once), or train on a local build folder."


def load_preference_splits(data: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    from datasets import load_dataset

    try:
        with hub_errors(f"dataset {data['path']}", token=token, unreachable_hint=LOCAL_DATA, offline_hint=CACHED):
            loaded = load_dataset(data["path"], revision=data.get("revision"), token=token)
    except CurateError:
        raise
    except Exception as err:  # datasets raises many kinds; all mean "cannot read this as a dataset"
        raise InputError(f"cannot load {data['path']} as a dataset: {first_line(err)}") from None
    if "train" not in loaded or len(loaded["train"]) == 0:
        raise InputError(f"{data['path']} has no train pairs (splits: { {n: len(d) for n, d in loaded.items()} })")
    for name, split in loaded.items():
        missing = [c for c in PREFERENCE_COLUMNS if c not in split.column_names]
        if missing:
            raise InputError(
                f"{data['path']} split {name} is not a preference dataset: "
                f"missing {missing}, found {split.column_names}",
                hint="Train on the output of `curate build` (or any TRL prompt/chosen/rejected dataset).",
            )
    return {name: loaded[name] for name in ("train", "test") if name in loaded}


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
