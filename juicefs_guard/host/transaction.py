"""Rollback for `init`: every step that changes the host registers how to undo it; a failure, Ctrl-C or
SIGTERM undoes them in reverse order, so a failed run leaves the host as it found it."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator


class Transaction:
    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], object]]] = []

    def on_rollback(self, what: str, action: Callable[[], object]) -> None:
        self._undo.append((what, action))

    def rollback(self) -> list[str]:
        problems = []
        while self._undo:
            what, action = self._undo.pop()
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - keep undoing the rest; report each problem
                problems.append(f"could not undo {what}: {exc}")
        return problems

    def commit(self) -> None:
        self._undo.clear()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def transaction() -> Iterator[Transaction]:
    """SIGTERM and SIGHUP become KeyboardInterrupt inside, so a killed run still rolls back."""
    tx = Transaction()
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield tx
    except BaseException:
        for problem in tx.rollback():
            print(f"juicefs-guard: {problem}", file=sys.stderr)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
