"""Bytes for messages and stored values, in one place: the serializer and,
with a signing key, the context each payload is signed for (the queue for a
message, the data key for a value, see ``serializer``), so a payload copied
to another queue or key is refused. Without a key nothing extra is done."""

from __future__ import annotations

from typing import Any

from huey_api.exceptions import SerializationError
from huey_api.message import encode_steps
from huey_api.serializer import Serializer
from huey_api.task import Task

__all__ = ['Codec']


class Codec:
    """Encodes and decodes for one ``Huey`` (its serializer, registry and name)."""

    def __init__(self, serializer, registry, queue_name: str) -> None:
        self.serializer = serializer
        self.registry = registry
        #: signed payloads name their queue or key; replays are refused (``replay``)
        self.signed = isinstance(serializer, Serializer) and serializer.signing_key is not None
        self._message_context = b'm\0' + queue_name.encode('utf8')

    def encode_task(self, task: Task) -> bytes:
        """``task`` (and its pipeline) as a stored message."""
        return self.encode_message(encode_steps(task))

    def encode_message(self, wire: tuple) -> bytes:
        """A wire tuple (``message``) as bytes, signed for this queue when signing."""
        if self.signed:
            return self.serializer.serialize(wire, self._message_context)
        return self.serializer.serialize(wire)

    def decode_task(self, data: Any) -> Task:
        """A task from a stored message: ``SerializationError`` (a bad
        signature, a payload that is not bytes, a malformed field) or
        ``UnknownTaskError`` when it is poison."""
        if type(data) is not bytes:  # a row written by something else
            raise SerializationError(
                f'the stored message is {type(data).__name__}, not bytes: '
                'it was not written by huey'
            )
        if self.signed:
            return self.registry.decode(self.serializer.deserialize(data, self._message_context))
        return self.registry.decode(self.serializer.deserialize(data))

    def encode_value(self, key: str, value: Any) -> bytes:
        """``value`` as stored at data key ``key`` (signed for that key when signing)."""
        if self.signed:
            return self.serializer.serialize(value, b'd\0' + key.encode('utf8'))
        return self.serializer.serialize(value)

    def decode_value(self, key: str, data: bytes) -> Any:
        """The value read at ``key``; ``SignatureError`` if it was signed for another key."""
        if self.signed:
            return self.serializer.deserialize(data, b'd\0' + key.encode('utf8'))
        return self.serializer.deserialize(data)

    def sign_revocation(self, key: str, value: bytes) -> bytes:
        """A revocation's plain bytes, signed for its key when signing."""
        return self.serializer.sign(value, _revocation_context(key)) if self.signed else value

    def verify_revocation(self, key: str, value: bytes) -> bytes:
        """The plain bytes of a revocation read at ``key`` (``SignatureError`` if forged)."""
        return self.serializer.verify(value, _revocation_context(key)) if self.signed else value


def _revocation_context(key: str) -> bytes:
    return b'r\0' + key.encode('utf8')
