"""The Hub token a command that writes or runs on the Hub uses (`curate push`, `curate train` on HF Jobs)."""

from __future__ import annotations

from curate.errors import AuthError


def resolve_token(token: str | None) -> str:
    """`token` when given, else the one `hf auth login` or HF_TOKEN left; AuthError when there is none."""
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise AuthError(
            "not logged in to the Hub: no token found",
            hint="Run `hf auth login`, set HF_TOKEN, or pass --token.",
        )
    return token
