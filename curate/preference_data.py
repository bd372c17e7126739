"""A preference dataset to train on or audit: a build folder (checked against its report) or a Hub dataset
pinned to a commit, loaded with `datasets` as TRL will read it. `curate check` and the training preflight share it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from curate.errors import CurateError, HubError, InputError, first_line
from curate.hub_errors import PROBE_TIMEOUT, hub_errors, hub_offline
from curate.output import verify_build

PREFERENCE_COLUMNS = ("prompt", "chosen", "rejected")


def locate_data(data: str, revision: str | None = None, token: str | None = None) -> dict[str, Any]:
    """A local build folder (checked against its report, whose hash the model card records) or a Hub dataset
    pinned to a commit sha."""
    folder = Path(data)
    if folder.is_dir():
        report = folder / "report.json"
        if report.is_file():
            verify_build(folder)  # the files must still be the ones the report describes
        digest = hashlib.sha256(report.read_bytes()).hexdigest() if report.is_file() else None
        return {"kind": "local", "path": str(folder.resolve()), "report_sha256": digest}
    if folder.exists() or data.count("/") != 1:
        raise InputError(f"{data} is neither a build folder nor a Hub dataset id (user/name)")
    sha = _resolve_dataset_sha(data, revision, token)
    return {"kind": "hub", "path": data, "revision": sha}


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
