"""`curate push` as a library call: publish a build folder as a Hub dataset repo in one commit. The only
module that writes to the Hub."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import ConfigError, NoPairsError
from curate.hub_auth import resolve_token
from curate.hub_errors import hub_errors, is_network_error, status_of
from curate.output import REPORT, verify_build
from curate.report import HubSource, Report

PUBLISHED_DIRS = ("data/", "dropped/")  # everything under these is ours; stale files there are deleted
ATTEMPTS = 3


@dataclass(frozen=True)
class PlannedFile:
    path: str
    size: int
    sha256: str
    git_sha1: str


@dataclass
class PushPlan:
    repo_id: str
    branch: str
    files: list[PlannedFile]
    card: str
    report: Report
    # The folder's README.md was changed outside its user section: the pushed card, rendered from report.json,
    # does not have those changes (the CLI warns).
    card_edits_lost: bool = False


@dataclass
class PushResult:
    repo_id: str
    commit_url: str
    changed: bool
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    card_edits_lost: bool = False  # as PushPlan's


def load_publishable(folder: Path) -> Report:
    """The report of a build folder that can be published: unchanged since the build, and holding pairs
    (a build that kept none has no split `load_dataset` could load)."""
    report = verify_build(folder)
    if report.rows_kept == 0:
        raise NoPairsError(
            f"{folder} holds no pair to publish: its build kept 0 of {report.rows_in} source rows "
            f"({report.rows_dropped} are in dropped/, each with the reason it was dropped)",
            hint="See `dropped` in its report.json, change the recipe or the source, and build again.",
        )
    return report


def normalize_repo_id(repo: str) -> str:
    """`user/name`, `datasets/user/name` or a Hub dataset URL; models and Spaces are refused."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    text = repo.strip().rstrip("/")
    for prefix in ("https://huggingface.co/", "http://huggingface.co/", "hf://"):
        text = text.removeprefix(prefix)
    kind, _, rest = text.partition("/")
    if kind in ("models", "spaces") and rest:
        raise ConfigError(f"{repo} is a {kind[:-1]} repo; curate push publishes dataset repos")
    if kind == "datasets" and rest:
        text = rest
    try:
        validate_repo_id(text)
    except HFValidationError as err:
        raise ConfigError(f"{repo!r} is not a valid repo id: {err}", hint="Use `user/name`.") from None
    return text


def plan_push(folder: Path, repo_id: str, branch: str = "main") -> PushPlan:
    """What a push would upload; reads only local files."""
    from curate.card import render_card, user_section

    report = load_publishable(folder)
    repo_id = normalize_repo_id(repo_id)
    local_card = _read_card(folder / "README.md")
    notes = user_section(local_card) if local_card is not None else None
    card = render_card(report, folder, repo_id=repo_id, notes=notes)
    names = [*report.files, REPORT]  # the card is not among them: it is rendered here
    files = [_planned(n, (folder / n).read_bytes()) for n in names]
    files.append(_planned("README.md", card.encode("utf-8")))
    edits_lost = local_card is not None and local_card != render_card(report, folder, notes=notes)
    return PushPlan(repo_id, branch, sorted(files, key=lambda f: f.path), card, report, edits_lost)


def _read_card(path: Path) -> str | None:
    """The folder's README.md as the user left it; None when it is gone (or not text: nothing to keep)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _planned(path: str, data: bytes) -> PlannedFile:
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's object id, what the Hub lists
    return PlannedFile(path, len(data), hashlib.sha256(data).hexdigest(), blob)


def push(
    folder: Path, repo_id: str, *, token: str | None = None, private: bool = False, branch: str = "main",
    message: str | None = None,
) -> PushResult:  # fmt: skip
    """Create the repo if needed and commit the build in one commit; no commit when nothing changed."""
    repo_id = normalize_repo_id(repo_id)
    load_publishable(folder)  # a bad folder fails before anything is sent
    token = resolve_token(token)
    with hub_errors(f"datasets/{repo_id}", token=token, failed=FAILED, writing=True, unreachable_hint=RETRY):
        api = _api(token)
        if "/" not in repo_id:  # the card must name the repo as it will be: namespace/name
            repo_id = f"{api.whoami()['name']}/{repo_id}"
        plan = plan_push(folder, repo_id, branch)
        _ensure_repo(api, plan, private)
        result = _commit_with_retries(api, plan, folder, message)
    result.card_edits_lost = plan.card_edits_lost
    return result


FAILED = "push failed, nothing was published: "
RETRY = "Check HF_ENDPOINT and your connection, then push again (it is safe to repeat)."


def _ensure_repo(api, plan: PushPlan, private: bool) -> None:
    plan.repo_id = api.create_repo(plan.repo_id, repo_type="dataset", private=private, exist_ok=True).repo_id
    if private and not api.repo_info(plan.repo_id, repo_type="dataset").private:
        raise ConfigError(
            f"--private, but datasets/{plan.repo_id} already exists and is public; refusing to publish into it",
            hint="Make the repo private on the Hub first, or push without --private.",
        )
    if plan.branch != "main":
        api.create_branch(plan.repo_id, repo_type="dataset", branch=plan.branch, exist_ok=True)


def _api(token: str):
    from huggingface_hub import HfApi

    return HfApi(token=token)


def _commit_with_retries(api, plan: PushPlan, folder: Path, message: str | None) -> PushResult:
    """Commit what differs from the branch. A transient failure is retried after re-reading the branch,
    so a commit that landed before its answer was lost is not made twice."""
    sent = False  # a commit request went out whose outcome is unknown
    for attempt in range(1, ATTEMPTS + 1):
        try:
            head, remote = _remote_state(api, plan)
            uploads = [f for f in plan.files if not _same(f, remote.get(f.path))]
            stale = sorted(p for p in remote if p.startswith(PUBLISHED_DIRS) and p not in {f.path for f in plan.files})
            if not uploads and not stale:
                return PushResult(plan.repo_id, _commit_url(api, plan.repo_id, head), changed=sent)
            sent = True
            info = _commit(api, plan, folder, uploads, stale, head, message)
        except Exception as error:
            if attempt == ATTEMPTS or not _is_transient(error):
                raise
            time.sleep(attempt)
            continue
        return PushResult(plan.repo_id, info.commit_url, True, [f.path for f in uploads], stale)
    raise AssertionError("unreachable")


def _remote_state(api, plan: PushPlan) -> tuple[str | None, dict[str, Any]]:
    from huggingface_hub.errors import RevisionNotFoundError

    try:
        head = api.repo_info(plan.repo_id, repo_type="dataset", revision=plan.branch).sha
    except RevisionNotFoundError:
        return None, {}
    entries = api.list_repo_tree(plan.repo_id, repo_type="dataset", revision=head, recursive=True)
    return head, {e.path: e for e in entries if hasattr(e, "blob_id")}


def _same(planned: PlannedFile, remote: Any) -> bool:
    if remote is None:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == planned.sha256
    return remote.blob_id == planned.git_sha1


def _commit(api, plan: PushPlan, folder: Path, uploads: list[PlannedFile], stale: list[str], head, message):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    card = plan.card.encode("utf-8")
    operations = [
        CommitOperationAdd(f.path, card if f.path == "README.md" else str(folder / f.path)) for f in uploads
    ] + [CommitOperationDelete(path) for path in stale]
    return api.create_commit(
        plan.repo_id,
        operations,
        commit_message=message or _default_message(plan.report),
        repo_type="dataset",
        revision=plan.branch,
        parent_commit=head,
    )


def _default_message(report: Report) -> str:
    source = report.source
    origin = f"{source.dataset}@{source.sha[:12]}" if isinstance(source, HubSource) else Path(source.path).name
    splits = ", ".join(f"{n} {s}" for s, n in report.splits.items())
    return f"curate build of {origin}: {splits}"


def _commit_url(api, repo_id: str, sha: str | None) -> str:
    return f"{api.endpoint}/datasets/{repo_id}/commit/{sha}"


def _is_transient(error: BaseException) -> bool:
    return is_network_error(error) or status_of(error) >= 500
