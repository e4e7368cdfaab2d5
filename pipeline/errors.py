"""One root exception with a branch per stage.

Each error keeps its key fact (feed URL, file and line) as an attribute and in
its message, so the CLI can print one line a person can act on.

Must not touch: any stage's logic: it only defines the error types each stage raises.
"""

from __future__ import annotations

from dataclasses import dataclass


class EscalationWatchError(Exception):
    """Root of every error the pipeline raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        if not self.path:
            return f"{self.field}: {self.message}" if self.field else self.message
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(EscalationWatchError):
    """feeds.yaml (or another config file) is invalid; lists every problem, sorted by line."""

    def __init__(self, problems: list[ConfigProblem] | str, path: str | None = None):
        if isinstance(problems, str):
            problems = [ConfigProblem(path or "", None, None, "", problems)]
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
        self.path = path
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(EscalationWatchError):
    """A command-line argument is wrong (exit code 2)."""


class FetchError(EscalationWatchError):
    """Fetching a feed failed. ``status`` is the HTTP status if there was one."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        gone: bool = False,
    ):
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s
        #: 410 Gone: the feed should be disabled
        self.gone = gone
        super().__init__(f"fetch failed: {url}: {reason}")


class DestinationDenied(FetchError):
    """The URL (or a redirect hop) points somewhere the policy forbids."""


class BodyTooLarge(FetchError):
    """The (decoded) body passed the configured cap."""


class ParseError(EscalationWatchError):
    """The body is not a feed (HTML page, JSON, binary, empty)."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"parse failed: {url}: {reason}")


class StoreError(EscalationWatchError):
    """The database cannot be opened, migrated or written."""
