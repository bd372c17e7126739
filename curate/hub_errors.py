"""One mapping from huggingface_hub and network exceptions to curate's typed errors, for every Hub call."""

from __future__ import annotations

from curate.errors import AuthError, CurateError, HubError, first_line

# Seconds a probe (one `*_info` call before a heavy loader) waits: the loaders retry for 20-50 s instead.
PROBE_TIMEOUT = 10
OFFLINE_HINT = "Set HF_HUB_OFFLINE=1 to use what is already in your Hub cache."
# Said instead of any hint that suggests HF_HUB_OFFLINE=1 when it is already set.
ONLINE_HINT = "HF_HUB_OFFLINE is set: unset it on a machine that reaches the Hub."
NETWORK_ERRORS = {
    "TransportError", "TimeoutException", "ConnectionError", "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",  # the Hub could not be asked (or offline mode) and the file is not in the cache
}  # fmt: skip


def is_network_error(error: BaseException) -> bool:
    """Connection refused, DNS failure, time-outs (httpx or its fork, urllib3, `datasets`' ConnectionError),
    offline mode, and a file neither the Hub nor the cache could give. The one rule for every Hub call."""
    names = {base.__name__ for base in type(error).__mro__}
    return bool(names & NETWORK_ERRORS)


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def status_of(error: BaseException) -> int:
    return getattr(getattr(error, "response", None), "status_code", 0) or 0


class hub_errors:
    """`with hub_errors("dataset alice/x", unreachable_hint=...):` turns a failed Hub call into one clear error.

    `token` is scrubbed from every message, whatever the server echoed. `offline_hint` replaces
    `unreachable_hint` when HF_HUB_OFFLINE is set.
    """

    def __init__(
        self, what: str, unreachable_hint: str = OFFLINE_HINT, token: str | None = None, failed: str = "",
        writing: bool = False, revision: str | None = None, offline_hint: str = ONLINE_HINT,
    ):  # fmt: skip
        self.what, self.token, self.failed = what, token, failed
        # Hints for an unreachable Hub may suggest HF_HUB_OFFLINE=1; with it set, the way out is another.
        self.unreachable_hint = offline_hint if hub_offline() else unreachable_hint
        self.revision = revision
        self.writing = writing  # when writing, "not found" means the token may not see the repo

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, CurateError):
            return False
        mapped = self.map(error)
        if mapped is None:
            return False
        raise mapped from None

    def map(self, error: BaseException) -> CurateError | None:
        from huggingface_hub import errors

        status = status_of(error)
        if isinstance(error, errors.GatedRepoError):
            return HubError(f"{self.what} is gated", hint="Accept its terms on the Hub, then `hf auth login`.")
        if status == 401:
            return AuthError(f"the Hub rejected the token (401) for {self.what}", hint=_LOGIN)
        if status == 403 or (self.writing and isinstance(error, errors.RepositoryNotFoundError)):
            return AuthError(f"no write access to {self.what} with this token ({status or 'not found'})", hint=_LOGIN)
        if isinstance(error, errors.RepositoryNotFoundError):
            return HubError(f"{self.what} not found on the Hub (or it is private)", hint=_LOGIN_PRIVATE)
        if isinstance(error, errors.RevisionNotFoundError):
            at = f"@{self.revision}" if self.revision else ""
            return HubError(f"revision not found: {self.what}{at}", hint="Use a branch, tag or full commit sha.")
        if is_network_error(error):
            message = f"{self.failed}cannot reach the Hub for {self.what} ({self._scrub(error)})"
            return HubError(message, hint=self.unreachable_hint)
        if isinstance(error, errors.HfHubHTTPError) and status:
            message = f"{self.failed}the Hub answered {status} for {self.what}: {self._scrub(error)}"
            return HubError(message, hint=self.unreachable_hint if status >= 500 else None)
        return None

    def _scrub(self, error: BaseException) -> str:
        text = first_line(error)
        return text.replace(self.token, "***") if self.token else text


_LOGIN = "Run `hf auth login`, set HF_TOKEN, or pass --token."
_LOGIN_PRIVATE = "Check the id; for a private repo log in with `hf auth login` or set HF_TOKEN."
