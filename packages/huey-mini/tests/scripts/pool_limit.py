"""Four tasks that time.sleep() under monkey-patching; report peak concurrency.

Usage: pool_limit.py <pool_size|none>. Prints one JSON report line.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from huey_mini import MiniHuey  # noqa: E402

size = None if sys.argv[1] == 'none' else int(sys.argv[1])
mini = MiniHuey(pool_size=size)
active = peak = 0


@mini.task()
def sleeper(index):
    global active, peak
    active += 1
    peak = max(peak, active)
    time.sleep(0.1)
    active -= 1
    return index


results = [sleeper(i) for i in range(4)]
values = [result.get(timeout=30) for result in results]
print(json.dumps({'peak': peak, 'values': values}))
