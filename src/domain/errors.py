"""Domain errors. Each names what is wrong so callers can show it as is."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidRecordError(DomainError):
    """A record (or one of its fields) breaks a rule of the record format."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class CaseNotFoundError(DomainError):
    """No case with that id or name."""


class ExecutionNotFoundError(DomainError):
    """No execution with that id."""


class ExecutionStateError(DomainError):
    """A change the execution's current state does not allow (e.g. finishing a final record)."""


class CanonicalRuleError(DomainError):
    """A canonical choice that the rules forbid (e.g. a failed execution)."""


class RecordConflictError(DomainError):
    """The same execution was recorded before with different content."""

    def __init__(self, execution_id: str, fields: list[str]) -> None:
        self.execution_id = execution_id
        self.fields = fields
        super().__init__(
            f"execution {execution_id!r} was recorded before with different content "
            f"in: {', '.join(fields)}"
        )
