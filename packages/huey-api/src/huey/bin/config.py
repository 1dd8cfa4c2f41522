"""``huey.bin.config``: the 0.x ``BaseConfiguration`` (deprecated), from huey-legacy."""

from huey._optional import load

BaseConfiguration = load(
    'huey.bin.config', 'huey_legacy.config', 'BaseConfiguration', 'huey-legacy'
)

__all__ = ['BaseConfiguration']
