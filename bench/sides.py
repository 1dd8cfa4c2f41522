"""The interpreters under test: their venvs, and one measurement in one of them.

Every side but ours runs from a venv of its own under ``bench/``
(``.venv-ref``, ``.venv-peer-NAME``; gitignored), created on first use with
pinned versions from the package index. A marker file in the venv records
the pins it was built with; the venv is reused while they match.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ['MARKER', 'RESULT_PREFIX', 'ensure_venv', 'our_pins', 'run_driver']

BENCH = Path(__file__).resolve().parent
MARKER = '.bench-requirements'
RESULT_PREFIX = 'BENCH_RESULT '


def our_pins(names: tuple[str, ...], overrides: dict[str, str] | None = None) -> list[str]:
    """``name==version`` for each of ``names`` as installed in this interpreter
    (ours), so every side talks to Redis through the same client library;
    ``overrides`` replaces a pin where a side's package refuses ours."""
    pins = []
    for name in names:
        if overrides and name in overrides:
            pins.append(f'{name}=={overrides[name]}')
            continue
        try:
            pins.append(f'{name}=={importlib.metadata.version(name)}')
        except importlib.metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def ensure_venv(venv: Path, wanted: list[str], python_for_venv: str) -> str:
    """Create or reuse ``venv`` with exactly the ``wanted`` requirements; return its python."""
    python = venv / 'bin' / 'python'
    marker = venv / MARKER
    if python.exists() and marker.exists() and marker.read_text().split() == wanted:
        return str(python)
    if not python.exists():
        print(f'creating {venv} ...', file=sys.stderr)
        subprocess.run([python_for_venv, '-m', 'venv', str(venv)], check=True)
    print(f'installing {" ".join(wanted)} into {venv} ...', file=sys.stderr)
    subprocess.run([str(python), '-m', 'pip', 'install', '-q', *wanted], check=True)
    marker.write_text('\n'.join(wanted) + '\n')
    return str(python)


def run_driver(
    python: str,
    scenario: str,
    params: dict,
    timeout: float,
    driver: str = 'driver.py',
    env: dict | None = None,
) -> dict:
    """Run one measurement (``bench/DRIVER SCENARIO JSON``), with ``env``
    added to the environment; return its figures or raise RuntimeError.

    On timeout the driver gets SIGTERM first, so it stops its worker and
    flushes the db, and is killed only if it has not exited 30 s later.
    """
    env = {**os.environ, **(env or {})}
    env.pop('PYTHONPATH', None)
    try:
        proc = subprocess.Popen(
            [python, str(BENCH / driver), scenario, json.dumps(params)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(BENCH),
            env=env,
        )
    except OSError as exc:
        raise RuntimeError(f'cannot run {python}: {exc}') from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise RuntimeError(f'{scenario} timed out after {timeout:.0f}s') from None
    except BaseException:  # Ctrl-C: let the driver clean up, never orphan it
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = '\n'.join((stderr or stdout).strip().splitlines()[-12:])
    raise RuntimeError(f'{scenario} exited {proc.returncode}:\n{tail}')
