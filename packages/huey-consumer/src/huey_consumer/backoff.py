"""Growing delays: idle polling of non-blocking storages and storage-error retries."""

from __future__ import annotations

__all__ = ['Backoff']


class Backoff:
    """A delay that starts at ``initial``, is multiplied by ``factor`` after each
    use and never exceeds ``maximum``; ``reset()`` goes back to ``initial``.

    >>> b = Backoff(0.1, 2, 0.5)
    >>> [b.next() for _ in range(5)]
    [0.1, 0.2, 0.4, 0.5, 0.5]
    """

    def __init__(self, initial: float, factor: float, maximum: float) -> None:
        if not initial > 0:
            raise ValueError(f'backoff initial delay={initial!r}: must be greater than 0')
        if not factor >= 1:
            raise ValueError(f'backoff factor={factor!r}: must be 1 or more')
        if not maximum >= initial:
            raise ValueError(
                f'backoff maximum delay={maximum!r}: must be at least the initial delay {initial!r}'
            )
        self.initial = float(initial)
        self.factor = float(factor)
        self.maximum = float(maximum)
        self._delay = self.initial
        self.attempts = 0

    def next(self) -> float:
        """Return the delay to wait now and grow the following one."""
        delay = self._delay
        self._delay = min(delay * self.factor, self.maximum)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (work arrived, storage recovered)."""
        self._delay = self.initial
        self.attempts = 0
