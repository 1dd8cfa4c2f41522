"""``python -m huey.bin.huey_consumer``: runs huey-consumer's command line."""

from huey._optional import load

__all__ = ['consumer_main', 'main']


def main() -> int:
    return load('huey_consumer.py', 'huey_consumer.cli', 'main', 'huey-consumer')()


#: huey's name for the entry point.
consumer_main = main


if __name__ == '__main__':
    raise SystemExit(main())
