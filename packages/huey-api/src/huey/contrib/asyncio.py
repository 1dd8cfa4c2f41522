"""``huey.contrib.asyncio``: await task results without blocking the event loop."""

from huey_api.aio import aget_result, aget_result_group

__all__ = ['aget_result', 'aget_result_group']
