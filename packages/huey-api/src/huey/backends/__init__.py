"""``huey.backends``: the 0.x/1.x backends (deprecated), from huey-legacy."""

from huey._optional import load

load('huey.backends', 'huey_legacy', 'BaseQueue', 'huey-legacy')
