"""The guide's "Multi-Source Synchronization" example with only the imports
changed (its MultiSourceConfigSync class is liveconf's) and its slips fixed
(JavaScript `false` -> `False`), its directory moved into the test's own.
Then what the guide's sync cannot do: re-sync by itself when a source
changes."""

import asyncio
import json
import os
from pathlib import Path
from typing import Dict, Any, Optional

import pytest

from conftest import async_wait_until, atomic_write

# ---- the guide's imports, changed ----
from liveconf import BaseConfig, ConfigManager, field, define
from liveconf import MultiSourceConfigSync

WORK_DIR = Path("/tmp")  # set per test (the guide uses /tmp/config_sync)
RESULTS = {}

# ---- the guide's code, unchanged from here (its MultiSourceConfigSync class is imported) ----


@define
class SyncedConfig(BaseConfig):
    """Configuration that synchronizes across multiple sources."""

    feature_enabled: bool = field(default=False, description="Feature enabled")
    rate_limit: int = field(default=100, description="Rate limit")
    timeout_ms: int = field(default=5000, description="Timeout milliseconds")
    api_version: str = field(default="v1", description="API version")


async def multi_source_sync_example():
    """Example of multi-source configuration synchronization."""

    # Setup temporary files and environment
    config_dir = WORK_DIR / "config_sync"  # the guide: Path("/tmp/config_sync")
    config_dir.mkdir(exist_ok=True)

    # Primary config file (low priority)
    primary_config = config_dir / "config.json"
    primary_config.write_text(json.dumps({
        "feature_enabled": False,  # the guide: false
        "rate_limit": 100,
        "timeout_ms": 5000,
        "api_version": "v1"
    }, indent=2))

    # Override config file (medium priority)
    override_config = config_dir / "overrides.json"
    override_config.write_text(json.dumps({
        "rate_limit": 200,
        "timeout_ms": 10000
    }, indent=2))

    # Environment variables (high priority)
    import os
    os.environ["MYAPP_FEATURE_ENABLED"] = "true"
    os.environ["MYAPP_API_VERSION"] = "v2"

    # Setup configuration manager
    manager = ConfigManager()
    initial_config = SyncedConfig()
    await manager.register("synced", config=initial_config)

    # Setup multi-source sync
    sync = MultiSourceConfigSync("synced", manager)
    sync.add_file_source(primary_config, priority=30)      # Lowest priority
    sync.add_file_source(override_config, priority=20)     # Medium priority
    sync.add_env_source("MYAPP", priority=10)             # Highest priority

    # Initial synchronization
    print("Performing initial synchronization...")
    synced_config = await sync.sync_configuration()

    if synced_config:
        print("\nFinal synchronized configuration:")
        print(f"  Feature enabled: {synced_config.feature_enabled}")  # From env (high priority)
        print(f"  Rate limit: {synced_config.rate_limit}")           # From override file (medium)
        print(f"  Timeout: {synced_config.timeout_ms}")              # From override file (medium)
        print(f"  API version: {synced_config.api_version}")         # From env (high priority)
    RESULTS["sources"] = sync.get_source_info()  # added: what the test checks

    # Simulate configuration changes
    print("\nSimulating configuration source changes...")

    # Change override file
    override_config.write_text(json.dumps({
        "rate_limit": 500,
        "timeout_ms": 15000,
        "feature_enabled": False  # This won't override env var due to lower priority
    }, indent=2))

    # Re-sync
    updated_config = await sync.sync_configuration()

    if updated_config:
        print("\nAfter file update:")
        print(f"  Feature enabled: {updated_config.feature_enabled}")  # Still from env
        print(f"  Rate limit: {updated_config.rate_limit}")           # Updated from file
        print(f"  Timeout: {updated_config.timeout_ms}")              # Updated from file
        print(f"  API version: {updated_config.api_version}")         # Still from env

    # Cleanup
    import shutil
    if config_dir.exists():
        shutil.rmtree(config_dir)

# ---- end of the guide's code ----


@pytest.fixture
def env(monkeypatch):
    for v in ["MYAPP_FEATURE_ENABLED", "MYAPP_API_VERSION", "MYAPP_RATE_LIMIT"]:
        monkeypatch.delenv(v, raising=False)
    return monkeypatch


def test_the_guides_sync_example(tmp_path, capsys, env):
    global WORK_DIR
    WORK_DIR = tmp_path
    asyncio.run(multi_source_sync_example())
    out = capsys.readouterr().out
    first, after = out.split("After file update:")
    assert "  Feature enabled: True\n  Rate limit: 200\n  Timeout: 10000\n  API version: v2\n" in first
    assert "  Feature enabled: True\n  Rate limit: 500\n  Timeout: 15000\n  API version: v2\n" in after
    d = str(tmp_path / "config_sync")
    assert RESULTS["sources"] == {
        "api_version": "env:MYAPP",
        "feature_enabled": "env:MYAPP",
        "rate_limit": f"file:{d}/overrides.json",
        "timeout_ms": f"file:{d}/overrides.json",
    }


def test_sources_re_sync_by_themselves(tmp_path, env):
    async def scenario():
        primary, override = tmp_path / "config.json", tmp_path / "overrides.json"
        primary.write_text(json.dumps({"rate_limit": 100, "api_version": "v1"}))
        manager = ConfigManager()
        await manager.register("synced", config=SyncedConfig())
        sync = MultiSourceConfigSync("synced", manager)
        sync.add_file_source(primary, priority=30)
        sync.add_file_source(override, priority=20)  # missing: contributes nothing yet
        sync.add_env_source("MYAPP", priority=10)
        changes = []
        sub = sync.on_change(lambda old, new, ch: changes.append({c.path: (c.old, c.new) for c in ch}))
        assert (await manager.get("synced")).rate_limit == 100

        atomic_write(override, json.dumps({"rate_limit": 200}))  # appears: no sync call
        assert await async_wait_until(lambda: manager.get_now("synced").rate_limit == 200)
        os.environ["MYAPP_RATE_LIMIT"] = "300"  # env beats both files
        assert await async_wait_until(lambda: manager.get_now("synced").rate_limit == 300)
        atomic_write(primary, json.dumps({"rate_limit": 1, "api_version": "v9"}))
        assert await async_wait_until(lambda: manager.get_now("synced").api_version == "v9")
        cfg = manager.get_now("synced")
        assert cfg.rate_limit == 300
        assert "env:MYAPP" in cfg.explain("rate_limit")
        assert sync.get_source_info()["api_version"] == f"file:{primary}"
        assert await async_wait_until(lambda: {"api_version": ("v1", "v9")} in changes)
        assert {"rate_limit": (100, 200)} in changes and {"rate_limit": (200, 300)} in changes
        # A bad value is refused whole, the last good config keeps serving.
        atomic_write(override, '{"rate_limit": 200, "timeout_ms": "lots"}')
        assert await async_wait_until(
            lambda: any(s["state"] == "error" for s in manager.status("synced")["sources"]))
        assert manager.get_now("synced").rate_limit == 300
        err = [s for s in manager.status("synced")["sources"] if s["state"] == "error"][0]
        assert f"{override}:1:35" in err["last_error"] and "timeout_ms" in err["last_error"], err
        sub.cancel()

    asyncio.run(scenario())
