"""Download a pinned revision of a Hub dataset. The only place `curate build` talks to the Hub."""

from __future__ import annotations

from pathlib import Path

from curate.errors import ConfigError, HubError, first_line
from curate.hub_errors import PROBE_TIMEOUT, hub_errors

DATA_PATTERNS = ["README.md", "*.parquet", "**/*.parquet", "*.jsonl", "**/*.jsonl", "*.json", "**/*.json"]
WAY_OUT = (
    "Build from a local copy with --source PATH, or, if this revision is in your Hub cache, "
    "set HF_HUB_OFFLINE=1 to read it from there."
)


def download_dataset(repo_id: str, revision: str) -> tuple[Path, str]:
    """The local snapshot folder of `repo_id` at `revision`, and the commit sha it resolved to."""
    from huggingface_hub import constants

    _require_valid_id(repo_id)
    if constants.HF_HUB_OFFLINE:
        return _from_cache(repo_id, revision)
    _check_reachable(repo_id, revision)
    folder = Path(_snapshot(repo_id, revision))
    return folder, folder.name  # snapshot folders are named by commit sha


def _require_valid_id(repo_id: str) -> None:
    """A malformed id is the recipe's fault, not the Hub's: say so before any request (or cache lookup)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ConfigError(
            f"dataset {repo_id!r} is not a valid Hub dataset id ({first_line(err)})",
            hint="Pass --dataset (or source.dataset) as `owner/name`, e.g. argilla/distilabel-math-preference-dpo.",
        ) from None


def _check_reachable(repo_id: str, revision: str) -> None:
    """Ask the Hub first: snapshot_download would quietly fall back to a cached copy when it is unreachable."""
    from huggingface_hub import HfApi

    with hub_errors(f"dataset {repo_id}", unreachable_hint=WAY_OUT, revision=revision):
        HfApi().dataset_info(repo_id, revision=revision, timeout=PROBE_TIMEOUT)


def _snapshot(repo_id: str, revision: str) -> str:
    """Download by the name given (not the sha), so the cache learns the ref and offline rebuilds find it."""
    from huggingface_hub import snapshot_download

    with hub_errors(f"dataset {repo_id}", unreachable_hint=WAY_OUT, revision=revision):
        return snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns=DATA_PATTERNS)


def _from_cache(repo_id: str, revision: str) -> tuple[Path, str]:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(repo_id, repo_type="dataset", revision=revision, local_files_only=True)
    except LocalEntryNotFoundError:
        raise HubError(
            f"HF_HUB_OFFLINE is set and {repo_id}@{revision} is not in the Hub cache",
            hint="Unset HF_HUB_OFFLINE on a machine that reaches the Hub, or build from --source PATH.",
        ) from None
    return Path(folder), Path(folder).name
