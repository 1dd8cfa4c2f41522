"""Exceptions raised by huey and exceptions tasks raise to steer their execution."""

from __future__ import annotations

__all__ = [
    'RETRYING_EXCEPTIONS',
    'CancelExecution',
    'ConfigurationError',
    'HueyException',
    'RateLimitExceeded',
    'ResultTimeout',
    'RetryTask',
    'SerializationError',
    'SignatureError',
    'TaskException',
    'TaskLockedException',
    'TaskTimeout',
    'UnknownTaskError',
]


class HueyException(Exception):
    """Base class of every huey exception."""


class ConfigurationError(HueyException):
    """A Huey instance or a task was configured with invalid options."""


class TaskLockedException(HueyException):
    """``lock_task`` could not acquire its lock: the task did not run.

    Not an error: the task is retried if it has retries left and
    ``SIGNAL_LOCKED`` is sent instead of ``SIGNAL_ERROR``.
    """


class RateLimitExceeded(TaskLockedException):
    """``rate_limit`` refused the call: too many within the current window.

    ``key`` names the limit, ``delay`` is the number of seconds until its
    window resets, ``retry`` says whether the task is retried after ``delay``
    even when it has no retries left.
    """

    def __init__(self, key: str, delay: float = 0.0, retry: bool = True) -> None:
        self.key, self.delay, self.retry = key, delay, retry
        super().__init__(key, delay, retry)

    def __str__(self) -> str:
        if self.retry:
            return f'Rate limit exceeded on "{self.key}", retry in {self.delay:0.1f}s'
        return f'Rate limit exceeded on "{self.key}"'


class ResultTimeout(HueyException):
    """A blocking ``Result.get()`` gave up before the task stored a result."""


class TaskTimeout(HueyException):
    """A task ran longer than it was allowed to (reserved for consumers)."""


class CancelExecution(Exception):
    """Raise from a ``pre_execute`` hook or a task to cancel the execution.

    ``retry=None`` retries if the task has retries left (consuming one),
    ``retry=True`` always retries, ``retry=False`` never does.
    """

    def __init__(self, msg: str | None = None, retry: bool | None = None) -> None:
        self.retry = retry
        super().__init__(*(() if msg is None else (msg,)))


class RetryTask(Exception):
    """Raise inside a task to run it again without consuming its retries.

    ``delay`` (seconds) or ``eta`` (datetime) set when; without either the
    task's ``retry_delay`` is used.
    """

    def __init__(self, msg: str | None = None, eta=None, delay: float | None = None) -> None:
        self.eta = eta
        self.delay = delay
        super().__init__(msg or 'retry requested')


class TaskException(HueyException):
    """Raised by ``Result.get()`` when the task failed.

    ``metadata`` holds ``error`` (repr of the original exception), ``type``,
    ``message``, ``traceback`` (formatted), ``task_id`` and ``retries`` left.
    """

    def __init__(self, metadata: dict | None = None, *args) -> None:
        self.metadata = metadata or {}
        super().__init__(*args)

    def __str__(self) -> str:
        return self.metadata.get('error') or 'task failed'


class SerializationError(HueyException):
    """A message or value could not be (de)serialized (corrupt data)."""


class SignatureError(SerializationError):
    """A signed serializer got an unsigned or tampered message."""


class UnknownTaskError(HueyException):
    """A message names a task this process has not registered."""


#: Exceptions that are not failures while the task will run again: no error
#: is stored and no error handler runs until the last attempt.
RETRYING_EXCEPTIONS = (RetryTask, TaskLockedException)
