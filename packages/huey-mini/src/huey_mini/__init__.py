"""MiniHuey: a tiny huey on gevent, in your application process."""

__all__ = []
__version__ = "0.1.0"
