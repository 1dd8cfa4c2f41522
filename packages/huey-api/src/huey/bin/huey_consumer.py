"""``python -m huey.bin.huey_consumer``: runs huey-consumer's command line."""

from huey._optional import load


def main() -> int:
    return load('huey_consumer.py', 'huey_consumer.cli', 'main', 'huey-consumer')()


if __name__ == '__main__':
    raise SystemExit(main())
