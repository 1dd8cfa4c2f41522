"""Run huey 3.5.4's own test suite against the installed ``huey`` (ours).

The reference wheel is fetched by pip (pinned by version and sha256) into a
scratch directory outside the tree; only its ``huey/tests`` modules are
extracted. ``plugin.py`` makes ``huey.tests`` resolve to that scratch copy and
marks the tests listed in ``departures.txt`` and ``gaps.txt`` as strict xfails. Nothing of
huey's is ever written into the repository.

Usage: ``python tests/compat/run.py [test_api.py[::Class::test] ...] [pytest args...]``
(module names run just those modules; with none, every module runs).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REFERENCE = 'huey==3.5.4'
WHEEL_SHA256 = 'a3b68953fc62fbbbfe15cd6c48bef9d8072a267234c647121c31ec466e35e8e8'
HERE = Path(__file__).resolve().parent


def fetch_wheel(into: Path) -> Path:
    """Download the reference wheel (no dependencies) and check its digest."""
    subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'download',
            '-q',
            '--no-deps',
            '--only-binary',
            ':all:',
            REFERENCE,
            '-d',
            str(into),
        ],
        check=True,
    )
    wheel = next(into.glob('huey-*.whl'))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(
            f'{wheel.name}: sha256 {digest} does not match the pinned '
            f'{WHEEL_SHA256}; refusing to run it'
        )
    return wheel


def extract_tests(wheel: Path, into: Path) -> Path:
    """Extract the test modules of ``huey/tests`` to ``into/huey/tests``; return ``into``."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if (
                name.startswith('huey/tests/test_')
                and name.endswith('.py')
                or name == 'huey/tests/base.py'
            ):
                archive.extract(name, into)
    # huey/tests/__init__.py star-imports every module (for unittest's runner),
    # so one module that fails to import would fail them all: use an empty one.
    (into / 'huey' / 'tests' / '__init__.py').write_text('')
    # Lets pytest name the modules huey.tests.*; the plugin imports our huey
    # first, so this empty file is never imported as ``huey`` itself.
    (into / 'huey' / '__init__.py').write_text('')
    return into


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix='huey-compat-') as scratch:
        scratch_path = Path(scratch)
        root = extract_tests(fetch_wheel(scratch_path / 'wheel'), scratch_path / 'suite')
        env = {
            **os.environ,
            'HUEY_COMPAT_TESTS': str(root / 'huey'),
            'PYTHONPATH': os.pathsep.join(filter(None, [str(HERE), os.environ.get('PYTHONPATH')])),
        }
        tests = root / 'huey' / 'tests'
        chosen = [str(tests / arg) for arg in argv if arg.startswith('test_')]
        options = [arg for arg in argv if not arg.startswith('test_')]
        command = [sys.executable, '-m', 'pytest', '-p', 'plugin', '-p', 'no:cacheprovider']
        command += ['--rootdir', str(root), '-q', '--continue-on-collection-errors']
        command += [*(chosen or [str(tests)]), *options]
        # cwd is not the suite root: `python -m` puts cwd on sys.path, and the
        # suite root holds the empty huey/__init__.py.
        return subprocess.call(command, env=env, cwd=scratch_path)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
