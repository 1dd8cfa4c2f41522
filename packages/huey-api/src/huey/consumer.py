"""``huey.consumer``: the consumer, from the huey-consumer distribution."""

from huey._optional import load


def _consumer(name: str):
    return load('huey.consumer', 'huey_consumer', name, 'huey-consumer')


Consumer = _consumer('Consumer')
ConsumerStopped = _consumer('ConsumerStopped')
ForkSafeFlag = _consumer('ForkSafeFlag')
GreenletEnvironment = _consumer('GreenletEnvironment')
ProcessEnvironment = _consumer('ProcessEnvironment')
Scheduler = _consumer('Scheduler')
ThreadEnvironment = _consumer('ThreadEnvironment')
WORKER_TO_ENVIRONMENT = _consumer('WORKER_TO_ENVIRONMENT')
Worker = _consumer('Worker')

__all__ = [
    'Consumer',
    'ConsumerStopped',
    'ForkSafeFlag',
    'GreenletEnvironment',
    'ProcessEnvironment',
    'Scheduler',
    'ThreadEnvironment',
    'WORKER_TO_ENVIRONMENT',
    'Worker',
]
