"""Turn messages and results into bytes and back: pickle (or JSON), optional
compression and optional HMAC-SHA256 signing.

Without a signing key, whoever can write to the storage runs code in the
consumer: unpickling runs code. With one, a payload is
``digest (32 bytes) + header (16 bytes: signing time, random nonce) + body``
and an unsigned or tampered payload raises ``SignatureError`` before
anything is unpickled. The digest also covers a *context* the caller names:
``Huey`` signs a message for its queue (``m\\0<name>``) and a value for its
key (``d\\0<key>``), so a signed result copied to another key, or a message
moved to another queue, fails verification. The nonce makes every signed
payload unique, which lets the consumer refuse a replayed message (see
``huey_api.replay``).

``JSONSerializer`` cannot run code at all when decoding; see its docstring
for what it carries.

``compression`` and ``use_zlib`` decide how payloads are *written*. Reading
goes by the payload's first byte, which tells the formats apart (gzip
starts with 0x1f, zlib with 0x78, pickle and JSON never with either): like
huey, a serializer with compression on still reads uncompressed payloads,
and here any serializer also reads gzip or zlib ones, so producers and
consumers can switch compression settings one at a time.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import hmac
import json
import os
import pickle
import struct
import time
import zlib
from typing import Any

from huey_api.exceptions import SerializationError, SignatureError, TaskException

__all__ = ['JSONSerializer', 'SignedSerializer', 'Serializer', 'serializer_for']

_DIGEST_SIZE = hashlib.sha256().digest_size
#: signing time (microseconds, 8 bytes) + 8 random bytes
_HEADER = struct.Struct('>Q8s')
_SIGNED_OVERHEAD = _DIGEST_SIZE + _HEADER.size
# First bytes of gzip and zlib streams; no pickle opcode or JSON text starts so.
_GZIP_FIRST = b'\x1f'
_ZLIB_FIRST = b'\x78'
_COMPRESSED_FIRST = (_GZIP_FIRST, _ZLIB_FIRST)


class Serializer:
    """Pickle (highest protocol) with optional gzip/zlib compression and signing.

    ``serialize(data, context)`` / ``deserialize(data, context)``: with a
    signing key the signature covers ``context`` (bytes or str) too, and the
    reader must name the same one.
    """

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

    # -- body encoding: pickle here, JSON in JSONSerializer --------------------

    def _dumps(self, data: Any) -> bytes:
        return pickle.dumps(data, self.protocol)

    def _loads(self, data: bytes) -> Any:
        return pickle.loads(data)

    # -- compression and signing ------------------------------------------------

    def _compress(self, data: bytes) -> bytes:
        if self.use_zlib:
            return zlib.compress(data, self.compression_level)
        return gzip.compress(data, self.compression_level)

    @staticmethod
    def _decompress(data: bytes) -> bytes:
        """Undo gzip or zlib compression, recognised by the first byte; else as is."""
        first = data[:1]
        if first == _GZIP_FIRST:
            return gzip.decompress(data)
        if first == _ZLIB_FIRST:
            return zlib.decompress(data)
        return data

    def _digest(self, context: bytes | str | None, signed: bytes) -> bytes:
        mac = self._mac.copy()
        if context:
            context = _as_bytes(context)
            mac.update(b'%d:' % len(context))
            mac.update(context)
        else:
            mac.update(b'0:')
        mac.update(signed)
        return mac.digest()

    def sign(self, body: bytes, context: bytes | str | None = None) -> bytes:
        """``body`` signed for ``context`` (signing serializers only)."""
        signed = _HEADER.pack(int(time.time() * 1e6), os.urandom(8)) + body
        return self._digest(context, signed) + signed

    def verify(self, data: bytes, context: bytes | str | None = None) -> bytes:
        """The body of ``data`` signed for ``context``; ``SignatureError`` otherwise."""
        if len(data) < _SIGNED_OVERHEAD:
            raise SignatureError(f'payload of {len(data)} bytes is too short to be signed')
        if not hmac.compare_digest(data[:_DIGEST_SIZE], self._digest(context, data[_DIGEST_SIZE:])):
            raise SignatureError(
                'bad signature: the payload is unsigned, tampered with, signed with '
                'another signing_key, or copied from another key or queue'
            )
        return data[_SIGNED_OVERHEAD:]

    @staticmethod
    def signature(data: bytes) -> bytes:
        """The digest of a signed payload: unique to it (its nonce), so it names it."""
        return data[:_DIGEST_SIZE]

    @staticmethod
    def signed_at(data: bytes) -> float:
        """When a signed (and verified) payload was signed, in epoch seconds."""
        return _HEADER.unpack_from(data, _DIGEST_SIZE)[0] / 1e6

    def serialize(self, data: Any, context: bytes | str | None = None) -> bytes:
        """Return ``data`` as bytes (encoded, maybe compressed, maybe signed for ``context``)."""
        if self._plain:
            return self._dumps(data)
        body = self._dumps(data)
        if self.compression:
            body = self._compress(body)
        if self._mac is not None:
            body = self.sign(body, context)
        return body

    def deserialize(self, data: bytes, context: bytes | str | None = None) -> Any:
        """Inverse of ``serialize`` whatever the compression setting of the writer.

        ``SignatureError`` when signing is on and the signature (for
        ``context``) does not match; ``SerializationError`` on corrupt input.
        """
        if self._mac is not None:
            data = self.verify(data, context)
        try:
            if data[:1] in _COMPRESSED_FIRST:
                data = self._decompress(data)
            return self._loads(data)
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


#: the tag key of JSON objects that stand for a non-JSON value
_TAG = '$huey'
#: names of a task message's fields, so an error says ``args[1]``, not ``[7][1]``
_MESSAGE_FIELDS = (
    'id',
    'name',
    'eta',
    'retries',
    'retry',
    'priority',
    'expires',
    'args',
    'kwargs',
    'on_complete',
    'on_error',
    'chord',
)
_JSON_TYPES = (
    'None, bool, int, float, str, bytes, list, tuple, dict, datetime, date, time and timedelta'
)


class JSONSerializer(Serializer):
    """A serializer that cannot run code when decoding: JSON instead of pickle.

    Carries what a task message needs and what results usually are: None,
    bool, int, float (nan and inf too), str, bytes, list, tuple (kept a
    tuple), dict (any keys of these types), ``datetime`` (naive or aware),
    ``date``, ``time`` and ``timedelta``; a failed task's ``Error``; and the
    exception given to an ``on_error`` handler, which arrives as a
    ``TaskException`` holding its type, message and repr. Anything else (a
    set, a Decimal, a model instance...) raises ``TypeError`` at enqueue time
    naming the argument, e.g. ``args[1]``. Compression and signing work as
    with ``Serializer``; sign anyway, or whoever writes the storage still
    chooses which tasks run with which arguments.
    """

    def _dumps(self, data: Any) -> bytes:
        top = None
        if type(data) is tuple and len(data) in (11, 12) and type(data[1]) is str:
            top = _MESSAGE_FIELDS  # a task message
        encoded = _to_json(data, 'value', top)
        return json.dumps(encoded, separators=(',', ':'), ensure_ascii=False).encode('utf8')

    def _loads(self, data: bytes) -> Any:
        return _from_json(json.loads(data))


def _to_json(value: Any, path: str, fields: tuple | None = None) -> Any:
    """``value`` as JSON types; ``TypeError`` naming ``path`` if it has no JSON form."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value
    if kind is list:
        return [_to_json(item, f'{path}[{i}]') for i, item in enumerate(value)]
    if kind is tuple:
        names = fields or ()
        return {
            _TAG: 'tuple',
            'v': [
                _to_json(item, names[i] if i < len(names) else f'{path}[{i}]')
                for i, item in enumerate(value)
            ],
        }
    if kind is dict:
        if all(type(key) is str for key in value) and _TAG not in value:
            return {key: _to_json(item, f'{path}[{key!r}]') for key, item in value.items()}
        return {
            _TAG: 'dict',
            'v': [
                [_to_json(key, f'{path} key {key!r}'), _to_json(item, f'{path}[{key!r}]')]
                for key, item in value.items()
            ],
        }
    if kind is bytes:
        return {_TAG: 'bytes', 'v': base64.b64encode(value).decode('ascii')}
    if kind is datetime.datetime:
        return {_TAG: 'datetime', 'v': value.isoformat()}
    if kind is datetime.date:
        return {_TAG: 'date', 'v': value.isoformat()}
    if kind is datetime.time:
        return {_TAG: 'time', 'v': value.isoformat()}
    if kind is datetime.timedelta:
        return {_TAG: 'timedelta', 'v': [value.days, value.seconds, value.microseconds]}
    from huey_api.result import SKIPPED, Error  # result imports nothing of ours

    if kind is Error:
        return {_TAG: 'error', 'v': _to_json(value.metadata, f'{path}.metadata')}
    if value is SKIPPED:
        return {_TAG: 'skipped'}
    if isinstance(value, BaseException):  # what an on_error handler receives
        metadata = getattr(value, 'metadata', None) if kind is TaskException else None
        if not isinstance(metadata, dict):
            metadata = {
                'error': repr(value),
                'type': f'{kind.__module__}.{kind.__qualname__}',
                'message': str(value),
            }
        return {_TAG: 'exception', 'v': _to_json(metadata, f'{path}.metadata')}
    raise TypeError(
        f'JSONSerializer cannot encode {path}: {kind.__name__} {_short_repr(value)}; '
        f'pass {_JSON_TYPES}, or use the pickle Serializer'
    )


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        return '(unprintable)'
    return text if len(text) <= 60 else text[:57] + '...'


_DECODERS = {
    'tuple': lambda v: tuple(_from_json(item) for item in v),
    'dict': lambda v: {_from_json(key): _from_json(item) for key, item in v},
    'bytes': lambda v: base64.b64decode(v, validate=True),
    'datetime': datetime.datetime.fromisoformat,
    'date': datetime.date.fromisoformat,
    'time': datetime.time.fromisoformat,
    'timedelta': lambda v: datetime.timedelta(*v),
    'exception': lambda v: TaskException(_from_json(v)),
}


def _from_json(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_from_json(item) for item in value]
    if kind is not dict:
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {key: _from_json(item) for key, item in value.items()}
    if tag == 'error':
        from huey_api.result import Error

        return Error(_from_json(value['v']))
    if tag == 'skipped':
        from huey_api.result import SKIPPED

        return SKIPPED
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ValueError(f'unknown JSON tag {tag!r}')
    return decoder(value['v'])


def serializer_for(
    serializer: Serializer | str | None,
    compression: bool = False,
    use_zlib: bool = False,
    signing_key: bytes | str | None = None,
) -> Serializer:
    """``Huey(serializer=...)``: an instance as is, or ``'pickle'`` (default) / ``'json'``."""
    if serializer is None or serializer == 'pickle':
        return Serializer(compression=compression, use_zlib=use_zlib, signing_key=signing_key)
    if serializer == 'json':
        return JSONSerializer(compression=compression, use_zlib=use_zlib, signing_key=signing_key)
    if isinstance(serializer, str):
        raise ValueError(
            f"serializer={serializer!r}: use 'pickle', 'json' or a Serializer instance"
        )
    return serializer


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode('utf8') if isinstance(value, str) else value
