"""Stopping a command by a signal: Ctrl-C (SIGINT), SIGTERM and SIGHUP unwind the job alike.

While a command runs, each of them raises :class:`Stopped` in the main thread, and later ones are
ignored so they cannot cut the clean-up short. The signal is also recorded: an exception raised
while the main thread happens to run a finaliser (``__del__``, a weakref callback) is printed by
Python as "Exception ignored" and lost, so :func:`raise_if_stopped`, called with every frame's
progress, raises it again.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Stopped", "exit_stopped", "raise_if_stopped", "stopped_by_signals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))
_received: list[int] = []  # the first stop signal of this command, once it has arrived


class Stopped(BaseException):
    """Raised by a stop signal (outside ``Exception``, as ``KeyboardInterrupt`` is)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, _frame: object) -> None:
    for kind in _SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(kind, signal.SIG_IGN)
    _received.append(signum)
    raise Stopped(signum)


def raise_if_stopped() -> None:
    """Raise :class:`Stopped` if a stop signal arrived during the command (from any thread)."""
    if _received:
        raise Stopped(_received[0])


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """The stop signals raise :class:`Stopped` while the block runs (main thread only).

    A signal the process was started with ignored (SIGINT in a background job, SIGHUP under
    ``nohup``) stays ignored.
    """
    _received.clear()
    try:
        previous = {kind: signal.getsignal(kind) for kind in _SIGNALS}
        for kind, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(kind, _stop)
    except ValueError:  # not the main thread (an embedding program): leave its signals alone
        yield
        return
    try:
        yield
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler if handler is not None else signal.SIG_DFL)
        _received.clear()


def exit_stopped(signum: int = signal.SIGINT) -> None:
    """One line on stderr and the conventional exit status 128 + signal."""
    name = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    print(f"restore: {name}; no output was written", file=sys.stderr)
    sys.exit(128 + signum)
