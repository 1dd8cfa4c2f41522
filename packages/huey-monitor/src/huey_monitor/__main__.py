"""``python -m huey_monitor APP.huey COMMAND``: the same as ``huey_admin``."""

import sys

from .cli import main

sys.exit(main())
