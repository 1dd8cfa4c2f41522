"""``huey.contrib``: compatibility paths for optional distributions."""
