"""watchdog's shapes (``Observer``, ``FileSystemEventHandler`` and the event
classes) driven by liveconf's watch backends, so the guide's watchdog code
runs with only its imports changed, and works:

- Events are settled changes, not syscalls. An editor's save (a temp file
  renamed over the target, vim's backup-and-write, an in-place write, a
  Kubernetes ConfigMap's symlink swap) is reported once, for the target, after
  the writer closed it, so a handler never reads half a file and never misses
  a save that watchdog would report only as a move from some temp name.
  A rewrite with the same bytes is no event.
- Handlers run on the asyncio event loop that was running when ``start()``
  was called (thread-safely scheduled), so ``asyncio.create_task`` in a
  handler works: in watchdog it runs on the observer's thread and raises
  "no running event loop". Without a running loop, handlers run on the
  watch's own thread, as in watchdog.
- A handler that raises is logged and counted; the observer goes on.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _core
from ._callbacks import Dispatcher, failed, running_loop, track

# ---- Events ---------------------------------------------------------------------------

EVENT_TYPE_CREATED = "created"
EVENT_TYPE_DELETED = "deleted"
EVENT_TYPE_MODIFIED = "modified"
EVENT_TYPE_MOVED = "moved"


class FileSystemEvent:
    event_type = ""
    is_directory = False
    is_synthetic = False

    def __init__(self, src_path: str, dest_path: str = "") -> None:
        self.src_path = src_path
        self.dest_path = dest_path

    def __eq__(self, other: Any) -> bool:
        return (
            type(other) is type(self)
            and other.src_path == self.src_path
            and other.dest_path == self.dest_path
        )

    def __hash__(self) -> int:
        return hash((type(self), self.src_path, self.dest_path))

    def __repr__(self) -> str:
        dest = f", dest_path={self.dest_path!r}" if self.dest_path else ""
        return f"<{type(self).__name__}: src_path={self.src_path!r}{dest}>"


class FileCreatedEvent(FileSystemEvent):
    event_type = EVENT_TYPE_CREATED


class FileDeletedEvent(FileSystemEvent):
    event_type = EVENT_TYPE_DELETED


class FileModifiedEvent(FileSystemEvent):
    event_type = EVENT_TYPE_MODIFIED


class FileMovedEvent(FileSystemEvent):
    event_type = EVENT_TYPE_MOVED


class DirCreatedEvent(FileCreatedEvent):
    is_directory = True


class DirDeletedEvent(FileDeletedEvent):
    is_directory = True


class DirModifiedEvent(FileModifiedEvent):
    is_directory = True


class DirMovedEvent(FileMovedEvent):
    is_directory = True


_EVENT_CLASSES = {
    (EVENT_TYPE_CREATED, False): FileCreatedEvent,
    (EVENT_TYPE_DELETED, False): FileDeletedEvent,
    (EVENT_TYPE_MODIFIED, False): FileModifiedEvent,
    (EVENT_TYPE_MOVED, False): FileMovedEvent,
    (EVENT_TYPE_CREATED, True): DirCreatedEvent,
    (EVENT_TYPE_DELETED, True): DirDeletedEvent,
    (EVENT_TYPE_MODIFIED, True): DirModifiedEvent,
    (EVENT_TYPE_MOVED, True): DirMovedEvent,
}


class FileSystemEventHandler:
    """Override the ``on_*`` methods you need; ``dispatch`` routes each event."""

    def dispatch(self, event: FileSystemEvent) -> None:
        self.on_any_event(event)
        getattr(self, f"on_{event.event_type}")(event)

    def on_any_event(self, event: FileSystemEvent) -> None:
        pass

    def on_created(self, event: FileSystemEvent) -> None:
        pass

    def on_deleted(self, event: FileSystemEvent) -> None:
        pass

    def on_modified(self, event: FileSystemEvent) -> None:
        pass

    def on_moved(self, event: FileSystemEvent) -> None:
        pass

    def on_closed(self, event: FileSystemEvent) -> None:
        pass

    def on_opened(self, event: FileSystemEvent) -> None:
        pass


# ---- Observer --------------------------------------------------------------------------


class ObservedWatch:
    def __init__(self, path: str, recursive: bool) -> None:
        self.path = path
        self.is_recursive = recursive

    def __repr__(self) -> str:
        return f"<ObservedWatch: path={self.path!r}, is_recursive={self.is_recursive}>"


class Observer:
    """watchdog's Observer: ``schedule(handler, path, recursive=False)``,
    ``start()``, ``stop()``, ``join()``. ``settle`` is the quiet period (s)
    after the last change before a directory is compared."""

    def __init__(self, timeout: float = 1.0, settle: float = 0.02) -> None:
        self.timeout = timeout
        self.settle = settle
        self._lock = threading.Lock()
        self._handlers: List[Tuple[FileSystemEventHandler, ObservedWatch]] = []
        self._cores: Dict[int, Any] = {}  # id of the (handler, watch) pair -> DirectoryWatch
        self._loop: Any = None
        self._alive = False
        self._stopped = threading.Event()
        track(self)

    def _liveconf_shutdown(self) -> None:
        self.stop()

    def schedule(
        self, event_handler: FileSystemEventHandler, path: Any, recursive: bool = False
    ) -> ObservedWatch:
        watch = ObservedWatch(os.fspath(path), recursive)
        pair = (event_handler, watch)
        with self._lock:
            self._handlers.append(pair)
            alive = self._alive
        if alive:
            self._start_one(pair)
        return watch

    def unschedule(self, watch: ObservedWatch) -> None:
        with self._lock:
            pairs = [p for p in self._handlers if p[1] is watch]
            self._handlers = [p for p in self._handlers if p[1] is not watch]
            cores = [self._cores.pop(id(p), None) for p in pairs]
        for core in cores:
            if core is not None:
                core.stop()

    def unschedule_all(self) -> None:
        with self._lock:
            cores = list(self._cores.values())
            self._cores.clear()
            self._handlers = []
        for core in cores:
            core.stop()

    def start(self) -> None:
        with self._lock:
            if self._alive:
                return
            self._alive = True
            self._stopped.clear()
            self._loop = running_loop()
            pairs = list(self._handlers)
        for pair in pairs:
            self._start_one(pair)

    def _start_one(self, pair: Tuple[FileSystemEventHandler, ObservedWatch]) -> None:
        handler, watch = pair
        loop = self._loop

        def on_events(raw: list) -> None:
            events = [
                _EVENT_CLASSES[(kind, is_dir)](src, dest or "") for kind, src, dest, is_dir in raw
            ]
            if loop is not None and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(self._dispatch, handler, events)
                    return
                except RuntimeError:
                    return  # the loop closed meanwhile
            self._dispatch(handler, events)

        core = _core.DirectoryWatch(watch.path, watch.is_recursive, self.settle, on_events)
        core.start()
        with self._lock:
            if not self._alive:
                core.stop()
                return
            self._cores[id(pair)] = core

    def _dispatch(self, handler: FileSystemEventHandler, events: List[FileSystemEvent]) -> None:
        if not self._alive:
            return
        for event in events:
            try:
                handler.dispatch(event)
            except Exception:
                failed(f"{type(handler).__name__}.dispatch({event!r})")

    def stop(self) -> None:
        with self._lock:
            self._alive = False
            cores = list(self._cores.values())
            self._cores.clear()
        for core in cores:
            core.stop()
        self._stopped.set()

    def join(self, timeout: Optional[float] = None) -> None:
        if not self._alive and not self._stopped.is_set():
            return  # never started
        self._stopped.wait(timeout)

    def is_alive(self) -> bool:
        return self._alive

    def __enter__(self) -> "Observer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        self.join()


# ---- The guide's watchers, working ---------------------------------------------------------


class ConfigFileWatcher(FileSystemEventHandler):
    """The guide's ``ConfigFileWatcher(file_path, reload_callback)``: calls
    ``reload_callback()`` (a coroutine function or a plain one) after every
    save of ``file_path``, whatever the save pattern (in place, temp file
    renamed over, vim's backup-and-write, a ConfigMap symlink swap, created).

    Schedule it on an Observer as in the guide, or use ``start()``/``stop()``.
    """

    def __init__(self, file_path: Any, reload_callback: Callable[..., Any]) -> None:
        self.file_path = Path(file_path)
        self.reload_callback = reload_callback
        self._dispatch: Optional[Dispatcher] = None
        self._observer: Optional[Observer] = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        hit = (
            event.event_type in (EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED)
            and Path(event.src_path) == self.file_path
        ) or (event.event_type == EVENT_TYPE_MOVED and Path(event.dest_path) == self.file_path)
        if hit:
            if self._dispatch is None:
                self._dispatch = Dispatcher(self.reload_callback, f"reload of {self.file_path}")
            self._dispatch()

    def start(self) -> None:
        """Watches the file's directory with an Observer of its own."""
        if self._observer is None:
            self._dispatch = Dispatcher(self.reload_callback, f"reload of {self.file_path}")
            self._observer = Observer()
            self._observer.schedule(self, str(self.file_path.parent))
            self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer = None


class MultiFileConfigWatcher(FileSystemEventHandler):
    """The guide's ``MultiFileConfigWatcher``: ``add_file(path, name, callback,
    debounce_delay=0.5)``; each file's callback runs once its saves have been
    quiet for its ``debounce_delay``. Schedule it on an Observer (the guide's
    way; ``recursive=True`` for files in subdirectories) or use
    ``start()``/``stop()``."""

    def __init__(self) -> None:
        self.watched_files: Dict[Path, str] = {}
        self.reload_callbacks: Dict[str, Callable[..., Any]] = {}
        self.debounce_delays: Dict[Path, float] = {}
        self._lock = threading.Lock()
        self._timers: Dict[str, Any] = {}
        self._dispatchers: Dict[str, Dispatcher] = {}
        self._observer: Optional[Observer] = None

    def add_file(
        self,
        file_path: Any,
        config_name: str,
        reload_callback: Callable[..., Any],
        debounce_delay: float = 0.5,
    ) -> None:
        path = Path(file_path)
        self.watched_files[path] = config_name
        self.reload_callbacks[config_name] = reload_callback
        self.debounce_delays[path] = debounce_delay

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type == EVENT_TYPE_DELETED:
            return
        path = Path(event.dest_path if event.event_type == EVENT_TYPE_MOVED else event.src_path)
        name = self.watched_files.get(path)
        if name is not None:
            self._schedule(name, self.debounce_delays[path])

    def _schedule(self, name: str, delay: float) -> None:
        loop = running_loop()
        with self._lock:
            old = self._timers.pop(name, None)
            if old is not None:
                old.cancel()
            if loop is not None:
                self._timers[name] = loop.call_later(delay, self._fire, name)
            else:
                timer = threading.Timer(delay, self._fire, (name,))
                timer.daemon = True
                self._timers[name] = timer
                timer.start()

    def _fire(self, name: str) -> None:
        with self._lock:
            self._timers.pop(name, None)
            dispatch = self._dispatchers.get(name)
            if dispatch is None:
                dispatch = Dispatcher(self.reload_callbacks[name], f"reload of {name}")
                self._dispatchers[name] = dispatch
        dispatch()

    def start(self) -> None:
        """Watches every added file's directory with an Observer of its own."""
        if self._observer is not None:
            return
        self._observer = Observer()
        for directory in sorted({p.parent for p in self.watched_files}):
            self._observer.schedule(self, str(directory))
        self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer = None
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
