"""liveconf: live, typed, layered configuration on a C++ core.

The names of the "Configuration Watchers" guide, working::

    from liveconf import BaseConfig, ConfigManager, define, field

    @define
    class WatchedConfig(BaseConfig):
        timeout: int = field(default=30, description="Request timeout")

    manager = ConfigManager()
    await manager.register("watched", config=WatchedConfig())
    manager.add_file_source("watched", "config.json", priority=10)  # live from here on
    cfg = await manager.get("watched")

docs/python.md is the guide to this package.
"""

from . import _core, events
from ._callbacks import callback_calls, callback_errors
from ._config import (
    BaseConfig,
    Field,
    FrozenInstanceError,
    RuntimeConfig,
    define,
    env_field,
    field,
)
from ._env import EnvironmentWatcher, guard_environ
from ._manager import ConfigManager, Subscription
from ._sync import MultiSourceConfigSync
from ._watchdog import (
    ConfigFileWatcher,
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    MultiFileConfigWatcher,
    ObservedWatch,
    Observer,
)

Error = _core.Error
Change = _core.Change
Snapshot = _core.Snapshot
__version__ = _core.__version__
HAS_ETCD: bool = _core.HAS_ETCD


def get_env(name: str):
    """NAME from the C environment (under liveconf's lock), or None."""
    return _core.get_env(name)


def set_env(name: str, value: str) -> None:
    """setenv under liveconf's lock; every watcher sees it at once."""
    _core.set_env(name, value)


def unset_env(name: str) -> None:
    _core.unset_env(name)


def parse(text: str, format: str, name: str = "<string>"):
    """Parses JSON/YAML/TOML/INI/.env text into dicts and lists; errors carry
    file (``name``), line and column."""
    return _core.parse(text, format, name)


__all__ = [
    "BaseConfig",
    "Change",
    "ConfigFileWatcher",
    "ConfigManager",
    "DirCreatedEvent",
    "DirDeletedEvent",
    "DirModifiedEvent",
    "DirMovedEvent",
    "EnvironmentWatcher",
    "Error",
    "Field",
    "FileCreatedEvent",
    "FileDeletedEvent",
    "FileModifiedEvent",
    "FileMovedEvent",
    "FileSystemEvent",
    "FileSystemEventHandler",
    "FrozenInstanceError",
    "HAS_ETCD",
    "MultiFileConfigWatcher",
    "MultiSourceConfigSync",
    "ObservedWatch",
    "Observer",
    "RuntimeConfig",
    "Snapshot",
    "Subscription",
    "callback_calls",
    "callback_errors",
    "define",
    "env_field",
    "events",
    "field",
    "get_env",
    "guard_environ",
    "parse",
    "set_env",
    "unset_env",
]
