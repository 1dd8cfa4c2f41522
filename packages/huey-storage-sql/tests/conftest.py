"""Fixtures: a throwaway PostgreSQL schema or MariaDB database per test.

``pg_target`` / ``mysql_target`` create ``huey_t_<random>`` on the real server
(skipping, or failing under CI, when it is down) and drop it afterwards. A
target builds peewee databases and URLs pointing into it; each call returns a
new Database object, as a separate process or application would have.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import peewee
import psycopg2
import pymysql
import pytest
from huey_storage.testing.services import require_service


def random_name() -> str:
    return 'huey_t_' + uuid.uuid4().hex[:12]


@dataclass
class PgTarget:
    host: str
    port: int
    schema: str

    def database(self, **options: Any) -> peewee.PostgresqlDatabase:
        return peewee.PostgresqlDatabase(
            'test',
            host=self.host,
            port=self.port,
            user='postgres',
            options=f'-c search_path={self.schema}',
            **options,
        )

    def url(self) -> str:
        return (
            f'postgresql://postgres@{self.host}:{self.port}/test'
            f'?options=-csearch_path%3D{self.schema}'
        )

    def admin(self) -> Any:
        """A raw psycopg2 connection (autocommit) for checks behind the storage's back."""
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user='postgres',
            dbname='test',
            options=f'-c search_path={self.schema}',
        )
        conn.autocommit = True
        return conn


@dataclass
class MySQLTarget:
    host: str
    port: int
    name: str

    def database(self, **options: Any) -> peewee.MySQLDatabase:
        return peewee.MySQLDatabase(
            self.name, host=self.host, port=self.port, user='root', password='', **options
        )

    def url(self) -> str:
        return f'mysql://root@{self.host}:{self.port}/{self.name}'

    def admin(self) -> Any:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user='root',
            password='',
            database=self.name,
            autocommit=True,
        )


@pytest.fixture
def pg_target():
    host, port = require_service('postgres')
    target = PgTarget(host, port, random_name())
    admin = psycopg2.connect(host=host, port=port, user='postgres', dbname='test')
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA {target.schema}')
    try:
        yield target
    finally:
        with admin.cursor() as cursor:
            cursor.execute("SET lock_timeout = '30s'")
            cursor.execute(f'DROP SCHEMA {target.schema} CASCADE')
        admin.close()


@pytest.fixture
def mysql_target():
    host, port = require_service('mysql')
    target = MySQLTarget(host, port, random_name())
    admin = pymysql.connect(host=host, port=port, user='root', password='', autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE {target.name}')
    try:
        yield target
    finally:
        with admin.cursor() as cursor:
            cursor.execute('SET SESSION lock_wait_timeout = 30')
            cursor.execute(f'DROP DATABASE {target.name}')
        admin.close()


def _wait_until(predicate, timeout: float = 10.0, message: str = 'condition') -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f'{message}: still false after {timeout} seconds')
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout=10, message=...)``: poll with a deadline."""
    return _wait_until
