"""The read-only queue view in the Django admin."""
