"""Serializer: pickling, compression and signing."""

from __future__ import annotations

import pickle

import pytest
from huey import MemoryHuey, SerializationError, Serializer, SignatureError, SignedSerializer


@pytest.mark.parametrize(
    'options',
    [
        {},
        {'compression': True},
        {'compression': True, 'use_zlib': True},
        {'signing_key': b'k'},
        {'compression': True, 'signing_key': 'text key'},
    ],
)
def test_round_trip(options):
    serializer = Serializer(**options)
    value = {'a': [1, 2.5, None], 'b': ('x', b'y')}
    assert serializer.deserialize(serializer.serialize(value)) == value


def test_default_is_highest_protocol_pickle():
    assert Serializer().serialize([1]) == pickle.dumps([1], pickle.HIGHEST_PROTOCOL)


def test_corrupt_data_raises_serialization_error():
    with pytest.raises(SerializationError, match='cannot deserialize'):
        Serializer().deserialize(b'garbage')
    with pytest.raises(SerializationError):
        Serializer(compression=True).deserialize(b'garbage')


def test_signed_rejects_unsigned_tampered_and_other_key():
    signed = SignedSerializer('secret')
    data = signed.serialize('payload')
    with pytest.raises(SignatureError):
        signed.deserialize(Serializer().serialize('payload'))
    with pytest.raises(SignatureError):
        signed.deserialize(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(SignatureError):
        SignedSerializer('other').deserialize(data)
    with pytest.raises(SignatureError, match='too short'):
        signed.deserialize(b'x')
    with pytest.raises(ValueError):
        SignedSerializer('')


def test_compression_level_validated():
    with pytest.raises(ValueError, match='compression_level=12'):
        Serializer(compression=True, compression_level=12)


def test_signed_consumer_dead_letters_unsigned_messages_without_unpickling():
    huey = MemoryHuey('signed', signing_key=b'key')

    @huey.task()
    def add(a, b):
        return a + b

    evil = pickle.dumps(('x', add.name, None, 0, 0.0, None, None, (_Dangerous(),), {}, None, None))
    huey.storage.enqueue(evil)
    result = add(1, 2)
    delivery = huey.reserve()
    assert delivery.task.id == result.id
    [letter] = huey.dead_letters()
    assert 'bad signature' in letter.reason
    huey.execute_delivery(delivery)
    value = huey.storage.peek_data(result.id)
    with pytest.raises(SignatureError):  # results are signed too
        SignedSerializer(b'other key').deserialize(value)
    assert result() == 3


class _Dangerous:
    """Unpickling this calls ``_explode``: the signed consumer must never do it."""

    def __reduce__(self):
        return (_explode, ())


def _explode():
    raise AssertionError('unpickled an unsigned message')


def test_serializer_and_signing_key_together_is_an_error():
    from huey import ConfigurationError

    with pytest.raises(ConfigurationError, match='signing_key'):
        MemoryHuey(serializer=Serializer(), signing_key='k')


def test_compressed_huey_round_trip(run_all):
    huey = MemoryHuey(compression=True, use_zlib=True)

    @huey.task()
    def echo(x):
        return x

    result = echo('x' * 1000)
    assert len(huey.storage.enqueued_items()[0]) < 500
    run_all(huey)
    assert result() == 'x' * 1000
