"""Rollback for `init`: every step that changes the host registers how to undo it; a failure, Ctrl-C or
SIGTERM undoes them in reverse order, so a failed run leaves the host as it found it.

A change and the registration of its undo happen inside `tx.step()`, with SIGINT, SIGTERM and SIGHUP held back:
a signal that arrives between the two would otherwise leave a change that nothing undoes. It is delivered as
soon as the step ends. The rollback itself runs with them held back too, so a second signal cannot cut it
short."""

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

    def step(self) -> contextlib.AbstractContextManager[None]:
        """Around one change and its `on_rollback`: no signal lands between them."""
        return holding_signals()

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


ABORT_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


@contextlib.contextmanager
def holding_signals() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ABORT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
        with holding_signals():
            problems = tx.rollback()
        for problem in problems:
            print(f"juicefs-guard: {problem}", file=sys.stderr)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
