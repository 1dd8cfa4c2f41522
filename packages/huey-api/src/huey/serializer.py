"""``huey.serializer``."""

from huey_api.serializer import JSONSerializer, Serializer, SignedSerializer

__all__ = ['JSONSerializer', 'Serializer', 'SignedSerializer']
