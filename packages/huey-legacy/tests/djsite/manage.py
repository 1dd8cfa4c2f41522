#!/usr/bin/env python
"""manage.py of the 0.x Django test project (run by the tests as a subprocess)."""

import os
import sys

if __name__ == '__main__':
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'legacy_site.settings')
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
