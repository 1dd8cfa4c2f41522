"""``huey.djhuey.decorators``: see ``huey.djhuey`` (importing it fails first)."""
