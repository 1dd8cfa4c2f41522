"""Reading goes by the payload's own format: compression can change one side at a time."""

from __future__ import annotations

import pickle

import pytest
from huey import MemoryHuey, SignatureError, SignedSerializer
from huey.serializer import Serializer

VALUES = [None, 0, 1, b'a' * 1024, ['k1', 'k2'], {'k': 'v'}]
WRITERS = [
    Serializer(),
    Serializer(compression=True),
    Serializer(compression=True, use_zlib=True),
    Serializer(protocol=2),
    Serializer(protocol=0),
]
READERS = [
    Serializer(),
    Serializer(compression=True),
    Serializer(compression=True, use_zlib=True),
]


@pytest.mark.parametrize('writer', WRITERS)
@pytest.mark.parametrize('reader', READERS)
def test_any_reader_reads_any_writer(writer, reader):
    for value in VALUES:
        assert reader.deserialize(writer.serialize(value)) == value


def test_compression_flags_decide_what_is_written():
    big = 'x' * 2000
    assert Serializer(compression=True).serialize(big)[:2] == b'\x1f\x8b'  # gzip
    assert Serializer(compression=True, use_zlib=True).serialize(big)[:1] == b'x'  # zlib
    assert Serializer().serialize(big) == pickle.dumps(big, pickle.HIGHEST_PROTOCOL)


def test_pickle_protocol_is_hueys_name_for_protocol():
    assert Serializer(pickle_protocol=2).serialize([1]) == pickle.dumps([1], 2)


def test_signed_payloads_are_verified_before_decompression():
    writer = SignedSerializer('k', compression=True)
    reader = SignedSerializer('k')
    assert reader.deserialize(writer.serialize({'a': 1})) == {'a': 1}
    with pytest.raises(SignatureError):
        reader.deserialize(Serializer(compression=True).serialize({'a': 1}))


def test_secret_and_salt_as_huey_spells_them():
    plain = SignedSerializer(secret='s')
    assert SignedSerializer('s').deserialize(plain.serialize(1)) == 1
    salted = SignedSerializer(secret='s', salt='app-a')
    assert SignedSerializer(secret='s', salt='app-a').deserialize(salted.serialize(2)) == 2
    with pytest.raises(SignatureError):
        SignedSerializer(secret='s', salt='app-b').deserialize(salted.serialize(2))
    with pytest.raises(ValueError, match='non-empty signing_key'):
        SignedSerializer(secret='')


def test_consumer_with_compression_runs_tasks_from_a_producer_without(run_all):
    producer = MemoryHuey('formats')
    consumer = MemoryHuey('formats', compression=True, use_zlib=True)
    consumer.storage = producer.storage

    @producer.task()
    def echo(value):
        return value

    consumer.task(name=echo.name)(echo.func)
    result = echo('hello')
    assert run_all(consumer) == 1
    assert result() == 'hello'
