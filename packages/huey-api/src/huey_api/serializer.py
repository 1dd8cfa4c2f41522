"""Turn messages and results into bytes and back: pickle, optional compression
and optional HMAC-SHA256 signing.

A signed payload is ``digest (32 bytes) + body``. With a signing key, an
unsigned or tampered payload raises ``SignatureError`` before anything is
unpickled, so a consumer never unpickles bytes it did not sign itself.

``compression`` and ``use_zlib`` decide how payloads are *written*. Reading
goes by the payload's first byte, which tells the three formats apart (gzip
starts with 0x1f, zlib with 0x78, pickle never with either): like huey, a
serializer with compression on still reads uncompressed payloads, and here
any serializer also reads gzip or zlib ones, so producers and consumers can
switch compression settings one at a time.
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
# First bytes of gzip and zlib streams; no pickle opcode uses either.
_GZIP_FIRST = b'\x1f'
_ZLIB_FIRST = b'\x78'
_COMPRESSED_FIRST = (_GZIP_FIRST, _ZLIB_FIRST)


class Serializer:
    """Pickle (highest protocol) with optional gzip/zlib compression and signing."""

    def __init__(
        self,
        compression: bool = False,
        compression_level: int = 6,
        use_zlib: bool = False,
        signing_key: bytes | str | None = None,
        protocol: int = pickle.HIGHEST_PROTOCOL,
        pickle_protocol: int | None = None,
    ) -> None:
        if not 0 <= compression_level <= 9:
            raise ValueError(f'compression_level={compression_level!r}: must be 0-9')
        self.compression = compression
        self.compression_level = compression_level
        self.use_zlib = use_zlib
        # pickle_protocol is huey's name for protocol.
        self.protocol = pickle_protocol or protocol
        if isinstance(signing_key, str):
            signing_key = _as_bytes(signing_key)
        if signing_key is not None and not signing_key:
            raise ValueError('signing_key must not be empty')
        self.signing_key = signing_key
        self._mac = hmac.new(signing_key, digestmod=hashlib.sha256) if signing_key else None
        self._plain = not compression and self._mac is None

    def _compress(self, data: bytes) -> bytes:
        if self.use_zlib:
            return zlib.compress(data, self.compression_level)
        return gzip.compress(data, self.compression_level)

    @staticmethod
    def _decompress(data: bytes) -> bytes:
        """Undo gzip or zlib compression, recognised by the first byte; plain pickle as is."""
        first = data[:1]
        if first == _GZIP_FIRST:
            return gzip.decompress(data)
        if first == _ZLIB_FIRST:
            return zlib.decompress(data)
        return data

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
        """Inverse of ``serialize`` whatever the compression setting of the writer.

        ``SignatureError`` when signing is on and the signature does not match;
        ``SerializationError`` on corrupt input.
        """
        if self._mac is not None:
            data = self._verify(data)
        try:
            if data[:1] in _COMPRESSED_FIRST:
                data = self._decompress(data)
            return pickle.loads(data)
        except Exception as exc:
            raise SerializationError(
                f'cannot deserialize {len(data)} bytes ({type(exc).__name__}: {exc})'
            ) from exc


class SignedSerializer(Serializer):
    """A ``Serializer`` that requires a signing key.

    ``secret`` is huey's name for ``signing_key``. A ``salt`` binds the key to
    one use: the same secret with another salt signs differently, so two
    applications sharing a secret cannot feed each other messages.
    """

    def __init__(
        self,
        signing_key: bytes | str | None = None,
        *,
        secret: bytes | str | None = None,
        salt: bytes | str | None = None,
        **kwargs: Any,
    ) -> None:
        key = signing_key if signing_key is not None else secret
        if not key:
            raise ValueError(
                f'SignedSerializer needs a non-empty signing_key, got {key!r}: '
                "pass SignedSerializer('your secret')"
            )
        if salt:
            key = hashlib.sha256(_as_bytes(salt) + b':' + _as_bytes(key)).digest()
        super().__init__(signing_key=key, **kwargs)


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode('utf8') if isinstance(value, str) else value
