"""MySQL and MariaDB: transactions around ``SELECT ... FOR UPDATE [SKIP LOCKED]``.

``SKIP LOCKED`` (MariaDB >= 10.6, MySQL >= 8.0.1) lets concurrent consumers
pass over the rows another one is taking. Older servers use plain
``FOR UPDATE``: a consumer waits for the other's short transaction to end and
then reads past the row it took, so it is just as safe, only serialized.
There is no LISTEN/NOTIFY equivalent: readers never block (``blocking`` is
False) and the consumer polls.

Names and keys are stored as ``VARBINARY`` (UTF-8): exact comparisons,
unlike MySQL's case- and trailing-space-insensitive (PAD SPACE) text
collations, so names that differ only by trailing spaces are two queues.
Too long a name or key is refused at the call, and every connection runs in
a strict ``sql_mode``.
"""

from __future__ import annotations

import re
import time

import peewee

from huey_storage_sql.backend import Backend

__all__ = ['MySQLBackend', 'supports_skip_locked']

EXPIRED = 'expires_at IS NOT NULL AND expires_at <= %s'
#: Longest key in bytes (UTF-8); the primary key (name, key) must fit InnoDB's 3072 bytes.
MAX_KEY_BYTES = 2048
#: Width of the name column in bytes (UTF-8), counters' suffix included.
NAME_BYTES = 764
#: Longest storage name in bytes: counters live under the name plus a 9-byte suffix.
MAX_NAME_BYTES = NAME_BYTES - 9
#: Added to the sql_mode of every connection the storage uses: a value that
#: does not fit its column fails the statement instead of being truncated.
STRICT_MODE = (
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')"
)


def supports_skip_locked(version: str) -> bool:
    """True if a server reporting ``SELECT VERSION()`` = ``version`` has SKIP LOCKED."""
    match = re.match(r'(\d+)\.(\d+)\.(\d+)', version)
    if match is None:
        return False
    numbers = tuple(int(part) for part in match.groups())
    if 'mariadb' in version.lower():
        return numbers >= (10, 6, 0)
    return numbers >= (8, 0, 1)


class MySQLBackend(Backend):
    """MySQL >= 5.7 and MariaDB >= 10.2 (InnoDB)."""

    quote = '`'
    lock_clause = ' FOR UPDATE'
    put_data_sql = (
        'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
        'VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE '
        'value = VALUES(value), is_result = VALUES(is_result), expires_at = VALUES(expires_at)'
    )
    insert_ignore_sql = (
        'INSERT IGNORE INTO {kv} (name, {key}, value, is_result, expires_at) '
        'VALUES (%s, %s, %s, %s, %s)'
    )

    def __init__(
        self,
        database: peewee.Database,
        name: str,
        table_prefix: str,
        skip_locked: bool | None = None,
    ) -> None:
        super().__init__(database, name, table_prefix)
        self.skip_locked = skip_locked

    def prepare(self) -> None:
        """Pick the locking clause, asking the server its version if needed."""
        if self.skip_locked is None:
            version = self.database.execute_sql('SELECT VERSION()').fetchone()[0]
            self.skip_locked = supports_skip_locked(version)
        self.lock_clause = ' FOR UPDATE SKIP LOCKED' if self.skip_locked else ' FOR UPDATE'
        self._statements.clear()

    @staticmethod
    def setup_connection(conn) -> None:
        with conn.cursor() as cursor:
            cursor.execute(STRICT_MODE)

    @staticmethod
    def check_name(name: str) -> None:
        size = len(name.encode('utf8'))
        if size > MAX_NAME_BYTES:
            raise ValueError(
                f'SqlStorage name={name[:40]!r}... is {size} bytes in UTF-8: MySQL/MariaDB '
                f'names hold at most {MAX_NAME_BYTES}; use a shorter name'
            )

    @staticmethod
    def check_key(key: str) -> None:
        size = len(key.encode('utf8'))
        if size > MAX_KEY_BYTES:
            raise ValueError(
                f'key {key[:40]!r}... is {size} bytes in UTF-8: MySQL/MariaDB keys hold at '
                f'most {MAX_KEY_BYTES}; use a shorter key (e.g. a hash of it)'
            )

    @classmethod
    def schema_statements(cls, table_prefix: str) -> list[str]:
        p = table_prefix
        name = f'name VARBINARY({NAME_BYTES}) NOT NULL'
        return [
            f'CREATE TABLE IF NOT EXISTS {p}queue ('
            ' id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,'
            f' {name},'
            ' priority INT NOT NULL DEFAULT 0,'
            ' order_key BIGINT NOT NULL DEFAULT 0,'
            ' data LONGBLOB NOT NULL,'
            ' receipt VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,'
            ' lease_deadline DOUBLE NULL,'
            ' deliveries INT NOT NULL DEFAULT 1,'
            f' KEY {p}queue_waiting (name, receipt, priority DESC, order_key, id),'
            f' UNIQUE KEY {p}queue_receipt (receipt),'
            f' KEY {p}queue_leased (name, lease_deadline)'
            ') ENGINE=InnoDB',
            f'CREATE TABLE IF NOT EXISTS {p}schedule ('
            ' id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,'
            f' {name},'
            ' ts DOUBLE NOT NULL,'
            ' priority INT NULL,'
            ' data LONGBLOB NOT NULL,'
            f' KEY {p}schedule_due (name, ts, id)'
            ') ENGINE=InnoDB',
            f'CREATE TABLE IF NOT EXISTS {p}kv ('
            f' {name},'
            f' `key` VARBINARY({MAX_KEY_BYTES}) NOT NULL,'
            ' value LONGBLOB NOT NULL,'
            ' is_result BOOL NOT NULL DEFAULT 0,'
            ' expires_at DOUBLE NULL,'
            ' PRIMARY KEY (name, `key`),'
            f' KEY {p}kv_expires (name, expires_at)'
            ') ENGINE=InnoDB',
            f'CREATE TABLE IF NOT EXISTS {p}dead_letter ('
            ' id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,'
            f' {name},'
            ' data LONGBLOB NOT NULL,'
            ' reason TEXT NOT NULL,'
            ' failed_at DOUBLE NOT NULL,'
            f' KEY {p}dead_letter_name (name, id)'
            ') ENGINE=InnoDB',
            f'CREATE TABLE IF NOT EXISTS {p}lease_owner ('
            f' {name},'
            ' owner VARCHAR(31) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,'
            ' deadline DOUBLE NOT NULL,'
            ' PRIMARY KEY (name, owner)'
            ') ENGINE=InnoDB',
        ]

    def incr(self, key: str, amount: int, ttl: float | None) -> int:
        now = time.time()
        with self.transaction():
            # One atomic upsert; an expired row counts as absent (restarts at amount).
            self.execute(
                'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
                'VALUES (%s, %s, %s, 0, %s) ON DUPLICATE KEY UPDATE '
                'value = IF(' + EXPIRED + ', VALUES(value), '
                'CAST(CAST(value AS SIGNED) + %s AS CHAR)), '
                'expires_at = IF(' + EXPIRED + ', VALUES(expires_at), expires_at)',
                (
                    self.name,
                    key,
                    b'%d' % amount,
                    None if ttl is None else now + ttl,
                    now,
                    amount,
                    now,
                ),
            )
            value = self.scalar(
                'SELECT value FROM {kv} WHERE name = %s AND {key} = %s', (self.name, key)
            )
        return int(self.to_bytes(value))
