"""``huey.constants``."""

from huey_api.constants import AT_LEAST_ONCE, AT_MOST_ONCE, DELIVERY_MODES
from huey_storage import EmptyData

__all__ = ['AT_LEAST_ONCE', 'AT_MOST_ONCE', 'DELIVERY_MODES', 'EmptyData']
