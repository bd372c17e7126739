"""Typed errors. The library raises these; only the CLI turns them into `Error:` / `Hint:` lines."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (capped), for `Error:` lines built from library errors."""
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


class CurateError(Exception):
    """An error the user can fix: `message` says what is wrong, `hint` what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(CurateError):
    """The recipe or a flag is invalid."""

    exit_code = 2


class InputError(CurateError):
    """The source data cannot be read or does not have the expected columns and types."""

    exit_code = 3


class HubError(CurateError):
    """The Hub could not be reached, or the repo or revision does not exist."""

    exit_code = 4


class OutputError(CurateError):
    """The output folder cannot be written."""

    exit_code = 5


class ConservationError(CurateError):
    """Rows went missing between input and output: a bug, never a user error."""

    exit_code = 70


class AuthError(CurateError):
    """No token, or the Hub refused it."""

    exit_code = 6


class DependencyError(CurateError):
    """An optional package the command needs is not installed."""

    exit_code = 7


class DeviceError(CurateError):
    """The hardware the run asks for is not there."""

    exit_code = 8


class NoPairsError(CurateError):
    """The build kept no pair at all: the folder holds only dropped rows, and nothing can train on it."""

    exit_code = 9
