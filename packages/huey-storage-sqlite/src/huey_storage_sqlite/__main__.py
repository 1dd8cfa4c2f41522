"""Create the huey tables in a SQLite file ahead of time, or print the SQL.

python -m huey_storage_sqlite /var/lib/app/huey.db [--strict-fifo]
python -m huey_storage_sqlite --sql [--strict-fifo]
"""

from __future__ import annotations

import argparse
import sys

from huey_storage_sqlite.schema import schema_statements
from huey_storage_sqlite.storage import SqliteStorage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m huey_storage_sqlite', description='Create the huey tables in a SQLite file.'
    )
    parser.add_argument('filename', nargs='?', help='database file (created if missing)')
    parser.add_argument(
        '--strict-fifo', action='store_true', help='create the queue table with AUTOINCREMENT'
    )
    parser.add_argument(
        '--sql', action='store_true', help='print the CREATE statements instead of running them'
    )
    args = parser.parse_args(argv)
    if args.sql:
        for statement in schema_statements(args.strict_fifo):
            print(statement + ';')
        return 0
    if not args.filename:
        parser.error('give a database filename, or --sql')
    storage = SqliteStorage(filename=args.filename, strict_fifo=args.strict_fifo)
    try:
        storage.create_schema()
    finally:
        storage.close()
    print(f'huey schema ready in {storage.filename}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
