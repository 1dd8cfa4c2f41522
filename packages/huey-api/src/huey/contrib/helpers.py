"""``huey.contrib.helpers``: a Redis semaphore for tasks (needs huey-storage-redis)."""

from huey_api.semaphore import RedisSemaphore, lock_task_semaphore

__all__ = ['RedisSemaphore', 'lock_task_semaphore']
