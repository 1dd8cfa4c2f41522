"""Loading the Huey instance from an import path, and the one-line errors."""

from __future__ import annotations

import logging
import sys
import uuid

import pytest
from huey_api import Huey
from huey_consumer.cli import main
from huey_consumer.loading import HueyImportError, load_huey

APP = "from huey_api import MemoryHuey\nhuey = MemoryHuey('loading-test')\nnumber = 42\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A fresh directory as cwd; returns a function writing modules into it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', list(sys.path))
    before = set(sys.modules)
    prefix = 'm' + uuid.uuid4().hex[:8]

    def write(relative: str, source: str) -> str:
        relative = relative.replace('PFX', prefix)
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
        return prefix

    yield write
    for name in set(sys.modules) - before:
        if name.startswith(prefix):
            del sys.modules[name]


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_module_attribute_from_current_directory(project):
    prefix = project('PFX_app.py', APP)
    huey = load_huey(f'{prefix}_app.huey')
    assert isinstance(huey, Huey) and huey.name == 'loading-test'


def test_package_module_attribute_and_colon_form(project):
    prefix = project('PFX_pkg/__init__.py', '')
    project('PFX_pkg/tasks.py', APP)
    first = load_huey(f'{prefix}_pkg.tasks.huey')
    assert load_huey(f'{prefix}_pkg.tasks:huey') is first


def test_attribute_of_an_object_in_the_module(project):
    prefix = project('PFX_cfg.py', APP + 'class Holder:\n    app = huey\n')
    assert load_huey(f'{prefix}_cfg.Holder.app').name == 'loading-test'


@pytest.mark.parametrize(
    'path, message',
    [
        (
            'nosuchmodule_xyz.huey',
            "cannot import module 'nosuchmodule_xyz' (from "
            "'nosuchmodule_xyz.huey'): no such module",
        ),
        ('nosuchmodule_xyz:huey', "cannot import module 'nosuchmodule_xyz'"),
        ('huey', "'huey' is not an import path to a Huey instance: write module.attribute"),
        ('app.', "'app.' is not an import path"),
        (':huey', "':huey' is not an import path"),
    ],
)
def test_bad_paths(project, path, message):
    with pytest.raises(HueyImportError) as info:
        load_huey(path)
    assert message in str(info.value)
    assert '\n' not in str(info.value)


def test_missing_attribute(project):
    prefix = project('PFX_app.py', APP)
    with pytest.raises(HueyImportError) as info:
        load_huey(f'{prefix}_app.hueyy')
    assert str(info.value) == (
        f"'{prefix}_app' has no attribute 'hueyy' (from '{prefix}_app.hueyy')"
    )


def test_attribute_that_is_not_a_huey(project):
    prefix = project('PFX_app.py', APP)
    with pytest.raises(HueyImportError) as info:
        load_huey(f'{prefix}_app.number')
    assert f"'{prefix}_app.number' is a int, not a Huey instance" in str(info.value)


def test_module_whose_own_import_fails_is_not_reported_missing(project):
    prefix = project('PFX_app.py', 'import requests_that_do_not_exist_zz\n')
    with pytest.raises(HueyImportError) as info:
        load_huey(f'{prefix}_app.huey')
    assert (
        f"error importing module '{prefix}_app' (from '{prefix}_app.huey'): "
        "ModuleNotFoundError: No module named 'requests_that_do_not_exist_zz'"
    ) == str(info.value)


def test_module_raising_at_import(project):
    prefix = project('PFX_app.py', 'raise RuntimeError("no config\\nsecond line")\n')
    with pytest.raises(HueyImportError) as info:
        load_huey(f'{prefix}_app.huey')
    assert str(info.value).endswith('RuntimeError: no config')


def test_syntax_error_in_module(project):
    prefix = project('PFX_app.py', 'def broken(:\n')
    with pytest.raises(HueyImportError) as info:
        load_huey(f'{prefix}_app.huey')
    assert 'SyntaxError' in str(info.value)


@pytest.mark.parametrize(
    'path, message',
    [
        ('nosuchmodule_xyz.huey', "cannot import module 'nosuchmodule_xyz'"),
        ('PFX_app.nothing', "has no attribute 'nothing'"),
        ('PFX_app.number', 'not a Huey instance'),
    ],
)
def test_cli_reports_bad_path_in_one_line_with_exit_2(
    project, restore_logging, capsys, path, message
):
    prefix = project('PFX_app.py', APP)
    assert main([path.replace('PFX', prefix)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('huey_consumer: error: ') and message in err
    assert err.count('\n') == 1


def test_cli_rejects_process_workers_with_memory_storage(project, restore_logging, capsys):
    prefix = project('PFX_app.py', APP)
    assert main([f'{prefix}_app.huey', '-k', 'process']) == 2
    assert "worker_type='process' cannot share a MemoryStorage" in capsys.readouterr().err


CONFIGURATION = """from huey_api import MemoryHuey
class Configuration:
    huey = MemoryHuey('configured')
    @classmethod
    def huey_consumer_configuration(cls):
        cls.huey.consumer_settings = {'workers': 3, 'periodic': False}
        return cls.huey
class Broken:
    @classmethod
    def huey_consumer_configuration(cls):
        raise ValueError('Broken.QUEUE is None: set it')
"""


def test_a_configuration_class_gives_its_huey(project):
    prefix = project('PFX_conf.py', CONFIGURATION)
    huey = load_huey(f'{prefix}_conf.Configuration')
    assert isinstance(huey, Huey) and huey.name == 'configured'
    assert huey.consumer_settings == {'workers': 3, 'periodic': False}


def test_a_failing_configuration_is_one_line(project):
    prefix = project('PFX_conf.py', CONFIGURATION)
    with pytest.raises(HueyImportError, match=r"configuration 'Broken' failed: ValueError: Broken"):
        load_huey(f'{prefix}_conf.Broken')


def test_configuration_settings_fill_in_what_the_command_line_left():
    from huey_consumer.cli import _with_class_settings
    from huey_consumer.options import parse_args

    settings = {'workers': 3, 'periodic': False, 'max_delay': 2, 'verbose': True}
    options, _ = parse_args(['app.Configuration', '--max-delay', '5'])
    config = _with_class_settings(options, settings)
    assert (config.workers, config.periodic, config.max_delay, config.verbose) == (
        3,
        False,
        5,
        True,
    )
    with pytest.raises(ValueError, match='workers=0'):
        _with_class_settings(options, {'workers': 0})
