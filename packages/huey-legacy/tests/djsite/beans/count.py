"""``python -m beans.count N``: enqueue a count as the web process would, print the result."""

import os
import sys

import django

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'legacy_site.settings')
django.setup()

from beans.commands import count_some_beans  # noqa: E402

result = count_some_beans(int(sys.argv[1]))
if isinstance(result, str):  # ALWAYS_EAGER: the value itself
    print(f'eager {os.getpid()}: {result}')
else:
    print(f'{type(result).__name__}: {result.get(blocking=True, timeout=15)}')
