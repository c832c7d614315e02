"""The error tree: every failure a user can see is a NovahuntError with an exit code.

    NovahuntError                 exit 1
    ├── BadInput                  exit 2   a flag, a domain, a file line
    ├── ConfigError               exit 3   missing key, bad config.toml
    ├── JobNotFound               exit 2   `jobs show ID` for an unknown ID
    ├── StorageError                       the state database failed a statement
    │   ├── DatabaseUnavailable   exit 4   NOVAHUNT_DATABASE_URL does not answer
    │   ├── DatabaseBusy                   locked or busy past the wait, a deadlock
    │   ├── IntegrityViolation             a unique, foreign key or NOT NULL refusal
    │   ├── StorageFull                    no room left on the disk or the server
    │   ├── ReadOnlyStorage                a read-only home: reading works, writing refuses
    │   └── StateFileLost                  state.db removed or replaced while in use
    ├── QueueUnavailable          exit 4   NOVAHUNT_QUEUE_URL does not answer
    └── ProviderError                      anything a provider answered or failed to answer
        ├── RetryableError                 worth asking again later
        │   ├── RateLimited                429/403 throttling; carries Retry-After
        │   ├── TransientError             5xx, timeouts, connection errors, broken JSON
        │   └── NotReady                   202/222: no final answer yet, ask again later
        └── PermanentError                 asking again gives the same answer
            ├── AuthError          exit 3  401: the key is missing or refused
            ├── QuotaExhausted             402, billing-period 429, restricted account
            ├── PaginationLimit            400 pagination_error: the plan stops here
            └── ItemRefused                one address or person refused, not the request:
                ├── DataClaimed            451: the person asked not to be processed
                └── UnreadableAnswer       a paid 200 that cannot be read: skipped, never
                                           bought again

The CLI turns any NovahuntError into one line on stderr and its exit code, in one place.
Storage errors are raised by the two backends (state/sqlite.py, state/postgres.py) from
the driver's own, so no other module knows which driver it talks to.
Provider errors never carry the API key: the client scrubs it before raising.
"""

from __future__ import annotations


class NovahuntError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(NovahuntError):
    exit_code = 2


class ConfigError(NovahuntError):
    exit_code = 3


class JobNotFound(NovahuntError):
    exit_code = 2


class StorageError(NovahuntError):
    """The state database failed a statement: the driver's first line, the driver's
    exception as `__cause__`. Exit 1, as before the driver errors were mapped."""


class DatabaseUnavailable(StorageError):
    """The shared state database cannot be reached (its URL is shown redacted)."""

    exit_code = 4


class DatabaseBusy(StorageError):
    """Another writer held the database past the busy timeout, or a deadlock or
    serialization failure ended the transaction: the same work may succeed later."""


class IntegrityViolation(StorageError):
    """A constraint refused the write: a unique key, a foreign key, NOT NULL, CHECK."""


class StorageFull(StorageError):
    """The disk (SQLite) or the server (PostgreSQL) has no room for the write."""


class ReadOnlyStorage(StorageError):
    """state.db (or the home folder) cannot be written: a read-only file system or no
    write permission. It is opened read-only, so reading commands work; the first write
    a command tries is refused with this one line."""


class StateFileLost(StorageError):
    """state.db was removed or replaced while a process had it open: what that process
    writes goes to a file nobody else can see, and opening the path would mix the old
    file's journal (state.db-wal) into the new one."""


class QueueUnavailable(NovahuntError):
    """The shared queue (Redis) cannot be reached (its URL is shown redacted). A job
    created before is not lost: it waits in the database until a worker re-sends it."""

    exit_code = 4


class ProviderError(NovahuntError):
    """A provider call failed; `status` is the HTTP status (0 when none arrived)."""

    def __init__(self, message: str, *, status: int = 0, error_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id


class RetryableError(ProviderError):
    retry_after: float | None = None


class RateLimited(RetryableError):
    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        error_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, error_id=error_id)
        self.retry_after = retry_after


class TransientError(RetryableError):
    pass


class NotReady(RetryableError):
    """The provider has no final answer yet (verification in progress, or the remote
    mail server failed): ask again later, and never cache this as a result."""


class PermanentError(ProviderError):
    pass


class AuthError(PermanentError):
    exit_code = 3


class QuotaExhausted(PermanentError):
    pass


class PaginationLimit(PermanentError):
    pass


class ItemRefused(PermanentError):
    """Hunter refused one item of a list (400 `invalid_email`, `invalid_domain`,
    `invalid_first_name`, ...; 451): record it on that item, go on with the rest."""


class DataClaimed(ItemRefused):
    pass


class UnreadableAnswer(ItemRefused):
    """A paid endpoint answered 200, so Hunter may have billed it, but the body cannot
    be read (not JSON, too large, no `data` object). Asking again could bill again and
    answer the same: the item (a page, an address, a person) is skipped with this note."""
