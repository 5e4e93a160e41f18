"""The project's exceptions. Each class carries the exit code the CLI returns for it.

Exit codes (documented in the README):

====  =====================================================================
0     success (the task is done)
1     the task failed or hit the turn limit; a tool run by ``tools run`` failed
2     usage error: bad arguments, bad input file, invalid name
3     configuration error: unknown key, bad value, missing credentials, no backend
4     backend error: authentication, unknown model, context too long, rate limit,
      quota, timeout, server error
5     plugin error: unknown plugin name, two plugins claim one name
6     not found: no such session, tool, agent or run
7     conflict: the session is open in another run, the id already exists
8     storage error: a file could not be read or written
9     sandbox error: the sandbox cannot be enforced on this machine
130   interrupted (Ctrl-C); the session is saved as ``interrupted``
====  =====================================================================
"""

from __future__ import annotations


class AutoagentError(Exception):
    """Base of every expected error: one clear line for the user, and an exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class TaskFailedError(AutoagentError):
    """The task failed, hit the turn limit, or a tool run from the CLI failed."""

    exit_code = 1


class UsageError(AutoagentError):
    """Bad arguments or bad input from the user."""

    exit_code = 2


class InvalidNameError(UsageError):
    """A name that would become a path was refused (RELIABILITY item 14)."""


class ConfigError(AutoagentError):
    """Unknown setting, bad value, or an unusable configuration."""

    exit_code = 3


class MissingCredentialsError(ConfigError):
    """A backend lacks the credentials it needs; the message names the variables."""


class BackendError(AutoagentError):
    """A model backend failed. Subclasses say how."""

    exit_code = 4
    retryable = False


class AuthenticationError(BackendError):
    """Bad, expired or insufficient credentials."""


class UnknownModelError(BackendError):
    """The backend does not know the model."""


class BadRequestError(BackendError):
    """The backend refused the request as malformed."""


class ContextTooLongError(BackendError):
    """The request is larger than the model's context window."""


class RateLimitedError(BackendError):
    """Too many requests; retried with backoff unless the wait is too long."""

    retryable = True


class QuotaExceededError(BackendError):
    """The daily allocation is used up: no retry."""


class BackendTimeoutError(BackendError):
    """The backend did not answer within the configured timeouts."""

    retryable = True


class BackendConnectionError(BackendError):
    """The backend could not be reached."""

    retryable = True


class ServerError(BackendError):
    """The backend answered with a server error."""

    retryable = True


class FormatRefusedError(BackendError):
    """The service could not produce the requested protocol (Workers AI: "JSON Mode
    couldn't be met"; a server that does not take ``tools`` or ``response_format``): the
    loop asks again with the next protocol, as a format retry. ``permanent`` marks a
    refusal that asking again the same way cannot change (the feature is not supported),
    as opposed to one reply that could not meet it."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ProtocolRefusedError(BackendError):
    """The service refused the protocol the ``protocol`` setting forces; with ``auto``
    the loop would have fallen back to the next one."""


class EmptyReplyError(BackendError):
    """The model produced no visible answer (a reasoning model used up max_tokens)."""


class ScriptError(BackendError):
    """The scripted backend's file is wrong, exhausted, or names the wrong agent."""


class PluginError(AutoagentError):
    """A layer name that no plugin provides, or that two plugins claim."""

    exit_code = 5


class NotFoundError(AutoagentError):
    """No such session, tool, agent or run."""

    exit_code = 6


class ConflictError(AutoagentError):
    """The thing is in use or already exists."""

    exit_code = 7


class StorageError(AutoagentError):
    """A file could not be read or written, or is corrupt."""

    exit_code = 8


class SandboxError(AutoagentError):
    """The sandbox cannot be enforced on this machine (strict mode fails closed)."""

    exit_code = 9


class InterruptedRunError(AutoagentError):
    """The run was interrupted with Ctrl-C; the session was saved as interrupted."""

    exit_code = 130
