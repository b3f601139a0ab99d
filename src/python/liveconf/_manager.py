"""The guide's ``ConfigManager`` (async ``register``, ``get``, ``update``) on
liveconf's C++ ConfigManager: every config is a stack of layers (defaults, the
registered instance, files, the environment, etcd, runtime updates) merged by
priority with the source of every value kept, validated, and published as an
immutable snapshot.

The async methods never wait for I/O: each is one call into the core (the GIL
released meanwhile), so they may also be called without a loop through their
``*_now`` twins.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Type

from . import _core
from ._callbacks import Dispatcher, track
from ._config import BaseConfig, make_error
from ._env import guard_environ


class Subscription:
    """Delivery of changes to one callback; ``cancel()`` (or leaving a ``with``
    block) stops it: once it returns, the callback is not running."""

    def __init__(self, core_subscription: Any) -> None:
        self._sub = core_subscription

    def cancel(self) -> None:
        self._sub.cancel()

    @property
    def active(self) -> bool:
        return self._sub.active

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()


class ConfigManager:
    """Named, typed, live configurations::

        manager = ConfigManager()
        await manager.register("watched", config=WatchedConfig.from_dict(initial))
        manager.add_file_source("watched", "/etc/app/config.json", priority=10)
        cfg = await manager.get("watched")          # an immutable WatchedConfig
        await manager.update("watched", {"timeout": 60})
    """

    def __init__(self) -> None:
        self._core = _core.Manager()
        self._classes: Dict[str, Type[BaseConfig]] = {}
        self._readers: Dict[str, Any] = {}  # name -> the core's Reader of that config
        self._cache: Dict[str, Any] = {}  # name -> the typed object of its newest generation
        self._children: List[Any] = []  # MultiSourceConfigSync objects sharing the core
        track(self)

    # ---- registering

    async def register(
        self,
        name: str,
        config: Optional[BaseConfig] = None,
        *,
        cls: Optional[Type[BaseConfig]] = None,
        strict: bool = False,
        first_generation: int = 1,
    ) -> BaseConfig:
        """Registers ``config`` (its values become the "initial" layer above the
        class's defaults), or just the class ``cls``. Returns the first snapshot."""
        return self.register_now(
            name, config, cls=cls, strict=strict, first_generation=first_generation
        )

    def register_now(
        self,
        name: str,
        config: Optional[BaseConfig] = None,
        *,
        cls: Optional[Type[BaseConfig]] = None,
        strict: bool = False,
        first_generation: int = 1,
    ) -> BaseConfig:
        if config is not None and not isinstance(config, BaseConfig):
            raise TypeError("config must be a BaseConfig instance (or pass cls=)")
        klass = type(config) if config is not None else cls
        if klass is None or not issubclass(klass, BaseConfig):
            raise TypeError("register() needs a config instance or cls=<a BaseConfig subclass>")
        self._core.register(
            name,
            klass._liveconf_schema_document(),
            config.to_dict() if config is not None else None,
            strict,
            klass._liveconf_sensitive(),
            first_generation,
        )
        self._classes[name] = klass
        self._readers[name] = self._core.reader(name)
        return self.get_now(name)

    def unregister(self, name: str) -> None:
        self._core.unregister(name)
        self._classes.pop(name, None)
        self._readers.pop(name, None)
        self._cache.pop(name, None)

    # ---- reading

    async def get(self, name: str) -> Any:
        """The current config (an immutable object of the registered class)."""
        return self.get_now(name)

    def get_now(self, name: str) -> Any:
        reader = self._readers.get(name)
        if reader is None:
            raise make_error(f'no config named "{name}" in this ConfigManager', code="not_found")
        # One atomic load in the core while nothing changed, then the cached object.
        if reader.refresh() or name not in self._cache:
            return self._typed(name, reader.snapshot())
        return self._cache[name]

    def _typed(self, name: str, snapshot: Any) -> Any:
        cached = self._cache.get(name)
        if cached is not None and cached.generation == snapshot.generation:
            return cached
        klass = self._classes.get(name)
        if klass is None:
            raise make_error(f'no config named "{name}" in this ConfigManager', code="not_found")
        obj = klass._liveconf_from_tree(snapshot.tree(), snapshot)
        newest = self._cache.get(name)
        if newest is None or newest.generation < snapshot.generation:
            self._cache[name] = obj
        return obj

    def snapshot(self, name: str) -> Any:
        """The core's snapshot: generation, tree, layers, origins."""
        return self._core.snapshot(name)

    def explain(self, name: str, path: str) -> Dict[str, Any]:
        """Every layer's value for ``path`` and which won (secrets masked)."""
        return self._core.explain(name, path)

    def status(self, name: str) -> Dict[str, Any]:
        """Generation, counters, sources and their states, the last error."""
        return self._core.status(name)

    def export(self, name: str, format: str = "json", reveal_secrets: bool = False) -> str:
        return self._core.export(name, format, reveal_secrets)

    def names(self) -> List[str]:
        return self._core.names()

    # ---- changing

    async def update(self, name: str, data: Any, replace: bool = False) -> Any:
        """Applies ``data`` (a dict or a config) as a runtime override, validated
        and published as a new snapshot (returned). On an error nothing changes
        and liveconf.Error names the key."""
        return self.update_now(name, data, replace)

    def update_now(self, name: str, data: Any, replace: bool = False) -> Any:
        if isinstance(data, BaseConfig):
            data = data.to_dict()
        self._core.update(name, data, replace)
        return self.get_now(name)

    async def reload(self, name: str) -> Any:
        """Re-reads every source of ``name`` now; returns the config."""
        self._core.reload(name)
        return self.get_now(name)

    # ---- sources

    def add_file_source(
        self,
        name: str,
        path: Any,
        priority: int = 0,
        *,
        optional: bool = False,
        format: Optional[str] = None,
        debounce: float = 0.1,
        watch: str = "auto",
    ) -> None:
        """A JSON/YAML/TOML/INI/.env file (or conf.d directory), watched through
        every save pattern; higher priority wins."""
        self._core.add_file_source(
            name, os.fspath(path), priority, optional, format or "", debounce, watch, ""
        )

    def add_env_source(
        self, name: str, prefix: str = "", priority: int = 0, poll_interval: float = 1.0
    ) -> None:
        """The variables PREFIX_FIELD (and each field's env_var)."""
        guard_environ()
        self._core.add_env_source(name, prefix, priority, poll_interval)

    def add_etcd_source(
        self,
        name: str,
        endpoints: Sequence[str],
        prefix: str,
        priority: int = 0,
        *,
        optional: bool = False,
        initial_timeout: float = 10.0,
        layout: str = "tree",
        format: str = "",
    ) -> None:
        """The keys under ``prefix`` of an etcd cluster, watched live."""
        if not _core.HAS_ETCD:
            raise RuntimeError("this liveconf was built without etcd")
        self._core.add_etcd_source(
            name, list(endpoints), prefix, priority, optional, initial_timeout, layout, format
        )

    def remove_source(self, name: str, source: str) -> None:
        self._core.remove_source(name, source)

    # ---- subscribing

    def subscribe(
        self, name: str, callback: Callable[..., Any], prefix: str = ""
    ) -> Subscription:
        """Calls ``callback(old, new, changes)`` after each publish touching
        ``prefix``: ``old``/``new`` are the typed configs, ``changes`` a list of
        liveconf Change objects. A coroutine function runs on the event loop
        running now; a plain function on liveconf's dispatch thread."""
        dispatch = Dispatcher(callback, f"subscriber of {name!r}")

        def deliver(old_snap: Any, new_snap: Any, changes: list) -> None:
            dispatch(self._typed(name, old_snap), self._typed(name, new_snap), changes)

        return Subscription(self._core.subscribe(name, prefix, deliver))

    def close(self) -> None:
        """Stops every source and thread of this manager (also done when it is
        garbage-collected)."""
        self._cache.clear()
        self._readers.clear()
        for child in self._children:
            child._core = None
        self._children.clear()
        self._core = None  # type: ignore[assignment]

    def _liveconf_shutdown(self) -> None:
        self.close()
