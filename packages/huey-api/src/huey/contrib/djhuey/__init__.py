"""``huey.contrib.djhuey``: the Django integration, from the huey-django distribution."""

import importlib.util

if importlib.util.find_spec('huey_django') is None:
    raise ImportError(
        'huey.contrib.djhuey needs the huey-django distribution: pip install huey-django'
    )

from huey_django import *  # noqa: E402,F403
from huey_django import __all__  # noqa: E402,F401
