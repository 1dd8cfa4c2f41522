"""``python -m huey.bin.huey_consumer``: runs huey-consumer's command line."""
from huey._optional import load


def main() -> None:
    load('huey_consumer.py', 'huey_consumer.cli', 'main', 'huey-consumer')()


if __name__ == '__main__':
    main()
