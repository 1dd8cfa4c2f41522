"""Files a storage creates are private to their owner unless told otherwise.

A queue file holds messages a consumer will run: anyone who can write it runs
code in the consumer, and anyone who can read it sees every argument and
result. SQLite databases (and the ``-wal``/``-shm`` files SQLite gives the
database's own permissions) are therefore created ``0600`` by default, and
FileStorage's directory ``0700`` (the mode plus search where it may read).
"""

from __future__ import annotations

import os

__all__ = ['DEFAULT_FILE_MODE', 'check_file_mode', 'create_directory', 'create_file']

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


def create_directory(path: str, mode: int | None) -> None:
    """Create directory ``path`` (and missing parents, by the umask) if it does
    not exist: with file permissions ``mode`` plus search where it gives read
    (0o600 -> 0o700); an existing directory is unchanged, None leaves it to the umask."""
    if mode is None:
        os.makedirs(path, exist_ok=True)
        return
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    directory_mode = mode | ((mode & 0o444) >> 2)
    try:
        os.mkdir(path, directory_mode)
    except FileExistsError:
        return
    os.chmod(path, directory_mode)
