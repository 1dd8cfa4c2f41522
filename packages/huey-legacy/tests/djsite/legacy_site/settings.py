"""A 0.x-era project: ``huey.djhuey`` configured by ``HUEY_CONFIG`` (Redis db 8).

``HUEY_LEGACY_EAGER=1`` sets ``ALWAYS_EAGER``; ``HUEY_LEGACY_CONFIG`` (a Python
literal dict) is merged into ``HUEY_CONFIG``: a test's variation, right or wrong.
"""

import ast
import os

SECRET_KEY = 'huey-legacy-tests'
USE_TZ = True
INSTALLED_APPS = ['huey.djhuey', 'beans']
# never opened: its name is what the queue is called by default
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': 'bean-counter'}}

CONNECTION = {'host': '127.0.0.1', 'port': 6379, 'db': 8}
HUEY_CONFIG = {
    'QUEUE': 'huey.backends.redis_backend.RedisQueue',
    'QUEUE_CONNECTION': CONNECTION,
    'RESULT_STORE': 'huey.backends.redis_backend.RedisDataStore',
    'RESULT_STORE_CONNECTION': CONNECTION,
    'THREADS': 2,
    'INITIAL_DELAY': 0.05,
    'MAX_DELAY': 0.2,
    'ALWAYS_EAGER': os.environ.get('HUEY_LEGACY_EAGER') == '1',
    **ast.literal_eval(os.environ.get('HUEY_LEGACY_CONFIG', '{}')),
}
