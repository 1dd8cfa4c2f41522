"""Settings of the test project: a small Django site using huey like its users do.

Environment variables pick what a test needs (the test process and the
``manage.py`` subprocesses it starts read the same ones):

* ``HUEY_DJANGO_STORAGE``: ``redis`` (default, db 7) or ``sqlite``
  (file ``HUEY_DJANGO_SQLITE``);
* ``HUEY_DJANGO_APP``: the INSTALLED_APPS entry, ``huey.contrib.djhuey``
  (default) or ``huey_django``;
* ``HUEY_DJANGO_DB_NAME``: the PostgreSQL database (the test run's
  throwaway database, handed to subprocesses);
* ``HUEY_DJANGO_STATS``: install huey's ``huey.contrib.djhuey.stats`` app,
  recording into this SQLite file;
* ``HUEY_DJANGO_BAD``: a deliberately wrong ``HUEY`` (a Python literal).
"""

import ast
import os
import uuid

# one name per test run, inherited by subprocesses: parallel runs never share a database
RUN = os.environ.setdefault('HUEY_DJANGO_RUN', uuid.uuid4().hex[:10])
REDIS_DB = 7

SECRET_KEY = 'huey-django-tests'
DEBUG = False
USE_TZ = True
ROOT_URLCONF = 'djproject.urls'
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'

INSTALLED_APPS = [
    'django.contrib.admin',
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'django.contrib.messages',
    os.environ.get('HUEY_DJANGO_APP', 'huey.contrib.djhuey'),
    'shop',
    'reports',
]
MIDDLEWARE = [
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
]
TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'APP_DIRS': True,
        'OPTIONS': {
            'context_processors': [
                'django.template.context_processors.request',
                'django.contrib.auth.context_processors.auth',
                'django.contrib.messages.context_processors.messages',
            ]
        },
    }
]

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': os.environ.get('HUEY_DJANGO_DB_NAME', f'huey_dj_{RUN}'),
        'USER': 'postgres',
        'HOST': '127.0.0.1',
        'PORT': 5432,
    }
}

if os.environ.get('HUEY_DJANGO_STORAGE', 'redis') == 'sqlite':
    HUEY = {
        'huey_class': 'huey.SqliteHuey',
        'name': f'huey-django-{RUN}',
        'immediate': False,
        'connection': {'filename': os.environ['HUEY_DJANGO_SQLITE']},
        'consumer': {'workers': 2, 'initial_delay': 0.05, 'max_delay': 0.2},
    }
else:
    HUEY = {
        'name': f'huey-django-{RUN}',
        'immediate': False,
        'connection': {'host': '127.0.0.1', 'port': 6379, 'db': REDIS_DB},
        'consumer': {'workers': 2, 'imports': ['reports.jobs']},
        # huey-monitor records events and heartbeats for the admin page
        'monitor': {'flush_interval': 0.1, 'heartbeat_interval': 0.5},
    }

if 'HUEY_DJANGO_STATS' in os.environ:  # huey's statistics app, into this SQLite file
    INSTALLED_APPS.append('huey.contrib.djhuey.stats')
    HUEY_STATS = {'filename': os.environ['HUEY_DJANGO_STATS'], 'flush_interval': 60}

if 'HUEY_DJANGO_BAD' in os.environ:
    HUEY = ast.literal_eval(os.environ['HUEY_DJANGO_BAD'])

TASKS = {'default': {'BACKEND': 'huey_django.tasks_backend.HueyTaskBackend'}}

LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'formatters': {'plain': {'format': 'django-logging %(levelname)s %(name)s: %(message)s'}},
    'handlers': {'console': {'class': 'logging.StreamHandler', 'formatter': 'plain'}},
    'loggers': {
        'huey': {'handlers': ['console'], 'level': 'INFO'},
        'huey_api': {'handlers': ['console'], 'level': 'INFO'},
        'huey_django': {'handlers': ['console'], 'level': 'INFO'},
    },
}
