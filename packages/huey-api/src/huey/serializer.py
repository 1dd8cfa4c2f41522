"""``huey.serializer``."""

from huey_api.serializer import Serializer, SignedSerializer

__all__ = ['Serializer', 'SignedSerializer']
