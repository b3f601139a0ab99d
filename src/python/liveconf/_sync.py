"""The guide's ``MultiSourceConfigSync`` on liveconf's core: files, the
environment and etcd merged by priority (lower number wins, the guide's rule),
the source of every key tracked, and re-synced by itself whenever a source
changes (``sync_configuration`` forces a re-read now)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

from . import _core
from ._env import guard_environ
from ._manager import ConfigManager, Subscription


class MultiSourceConfigSync:
    """Sources for the config ``config_name`` of ``manager``::

        sync = MultiSourceConfigSync("synced", manager)
        sync.add_file_source(Path("config.json"), priority=30)   # lowest
        sync.add_env_source("MYAPP", priority=10)                # highest
        config = await sync.sync_configuration()
    """

    def __init__(self, config_name: str, manager: ConfigManager, debounce: float = 0.1) -> None:
        self.config_name = config_name
        self.manager = manager
        self.sources: Dict[str, Dict[str, Any]] = {}
        self.last_sync_time = 0.0
        self._core = _core.Sync(manager._core, config_name, debounce)
        manager._children.append(self)

    def add_file_source(self, file_path: Any, priority: int = 10) -> None:
        """A JSON/YAML/TOML/INI/.env file; a missing one contributes nothing until it appears."""
        path = os.fspath(file_path)
        self._core.add_file_source(path, priority, "")
        self.sources[f"file:{path}"] = {"type": "file", "path": Path(path), "priority": priority}

    def add_env_source(self, env_prefix: str, priority: int = 20) -> None:
        """The variables ``PREFIX_FIELD`` (``MYAPP_RATE_LIMIT`` -> ``rate_limit``)."""
        guard_environ()
        self._core.add_env_source(env_prefix, priority, 1.0)
        self.sources[f"env:{env_prefix}"] = {"type": "env", "prefix": env_prefix, "priority": priority}

    def add_etcd_source(
        self, endpoints: Sequence[str], prefix: str, priority: int = 5, optional: bool = False
    ) -> None:
        """The keys under ``prefix`` in etcd (``prefix/db/port`` -> ``db.port``)."""
        if not _core.HAS_ETCD:
            raise RuntimeError("this liveconf was built without etcd")
        self._core.add_etcd_source(list(endpoints), prefix, priority, optional, 10.0)
        self.sources[f"etcd:{prefix}"] = {"type": "etcd", "prefix": prefix, "priority": priority}

    async def sync_configuration(self) -> Optional[Any]:
        """Re-reads every source now and returns the merged config."""
        self._core.sync()
        try:
            self.last_sync_time = asyncio.get_running_loop().time()
        except RuntimeError:
            pass
        return self.manager.get_now(self.config_name)

    def get_source_info(self) -> Dict[str, str]:
        """``{key: source}`` for every key a source set ("file:/path",
        "env:MYAPP", ...): the guide's source tracking. Keys left at their
        defaults are not listed; ``explain(key)`` has the whole story."""
        return {
            path: source
            for path, source, _ in self._core.sources_of()
            if source not in ("defaults", "initial")
        }

    def explain(self, key: str) -> str:
        """Every source's value for ``key``, with file:line:col, and which won."""
        return self.manager.snapshot(self.config_name).explain_text(key)

    def on_change(self, callback: Callable[..., Any]) -> Subscription:
        """``callback(old, new, changes)`` after each re-sync that changed something."""
        return self.manager.subscribe(self.config_name, callback)
