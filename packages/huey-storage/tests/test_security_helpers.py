"""Passwords are masked wherever a URL or DSN is quoted; files are created private."""

from __future__ import annotations

import os
import stat

import pytest
from huey_storage import DEFAULT_FILE_MODE, check_file_mode, create_file, hide_password


@pytest.mark.parametrize(
    ('text', 'shown'),
    [
        ("cannot open 'postgress://bob:hunter2@db:5432/x'", "'postgress://bob:***@db:5432/x'"),
        ('redis://:hunter2@cache:6379/0', 'redis://:***@cache:6379/0'),
        ('mysql://bob:p@ss/hunter2@db/x', 'mysql://bob:***@db/x'),
        ('mysql://bob:hunter2@db/x and redis://u:hunter2@c/1', 'redis://u:***@c/1'),
        ('host=db password=hunter2 user=bob', 'host=db password=*** user=bob'),
        ("host=db password='hun ter2' user=bob", 'host=db password=*** user=bob'),
        ("{'host': 'db', 'password': 'hunter2'}", "{'host': 'db', 'password': '***'}"),
        ('{"PASSWORD": "hunter2"}', '{"PASSWORD": \'***\'}'),
    ],
)
def test_hide_password_masks_urls_dsns_and_option_dicts(text, shown):
    masked = hide_password(text)
    assert 'hunter2' not in masked and 'hun ter2' not in masked
    assert shown in masked


def test_hide_password_leaves_text_without_passwords_alone():
    for text in ('mysql://root@localhost/test', 'sqlite:////tmp/x.db', 'no url here: a@b'):
        assert hide_password(text) == text


def test_create_file_makes_a_private_file_and_leaves_existing_ones(tmp_path):
    path = str(tmp_path / 'new')
    old = os.umask(0)
    try:
        create_file(path, DEFAULT_FILE_MODE)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o644)
    create_file(path, 0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    create_file(str(tmp_path / 'untouched'), None)
    assert not os.path.exists(tmp_path / 'untouched')


@pytest.mark.parametrize('mode', [-1, 0o1000, 1.5, '0600', True])
def test_check_file_mode_refuses_what_is_not_permission_bits(mode):
    with pytest.raises(ValueError, match=r'MyStorage\(mode='):
        check_file_mode(mode, 'MyStorage')
    assert check_file_mode(None, 'MyStorage') is None
    assert check_file_mode(0o640, 'MyStorage') == 0o640


def test_file_storage_directory_is_private(tmp_path):
    from huey_storage import FileStorage

    old = os.umask(0o022)
    try:
        storage = FileStorage('files', path=str(tmp_path / 'private'))
        storage.enqueue(b'x')
        shared = FileStorage('files', path=str(tmp_path / 'shared'), mode=0o640)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / 'private').st_mode) == 0o700
    assert stat.S_IMODE(os.stat(shared.path).st_mode) == 0o750
    assert storage.dequeue() == b'x'
