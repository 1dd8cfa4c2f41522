"""``settings.HUEY``: read once at start-up into a ``HueySettings``.

The setting is either a ``Huey`` instance or a dict written the way huey users
write it (``huey_class``, ``name``, ``results``, ``immediate``, ``connection``,
``consumer``...). Everything is checked here, before any task is declared, so a
wrong setting stops the project at start-up with one line naming the setting
and the fix, instead of failing later inside a worker.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from huey_api import Huey
from huey_consumer import ConsumerConfig
from huey_storage import hide_password

__all__ = [
    'CONSUMER_OPTIONS',
    'DEFAULT_HUEY_CLASS',
    'RUN_HUEY_OPTIONS',
    'HueySettingError',
    'HueySettings',
    'consumer_config',
    'default_name',
    'load_settings',
]

DEFAULT_HUEY_CLASS = 'huey.RedisHuey'

#: ``settings.HUEY['consumer']`` keys: the consumer's own settings (``ConsumerConfig``).
CONSUMER_OPTIONS = tuple(field.name for field in dataclasses.fields(ConsumerConfig))

#: ``settings.HUEY['consumer']`` keys of ``manage.py run_huey`` itself (``quiet``
#: is huey's spelling of ``verbose: False``).
RUN_HUEY_OPTIONS = ('imports', 'quiet')

_OWN_KEYS = ('huey_class', 'name', 'connection', 'consumer', 'monitor')
_BOOLEAN_KEYS = (
    'results',
    'store_none',
    'immediate',
    'utc',
    'blocking',
    'compression',
    'use_zlib',
    'immediate_use_memory',
)
_EXAMPLE = "{'huey_class': 'huey.RedisHuey', 'connection': {'host': 'localhost'}}"


class HueySettingError(ImproperlyConfigured):
    """``settings.HUEY`` is wrong; the message (one line) says where and how to
    fix it, with any password it quotes (URL, DSN, option dict) masked."""

    def __init__(self, message: str) -> None:
        super().__init__(hide_password(message))


@dataclasses.dataclass(frozen=True)
class HueySettings:
    """The validated setting: the application and how ``run_huey`` runs it."""

    huey: Huey
    #: the consumer's settings, logging included (``run_huey`` flags override them)
    consumer: ConsumerConfig = ConsumerConfig()
    #: extra modules ``run_huey`` imports besides every app's ``tasks.py``
    imports: tuple[str, ...] = ()


def default_name(databases: Mapping[str, Any] | None) -> str:
    """huey's default queue name: the default database's name, else ``'huey'``."""
    try:
        name = databases['default']['NAME']  # type: ignore[index]
    except (KeyError, TypeError):
        return 'huey'
    return str(name) if name else 'huey'


def load_settings(value: Any, *, debug: bool = False, databases: Any = None) -> HueySettings:
    """Build the ``HueySettings`` described by ``settings.HUEY`` (``value``).

    ``None`` (no setting) means ``{}``: a ``RedisHuey`` named after the
    default database. ``debug`` is the default of ``immediate``.
    Raises ``HueySettingError``.
    """
    if isinstance(value, Huey):
        return HueySettings(huey=value)
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise HueySettingError(
            f'settings.HUEY={value!r}: must be a Huey instance or a dict such as {_EXAMPLE}'
        )
    options = dict(value)
    huey_class = _huey_class(options.pop('huey_class', DEFAULT_HUEY_CLASS))
    name = options.pop('name', None)
    if name is None:
        name = default_name(databases)
    elif not isinstance(name, str) or not name:
        raise HueySettingError(f"settings.HUEY['name']={name!r}: must be a non-empty string")
    connection = _dict_option(options.pop('connection', None), "settings.HUEY['connection']")
    consumer = _dict_option(options.pop('consumer', None), "settings.HUEY['consumer']")
    monitor = _monitor_options(options.pop('monitor', False))
    _check_keys(options, huey_class)
    for key in _BOOLEAN_KEYS:
        if key in options and not isinstance(options[key], bool):
            raise HueySettingError(
                f'settings.HUEY[{key!r}]={options[key]!r}: must be True or False'
            )
    options.setdefault('immediate', bool(debug))
    overlap = sorted(set(options) & set(connection))
    if overlap:
        raise HueySettingError(
            f"settings.HUEY['connection'] and settings.HUEY both set {', '.join(overlap)}: "
            'keep one of them'
        )
    huey = _build(huey_class, name, {**options, **connection})
    consumer_settings, imports = _consumer_settings(consumer)
    if monitor is not None:
        import huey_monitor

        huey_monitor.enable(huey, settings=monitor)
    return HueySettings(huey=huey, consumer=consumer_settings, imports=imports)


def _monitor_options(value: Any) -> Any:
    """``settings.HUEY['monitor']``: False (default), True, or huey-monitor's
    options (``{'max_events': 50000}``); the ``MonitorSettings`` to record
    with, or None."""
    where = "settings.HUEY['monitor']"
    if value is False or value is None:
        return None
    from huey_monitor import MonitorSettings

    options = {} if value is True else _dict_option(value, where)
    try:
        return MonitorSettings(**options)
    except (TypeError, ValueError) as exc:
        raise HueySettingError(
            f'{where}: {_one_line(exc)}; use True or a dict of huey-monitor options '
            "such as {'max_events': 10000, 'max_age': 86400}"
        ) from exc


def _huey_class(path: Any) -> type[Huey]:
    where = "settings.HUEY['huey_class']"
    if isinstance(path, type):
        found: Any = path
    elif isinstance(path, str) and '.' in path:
        try:
            found = import_string(path)
        except ImportError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HueySettingError(
                f'{where}={path!r} cannot be imported ({reason}): use the import path of '
                "a Huey class, such as 'huey.RedisHuey' or 'huey.SqliteHuey'"
            ) from exc
    else:
        raise HueySettingError(
            f'{where}={path!r}: use the import path of a Huey class, such as '
            "'huey.RedisHuey' or 'huey.SqliteHuey'"
        )
    if not (isinstance(found, type) and issubclass(found, Huey)):
        raise HueySettingError(
            f'{where}={path!r} is {found!r}, not a Huey class: use a class such as '
            "'huey.RedisHuey' or 'huey.SqliteHuey'"
        )
    return found


def _dict_option(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise HueySettingError(f'{where}={value!r}: must be a dict')
    return dict(value)


def _parameters(function: Any) -> tuple[set[str], bool]:
    """Named keyword parameters of ``function`` and whether it takes ``**kwargs``."""
    names, var_keyword = set(), False
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            var_keyword = True
        elif parameter.kind is not parameter.VAR_POSITIONAL and parameter.name != 'self':
            names.add(parameter.name)
    return names, var_keyword


def _check_keys(options: dict, huey_class: type[Huey]) -> None:
    """Top-level keys are Huey options or named options of its storage;
    anything else (host, port, db...) belongs in ``connection``."""
    allowed, _ = _parameters(huey_class.__init__)
    storage = huey_class.storage_class
    if storage is not None:
        allowed |= _parameters(storage.__init__)[0]
    for key in options:
        if key in CONSUMER_OPTIONS + RUN_HUEY_OPTIONS and key not in allowed:
            raise HueySettingError(
                f'settings.HUEY[{key!r}] is a consumer option: '
                "move it into settings.HUEY['consumer']"
            )
        if key not in allowed:
            raise HueySettingError(
                f'settings.HUEY[{key!r}] is not a {huey_class.__name__} option: '
                "put storage connection options in settings.HUEY['connection'], or use one of "
                f'{", ".join(sorted(allowed | set(_OWN_KEYS)))}'
            )


def _build(huey_class: type[Huey], name: str, kwargs: dict) -> Huey:
    try:
        return huey_class(name, **kwargs)
    except (TypeError, ValueError, ImproperlyConfigured, ImportError) as exc:
        raise HueySettingError(
            f'settings.HUEY: {huey_class.__name__}({name!r}, ...) rejected the setting: '
            f"{_one_line(exc)}; fix that key in settings.HUEY or settings.HUEY['connection']"
        ) from exc
    except Exception as exc:  # the storage refused its options (e.g. a bad filename)
        raise HueySettingError(
            f'settings.HUEY: cannot open the {huey_class.__name__} storage: {_one_line(exc)}; '
            "check settings.HUEY['connection']"
        ) from exc


def _consumer_settings(consumer: dict) -> tuple[ConsumerConfig, tuple[str, ...]]:
    where = "settings.HUEY['consumer']"
    unknown = sorted(set(consumer) - set(CONSUMER_OPTIONS) - set(RUN_HUEY_OPTIONS))
    if unknown:
        raise HueySettingError(
            f'{where}[{unknown[0]!r}] is not a consumer option: use one of '
            f'{", ".join(CONSUMER_OPTIONS + RUN_HUEY_OPTIONS)}'
        )
    options = dict(consumer)
    imports = options.pop('imports', ())
    if isinstance(imports, str):
        imports = (imports,)
    if not all(isinstance(module, str) and module for module in imports):
        raise HueySettingError(f"{where}['imports']={imports!r}: must be a list of module paths")
    if options.pop('quiet', False):
        if options.get('verbose'):
            raise HueySettingError(f"{where}: 'verbose' and 'quiet' are both set: keep one")
        options['verbose'] = False
    return consumer_config(options, where), tuple(imports)


def consumer_config(options: Mapping[str, Any], where: str) -> ConsumerConfig:
    """The consumer's validated settings from ``options``; a bad value raises
    ``HueySettingError`` naming ``where``, at start-up rather than in a worker."""
    try:
        return ConsumerConfig.from_kwargs(options).validate()
    except (TypeError, ValueError) as exc:
        raise HueySettingError(f'{where}: {_one_line(exc)}') from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
