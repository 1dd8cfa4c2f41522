"""Not a ``tasks.py``: run_huey imports it because settings.HUEY['consumer']['imports'] names it."""

from huey.contrib.djhuey import task


@task()
def shout(text):
    return text.upper() + '!'
