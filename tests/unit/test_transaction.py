"""The rollback's guarantee against signals, with a real SIGTERM sent to this process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from juicefs_guard.host.transaction import transaction


def test_a_signal_between_a_change_and_its_undo_waits_for_the_undo(tmp_path: Path) -> None:
    made = tmp_path / "made"
    with pytest.raises(KeyboardInterrupt):
        with transaction() as tx:
            with tx.step():
                made.write_text("change")
                os.kill(os.getpid(), signal.SIGTERM)  # lands after the change, before its undo is known
                tx.on_rollback("the change", made.unlink)
    assert not made.exists()


def test_a_second_signal_does_not_cut_the_rollback_short(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"

    def undo_second_and_get_killed() -> None:
        second.unlink()
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(BaseException):  # noqa: B017, PT011 - whichever interruption ends it, both are undone
        with transaction() as tx:
            for path, undo in ((first, first.unlink), (second, undo_second_and_get_killed)):
                with tx.step():
                    path.write_text("change")
                    tx.on_rollback(path.name, undo)
            raise RuntimeError("a step failed")
    assert not first.exists() and not second.exists()
