"""``huey.contrib.mini``: MiniHuey, from the huey-mini distribution."""

from huey._optional import load

MiniHuey = load('huey.contrib.mini', 'huey_mini', 'MiniHuey', 'huey-mini')

__all__ = ['MiniHuey']
