"""Download a pinned revision of a Hub dataset. The only place `curate build` talks to the Hub."""

from __future__ import annotations

from pathlib import Path

from curate.errors import HubError

DATA_PATTERNS = ["README.md", "*.parquet", "**/*.parquet", "*.jsonl", "**/*.jsonl", "*.json", "**/*.json"]
WAY_OUT = (
    "Build from a local copy with --source PATH, or, if this revision is in your Hub cache, "
    "set HF_HUB_OFFLINE=1 to read it from there."
)


def download_dataset(repo_id: str, revision: str) -> tuple[Path, str]:
    """The local snapshot folder of `repo_id` at `revision`, and the commit sha it resolved to."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return _from_cache(repo_id, revision)
    sha = _resolve_sha(repo_id, revision)
    folder = _snapshot(repo_id, sha)
    return Path(folder), sha


def _resolve_sha(repo_id: str, revision: str) -> str:
    from huggingface_hub import HfApi

    with _hub_errors(repo_id, revision):
        return HfApi().dataset_info(repo_id, revision=revision, timeout=15).sha


def _snapshot(repo_id: str, sha: str) -> str:
    from huggingface_hub import snapshot_download

    with _hub_errors(repo_id, sha):
        return snapshot_download(repo_id, repo_type="dataset", revision=sha, allow_patterns=DATA_PATTERNS)


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
    return Path(folder), Path(folder).name  # snapshot folders are named by commit sha


class _hub_errors:
    """Turn huggingface_hub and network exceptions into HubError with a way out."""

    def __init__(self, repo_id: str, revision: str):
        self.where = f"{repo_id}@{revision}"

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            return False
        from huggingface_hub import errors

        if isinstance(error, errors.GatedRepoError):
            raise HubError(f"{self.where} is gated", hint="Accept its terms on the Hub, then `hf auth login`.")
        if isinstance(error, errors.RepositoryNotFoundError):
            raise HubError(
                f"dataset {self.where.split('@')[0]} not found on the Hub (or it is private)",
                hint="Check the id; for a private dataset log in with `hf auth login` or set HF_TOKEN.",
            )
        if isinstance(error, errors.RevisionNotFoundError):
            raise HubError(f"revision not found: {self.where}", hint="Use a branch, tag or commit sha.")
        if _is_network_error(error):
            raise HubError(f"cannot reach the Hub for {self.where} ({_short(error)})", hint=WAY_OUT)
        return False


def _is_network_error(error: BaseException) -> bool:
    from huggingface_hub import errors

    if isinstance(error, (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError, ConnectionError)):
        return True
    if isinstance(error, errors.HfHubHTTPError):
        return getattr(error.response, "status_code", 0) >= 500
    # httpx (or its fork) transport errors: connection refused, DNS failure, timeouts.
    return any(base.__name__ in {"TransportError", "TimeoutException"} for base in type(error).__mro__)


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
