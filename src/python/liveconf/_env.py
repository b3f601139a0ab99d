"""The guide's ``EnvironmentWatcher`` on liveconf's C++ watcher: it polls the C
environment (what ``os.environ`` writes, and what C code's ``setenv`` writes,
which ``os.environ`` never sees) and calls back with ``{name: (old, new)}``.

``os.environ[...] = ...`` calls ``os.putenv``, which is C's ``setenv`` without
liveconf's environment lock: a liveconf thread reading the environment at that
moment is undefined behaviour in C. :func:`guard_environ` (called by every
watcher's ``start`` and by ``ConfigManager.add_env_source``) routes
``os.putenv``/``os.unsetenv`` through liveconf's lock, which also wakes every
watcher at once instead of at its next poll.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _core
from ._callbacks import Dispatcher, running_loop, track

_guard_lock = threading.Lock()
_guarded = False
_original_putenv = os.putenv
_original_unsetenv = os.unsetenv


def _text(value: Any) -> str:
    return os.fsdecode(value) if isinstance(value, (bytes, bytearray)) else str(value)


def _putenv(key: Any, value: Any) -> None:
    name = _text(key)
    if not name or "=" in name or "\0" in name:
        raise ValueError("illegal environment variable name")
    text = _text(value)
    if "\0" in text:
        raise ValueError("embedded null byte")
    _core.set_env(name, text)


def _unsetenv(key: Any) -> None:
    name = _text(key)
    if not name or "=" in name or "\0" in name:
        raise ValueError("illegal environment variable name")
    _core.unset_env(name)


def guard_environ(enable: bool = True) -> None:
    """Makes ``os.environ`` changes (``os.putenv``/``os.unsetenv``) go through
    liveconf's environment lock and wake liveconf's watchers at once.
    ``guard_environ(False)`` restores Python's own functions."""
    global _guarded
    with _guard_lock:
        if enable and not _guarded:
            os.putenv = _putenv  # os.environ looks these up at each call
            os.unsetenv = _unsetenv
            _guarded = True
        elif not enable and _guarded:
            os.putenv = _original_putenv
            os.unsetenv = _original_unsetenv
            _guarded = False


Changes = Dict[str, Tuple[str, str]]


class EnvironmentWatcher:
    """Watches environment variables; callbacks get ``{name: (old, new)}`` for
    the variables they watch that changed in one poll ("" for unset, as the
    guide's ``os.getenv(name, "")``). Callbacks may be coroutine functions (run
    on the loop that called ``start``) or plain functions (run on the watcher's
    thread). A callback that raises is logged and counted; the watcher goes on.
    """

    def __init__(self, poll_interval: float = 5.0) -> None:
        self.poll_interval = poll_interval
        self.watched_vars: Dict[str, str] = {}  # name -> the value last seen
        self.callbacks: Dict[str, List[Callable[..., Any]]] = {}
        self._watches: List[Tuple[List[str], Callable[..., Any]]] = []
        self._core: Optional[Any] = None
        self._running = False
        track(self)

    def watch_var(self, var_name: str, callback: Callable[..., Any]) -> None:
        """Calls ``callback(changes)`` when ``var_name`` changes."""
        self.watch_vars([var_name], callback)

    def watch_vars(self, var_names: List[str], callback: Callable[..., Any]) -> None:
        """Calls ``callback(changes)`` once per poll with every change among ``var_names``."""
        names = list(var_names)
        for name in names:
            self.watched_vars[name] = _core.get_env(name) or ""
            self.callbacks.setdefault(name, []).append(callback)
        self._watches.append((names, callback))
        if self._core is not None:
            self._add(names, callback, running_loop())

    def _add(self, names: List[str], callback: Callable[..., Any], loop: Any) -> None:
        dispatch = Dispatcher(callback, f"environment callback for {', '.join(names)}", loop)

        def on_changes(raw: Dict[str, Tuple[Optional[str], Optional[str]]]) -> None:
            changes = {k: (old or "", new or "") for k, (old, new) in raw.items()}
            for k, (_, new) in changes.items():
                self.watched_vars[k] = new
            dispatch(changes)

        assert self._core is not None
        self._core.watch_vars(names, on_changes)

    async def start(self) -> None:
        """Starts polling (every ``poll_interval`` s; a change made through
        ``os.environ`` or :func:`liveconf.set_env` is seen at once)."""
        self.start_now()

    def start_now(self) -> None:
        if self._running:
            return
        guard_environ()
        loop = running_loop()
        self._core = _core.EnvWatcher(self.poll_interval)
        for names, callback in self._watches:
            self._add(names, callback, loop)
        self._core.start()
        self._running = True

    async def stop(self) -> None:
        """Stops polling; once it returns no callback runs."""
        self.stop_now()

    def stop_now(self) -> None:
        self._running = False
        if self._core is not None:
            self._core.stop()
            self._core = None

    def _liveconf_shutdown(self) -> None:
        self.stop_now()

    @property
    def running(self) -> bool:
        return self._running
