"""``settings.HUEY_CONFIG`` (the 0.x Django setting) as huey-legacy's
``Invoker`` plus the consumer settings of ``manage.py run_huey``.

``invoker_from_config`` is pure (it needs no configured Django settings);
``invoker()`` builds the project's invoker once, from ``django.conf.settings``.
A wrong value raises ``HueyConfigError``: one line naming the key and the fix.
"""

from __future__ import annotations

import logging
import numbers
from typing import Any, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from huey_legacy.config import consumer_settings
from huey_legacy.queue import Invoker

__all__ = ['HueyConfigError', 'KEYS', 'invoker', 'invoker_from_config']

_EXAMPLE = "{'QUEUE': 'huey.backends.redis_backend.RedisQueue', 'QUEUE_CONNECTION': {...}}"

#: the storage roles: (key of the class path or instance, is it required)
_ROLES = (('QUEUE', True), ('RESULT_STORE', False), ('TASK_STORE', False))

#: consumer keys and their 0.x defaults (those of ``BaseConfiguration``)
_CONSUMER_DEFAULTS = {
    'THREADS': 1,
    'PERIODIC': False,
    'INITIAL_DELAY': 0.1,
    'BACKOFF': 1.15,
    'MAX_DELAY': 10,
    'LOGFILE': None,
    'LOGLEVEL': logging.INFO,
}

#: every key ``HUEY_CONFIG`` accepts
KEYS = (
    *(f'{role}{suffix}' for role, _ in _ROLES for suffix in ('', '_NAME', '_CONNECTION')),
    *_CONSUMER_DEFAULTS,
    'ALWAYS_EAGER',
    'UTC',
)

_invoker: Invoker | None = None


class HueyConfigError(ImproperlyConfigured):
    """``settings.HUEY_CONFIG`` is wrong; the one-line message says where and how to fix it."""


def _database_name(databases: Any) -> str:
    """0.x's default backend name: the default database's name, else ``'huey'``."""
    try:
        return str(databases['default']['NAME'] or 'huey')
    except (KeyError, TypeError):
        return 'huey'


def _where(key: str) -> str:
    return f'settings.HUEY_CONFIG[{key!r}]'


def _backend(config: Mapping[str, Any], role: str, name: str) -> Any:
    """The backend of ``role``: the instance given, or its class built with
    ``<role>_NAME`` (default ``name``) and ``<role>_CONNECTION``."""
    value = config[role]
    if not isinstance(value, str):
        return value
    try:
        backend_class = import_string(value)
    except ImportError as exc:
        raise HueyConfigError(
            f'{_where(role)}={value!r} cannot be imported ({exc}): give a class path such as '
            "'huey.backends.redis_backend.RedisQueue' or an instance"
        ) from exc
    connection = config.get(f'{role}_CONNECTION') or {}
    if not isinstance(connection, Mapping):
        raise HueyConfigError(
            f'{_where(role + "_CONNECTION")}={connection!r}: must be a dict such as '
            "{'host': 'localhost', 'port': 6379}"
        )
    backend_name = config.get(f'{role}_NAME') or name
    try:
        return backend_class(backend_name, **connection)
    except TypeError as exc:
        raise HueyConfigError(
            f'{_where(role + "_CONNECTION")}: {value}({backend_name!r}, ...) refused it '
            f"({exc}): pass only that class's keyword arguments"
        ) from exc


def _check_consumer(config: Mapping[str, Any]) -> dict[str, Any]:
    """The consumer keys with their defaults, each checked on its own so an
    error names the ``HUEY_CONFIG`` key rather than the consumer's option."""
    from huey_consumer import ConsumerConfig

    values = {key: config.get(key, default) for key, default in _CONSUMER_DEFAULTS.items()}
    level = values['LOGLEVEL']
    if level is not None and not isinstance(level, numbers.Integral):
        raise HueyConfigError(
            f'{_where("LOGLEVEL")}={level!r}: must be a level such as logging.INFO'
        )
    options = consumer_settings(*(values[key] for key in _CONSUMER_DEFAULTS))
    for key, option in zip(_CONSUMER_DEFAULTS, options):
        try:
            ConsumerConfig.from_kwargs({option: options[option]}).validate()
        except (TypeError, ValueError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HueyConfigError(f'{_where(key)}={values[key]!r}: {text}') from exc
    return options


def invoker_from_config(value: Any, databases: Any = None) -> Invoker:
    """The ``Invoker`` described by ``HUEY_CONFIG`` (``value``); its ``huey``
    carries the consumer settings in ``consumer_settings``. Backend names
    default to the default database's name (``databases``)."""
    if not isinstance(value, Mapping):
        raise HueyConfigError(f'settings.HUEY_CONFIG={value!r}: must be a dict such as {_EXAMPLE}')
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise HueyConfigError(
            f'{_where(unknown[0])} is not a HUEY_CONFIG setting: use one of {", ".join(KEYS)}'
        )
    if value.get('QUEUE') is None:
        raise HueyConfigError(
            f'{_where("QUEUE")} is missing: set it, e.g. HUEY_CONFIG = {_EXAMPLE}'
        )
    options = _check_consumer(value)
    name = _database_name(databases)
    stores = {
        role: _backend(value, role, name) if value.get(role) is not None else None
        for role, _ in _ROLES
    }
    for key in ('ALWAYS_EAGER', 'UTC'):
        if key in value and not isinstance(value[key], bool):
            raise HueyConfigError(f'{_where(key)}={value[key]!r}: must be True or False')
    try:
        built = Invoker(
            stores['QUEUE'],
            result_store=stores['RESULT_STORE'],
            task_store=stores['TASK_STORE'],
            always_eager=value.get('ALWAYS_EAGER', False),
        )
    except TypeError as exc:
        # a backend connecting lazily refuses a bad connection argument only now
        raise HueyConfigError(
            f'settings.HUEY_CONFIG: a backend refused its *_CONNECTION ({exc}): '
            "pass only that backend's keyword arguments"
        ) from exc
    built.huey.utc = value.get('UTC', True)
    built.huey.consumer_settings = options
    return built


def invoker() -> Invoker:
    """The project's invoker, built from ``settings.HUEY_CONFIG`` on first use."""
    global _invoker
    if _invoker is None:
        from django.conf import settings

        _invoker = invoker_from_config(
            getattr(settings, 'HUEY_CONFIG', None), getattr(settings, 'DATABASES', None)
        )
    return _invoker
