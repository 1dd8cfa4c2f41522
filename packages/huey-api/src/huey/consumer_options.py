"""``huey.consumer_options``: consumer settings and the command-line parser,
from the huey-consumer distribution."""

from huey._optional import load

__all__ = ['ConsumerConfig', 'OptionParserHandler']

ConsumerConfig = load('huey.consumer_options', 'huey_consumer', 'ConsumerConfig', 'huey-consumer')
OptionParserHandler = load(
    'huey.consumer_options', 'huey_consumer', 'OptionParserHandler', 'huey-consumer'
)
