"""``huey.bin``: the classic location of the consumer script."""
