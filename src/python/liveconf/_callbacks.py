"""Running user callbacks: plain functions where the event happens, coroutines on
the event loop that was running when the watch started.

An exception in a callback is logged (logger "liveconf") and counted
(:func:`callback_errors`); it never stops a watcher.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import logging
import threading
import weakref
from typing import Any, Callable, Optional

log = logging.getLogger("liveconf")

_lock = threading.Lock()
_counts = {"calls": 0, "errors": 0}


def callback_errors() -> int:
    """How many callbacks raised so far, in this process (all watchers)."""
    with _lock:
        return _counts["errors"]


def callback_calls() -> int:
    """How many callbacks ran so far, in this process (all watchers)."""
    with _lock:
        return _counts["calls"]


def _count(key: str) -> None:
    with _lock:
        _counts[key] += 1


def failed(what: str) -> None:
    """Logs the exception being handled as a failed callback, and counts it."""
    _count("errors")
    log.exception("liveconf: %s raised", what)


def running_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def is_coroutine_function(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)
    )


class Dispatcher:
    """Calls `fn(*args)`: a coroutine function as a task on `loop` (scheduled
    thread-safely), a plain function on the calling thread. A plain function
    that returns an awaitable has it scheduled on `loop` the same way."""

    __slots__ = ("fn", "what", "loop", "is_async", "_tasks")

    def __init__(
        self,
        fn: Callable[..., Any],
        what: str,
        loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"{what} must be callable, not {type(fn).__name__}")
        self.fn = fn
        self.what = what
        self.loop = loop if loop is not None else running_loop()
        self.is_async = is_coroutine_function(fn)
        self._tasks: set = set()  # running tasks keep a reference (asyncio holds weak ones)

    def __call__(self, *args: Any) -> None:
        _count("calls")
        if self.is_async:
            self._schedule(args, None)
            return
        try:
            result = self.fn(*args)
        except Exception:
            failed(self.what)
            return
        if inspect.isawaitable(result):
            self._schedule(args, result)

    def _schedule(self, args: tuple, awaitable: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            if awaitable is not None and inspect.iscoroutine(awaitable):
                awaitable.close()
            _count("errors")
            log.error(
                "liveconf: %s is a coroutine function but no event loop was running when "
                "the watch started; start it from async code",
                self.what,
            )
            return
        try:
            if running_loop() is loop:
                self._start(args, awaitable)
            else:
                loop.call_soon_threadsafe(self._start, args, awaitable)
        except RuntimeError:  # the loop closed meanwhile
            if awaitable is not None and inspect.iscoroutine(awaitable):
                awaitable.close()

    def _start(self, args: tuple, awaitable: Any) -> None:
        task = self.loop.create_task(self._await(args, awaitable))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await(self, args: tuple, awaitable: Any) -> None:
        try:
            await (awaitable if awaitable is not None else self.fn(*args))
        except asyncio.CancelledError:
            raise
        except Exception:
            failed(self.what)


# Objects that own liveconf threads (managers, observers, watchers), stopped at
# interpreter exit before the core stops taking the GIL for callbacks.
_live: "weakref.WeakSet[Any]" = weakref.WeakSet()


def track(obj: Any) -> None:
    """Registers `obj` (with a `_liveconf_shutdown()` method) to be stopped at exit."""
    _live.add(obj)


@atexit.register
def _shutdown() -> None:
    for obj in list(_live):
        try:
            obj._liveconf_shutdown()
        except Exception:  # exiting anyway: nothing left to tell
            pass
