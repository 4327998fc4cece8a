"""One lock for every command that changes or reads the registry: two `init`s, or a `rotate` beside an `audit`,
never interleave."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator

from juicefs_guard import paths
from juicefs_guard.errors import OperationFailed


@contextlib.contextmanager
def registry_lock(timeout: float = 120.0, *, shared: bool = False) -> Iterator[None]:
    fd = os.open(paths.LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        kind = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(fd, kind | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OperationFailed(
                        f"another juicefs-guard command holds {paths.LOCK_FILE} for over {timeout:.0f}s; "
                        "wait for it to finish and retry"
                    ) from None
                if not announced:
                    print(
                        f"juicefs-guard: waiting for another juicefs-guard command ({paths.LOCK_FILE})...",
                        file=sys.stderr,
                    )
                    announced = True
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
