"""Turn messages and results into bytes and back: pickle, optional compression
and optional HMAC-SHA256 signing.

A signed payload is ``digest (32 bytes) + body``. With a signing key, an
unsigned or tampered payload raises ``SignatureError`` before anything is
unpickled, so a consumer never unpickles bytes it did not sign itself.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import pickle
import zlib
from typing import Any

from huey_api.exceptions import SerializationError, SignatureError

__all__ = ['SignedSerializer', 'Serializer']

_DIGEST_SIZE = hashlib.sha256().digest_size


class Serializer:
    """Pickle (highest protocol) with optional gzip/zlib compression and signing."""

    def __init__(
        self,
        compression: bool = False,
        compression_level: int = 6,
        use_zlib: bool = False,
        signing_key: bytes | str | None = None,
        protocol: int = pickle.HIGHEST_PROTOCOL,
    ) -> None:
        if not 0 <= compression_level <= 9:
            raise ValueError(f'compression_level={compression_level!r}: must be 0-9')
        self.compression = compression
        self.compression_level = compression_level
        self.use_zlib = use_zlib
        self.protocol = protocol
        if isinstance(signing_key, str):
            signing_key = signing_key.encode('utf8')
        if signing_key is not None and not signing_key:
            raise ValueError('signing_key must not be empty')
        self.signing_key = signing_key
        self._mac = hmac.new(signing_key, digestmod=hashlib.sha256) if signing_key else None
        self._plain = not compression and self._mac is None

    def _compress(self, data: bytes) -> bytes:
        if self.use_zlib:
            return zlib.compress(data, self.compression_level)
        return gzip.compress(data, self.compression_level)

    def _decompress(self, data: bytes) -> bytes:
        if self.use_zlib:
            return zlib.decompress(data)
        return gzip.decompress(data)

    def _sign(self, body: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(body)
        return mac.digest() + body

    def _verify(self, data: bytes) -> bytes:
        if len(data) < _DIGEST_SIZE:
            raise SignatureError(f'payload of {len(data)} bytes is too short to be signed')
        digest, body = data[:_DIGEST_SIZE], data[_DIGEST_SIZE:]
        mac = self._mac.copy()
        mac.update(body)
        if not hmac.compare_digest(digest, mac.digest()):
            raise SignatureError(
                'bad signature: the payload is unsigned, tampered with, '
                'or signed with another signing_key'
            )
        return body

    def serialize(self, data: Any) -> bytes:
        """Return ``data`` as bytes (pickled, maybe compressed, maybe signed)."""
        if self._plain:
            return pickle.dumps(data, self.protocol)
        body = pickle.dumps(data, self.protocol)
        if self.compression:
            body = self._compress(body)
        if self._mac is not None:
            body = self._sign(body)
        return body

    def deserialize(self, data: bytes) -> Any:
        """Inverse of ``serialize``; ``SerializationError`` on corrupt input."""
        if self._plain:
            try:
                return pickle.loads(data)
            except Exception as exc:
                raise SerializationError(
                    f'cannot deserialize {len(data)} bytes ({type(exc).__name__}: {exc})'
                ) from exc
        if self._mac is not None:
            data = self._verify(data)
        try:
            if self.compression:
                data = self._decompress(data)
            return pickle.loads(data)
        except Exception as exc:
            raise SerializationError(
                f'cannot deserialize {len(data)} bytes ({type(exc).__name__}: {exc})'
            ) from exc


class SignedSerializer(Serializer):
    """A ``Serializer`` that requires a signing key."""

    def __init__(self, signing_key: bytes | str, **kwargs) -> None:
        if not signing_key:
            raise ValueError('SignedSerializer needs a non-empty signing_key')
        super().__init__(signing_key=signing_key, **kwargs)
