"""Files a storage creates are private to their owner unless told otherwise.

A queue file holds messages a consumer will run: anyone who can write it runs
code in the consumer, and anyone who can read it sees every argument and
result. SQLite databases (and the ``-wal``/``-shm`` files SQLite gives the
database's own permissions) are therefore created ``0600`` by default.
"""

from __future__ import annotations

import os

__all__ = ['DEFAULT_FILE_MODE', 'check_file_mode', 'create_file']

#: owner read/write only
DEFAULT_FILE_MODE = 0o600


def check_file_mode(mode: object, owner: str) -> int | None:
    """``mode`` checked: None (leave it to the umask) or permission bits such as 0o640."""
    if mode is None:
        return None
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise ValueError(
            f'{owner}(mode={mode!r}): give permission bits such as 0o600 or 0o640, '
            'or None to leave them to the umask'
        )
    return mode


def create_file(path: str, mode: int | None) -> None:
    """Create the empty file ``path`` with permissions ``mode`` if it does not
    exist (an existing file keeps its permissions); None does nothing."""
    if mode is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits that were asked for
    finally:
        os.close(fd)
