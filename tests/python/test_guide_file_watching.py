"""The guide's "Basic File Watcher" example, its code as written with only the
imports changed (watchdog, attrs and provide.foundation -> liveconf) and the
file moved from /tmp into the test's own directory; then asserts on what it
printed. With watchdog it never reloads: its handler calls
asyncio.create_task on the observer's thread ("no running event loop").

Then the same handler through every save pattern (in place, temp file renamed
over, vim's backup-and-write), and liveconf's own ConfigFileWatcher.
"""

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, Any

import pytest

from conftest import async_wait_until, atomic_write

# ---- the guide's imports, changed ----
from liveconf import Observer, FileSystemEventHandler
from liveconf import define
from liveconf import BaseConfig, ConfigManager, field

WORK_DIR = Path("/tmp")  # set per test (the guide writes to /tmp)

# ---- the guide's code, unchanged from here ----


@define
class WatchedConfig(BaseConfig):
    """Configuration that can be watched for changes."""

    api_key: str = field(default="default-key", description="API key")
    timeout: int = field(default=30, description="Request timeout")
    enabled: bool = field(default=True, description="Feature enabled")
    endpoints: list[str] = field(factory=list, description="API endpoints")


class ConfigFileWatcher(FileSystemEventHandler):
    """File system event handler for configuration files."""

    def __init__(self, file_path: Path, reload_callback: Callable):
        """
        Initialize file watcher.

        Args:
            file_path: Path to configuration file to watch
            reload_callback: Function to call when file changes
        """
        self.file_path = file_path
        self.reload_callback = reload_callback

    def on_modified(self, event):
        """Handle file modification events."""
        if not event.is_directory and Path(event.src_path) == self.file_path:
            print(f"Configuration file changed: {self.file_path}")
            asyncio.create_task(self.reload_callback())

    def on_moved(self, event):
        """Handle file move events (editor saves often do atomic moves)."""
        if not event.is_directory and Path(event.dest_path) == self.file_path:
            print(f"Configuration file moved/updated: {self.file_path}")
            asyncio.create_task(self.reload_callback())


async def file_watching_example():
    """Example of watching configuration files for changes."""

    # Create configuration file
    config_file = WORK_DIR / "watched_config.json"  # the guide: Path("/tmp/watched_config.json")
    initial_config = {
        "api_key": "initial-key",
        "timeout": 30,
        "enabled": True,
        "endpoints": ["http://api.example.com"]
    }

    config_file.write_text(json.dumps(initial_config, indent=2))

    # Setup configuration manager
    manager = ConfigManager()
    config = WatchedConfig.from_dict(initial_config)
    await manager.register("watched", config=config)

    async def reload_config():
        """Reload configuration from file."""
        try:
            # Small delay to ensure file write is complete
            await asyncio.sleep(0.1)

            if config_file.exists():
                new_data = json.loads(config_file.read_text())

                # Get current config for comparison
                current_config = await manager.get("watched")

                # Update configuration
                await manager.update("watched", new_data)
                updated_config = await manager.get("watched")

                # Show changes
                differences = current_config.diff(updated_config)
                if differences:
                    print("Configuration updated:")
                    for field, (old_val, new_val) in differences.items():
                        print(f"  {field}: {old_val} -> {new_val}")
                else:
                    print("No configuration changes detected")

        except Exception as e:
            print(f"Error reloading configuration: {e}")

    # Setup file watcher
    event_handler = ConfigFileWatcher(config_file, reload_config)
    observer = Observer()
    observer.schedule(event_handler, str(config_file.parent), recursive=False)
    observer.start()

    try:
        print(f"Watching configuration file: {config_file}")
        print("Initial configuration:")
        initial = await manager.get("watched")
        print(f"  API Key: {initial.api_key}")
        print(f"  Timeout: {initial.timeout}")
        print(f"  Enabled: {initial.enabled}")

        # Simulate file changes
        print("\nSimulating configuration changes...")

        # First change
        await asyncio.sleep(1)
        updated_config = {
            "api_key": "updated-key-123",
            "timeout": 60,
            "enabled": True,
            "endpoints": ["http://api.example.com", "http://backup.example.com"]
        }
        config_file.write_text(json.dumps(updated_config, indent=2))

        # Second change
        await asyncio.sleep(2)
        final_config = {
            "api_key": "final-key-456",
            "timeout": 45,
            "enabled": False,
            "endpoints": ["http://new-api.example.com"]
        }
        config_file.write_text(json.dumps(final_config, indent=2))

        # Wait for file events to be processed
        await asyncio.sleep(1)

    finally:
        observer.stop()
        observer.join()

        # Cleanup
        if config_file.exists():
            config_file.unlink()

# ---- end of the guide's code ----


def test_the_guides_example_reloads_on_each_save(tmp_path, capsys):
    global WORK_DIR
    WORK_DIR = tmp_path
    asyncio.run(file_watching_example())
    out = capsys.readouterr().out
    assert "Error reloading" not in out
    # One reload per save: events are settled saves, not syscalls.
    assert out.count("Configuration file changed:") == 2, out
    first, second = out.split("Configuration updated:")[1:3]
    assert "  api_key: initial-key -> updated-key-123" in first
    assert "  timeout: 30 -> 60" in first
    assert "  endpoints: ['http://api.example.com'] -> " in first
    assert "enabled" not in first
    assert "  api_key: updated-key-123 -> final-key-456" in second
    assert "  timeout: 60 -> 45" in second
    assert "  enabled: True -> False" in second
    assert "No configuration changes detected" not in out


def _vim_save(path, old, new):
    """vim's default save on Linux for a file it may rename: the original
    renamed to a backup, a new file written, the backup deleted."""
    vim = shutil.which("vim") or shutil.which("vim.basic")
    assert vim, "vim is installed by scripts/install-deps.sh"
    subprocess.run(
        [vim, "-u", "NONE", "-N", "-n", "-es",
         "-c", "set backupcopy=no writebackup nobackup",
         "-c", f"%s/{old}/{new}/", "-c", "wq", str(path)],
        check=True, timeout=30, stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("pattern", ["in_place", "atomic_rename", "vim"])
def test_every_save_pattern_reaches_the_guides_handler(tmp_path, pattern):
    config_file = tmp_path / "watched_config.json"
    config_file.write_text(json.dumps({"timeout": 30}))

    async def scenario():
        manager = ConfigManager()
        await manager.register("watched", config=WatchedConfig())
        reloads = []

        async def reload_config():
            data = json.loads(config_file.read_text())  # never half a file
            await manager.update("watched", data)
            reloads.append((await manager.get("watched")).timeout)

        observer = Observer()
        observer.schedule(ConfigFileWatcher(config_file, reload_config), str(tmp_path))
        observer.start()
        try:
            for i, timeout in enumerate([31, 32, 33]):
                text = json.dumps({"timeout": timeout}, indent=2)
                if pattern == "in_place":
                    config_file.write_text(text)
                elif pattern == "atomic_rename":
                    atomic_write(config_file, text)
                else:
                    _vim_save(config_file, timeout - 1, timeout)
                assert await async_wait_until(lambda: reloads[-1:] == [timeout]), (pattern, reloads)
            assert reloads == [31, 32, 33]  # once per save, each complete
        finally:
            observer.stop()
            observer.join()
        return manager

    asyncio.run(scenario())


def test_liveconf_config_file_watcher_with_a_plain_callback(tmp_path):
    import liveconf

    config_file = tmp_path / "app.yaml"
    config_file.write_text("timeout: 1\n")
    seen = []
    watcher = liveconf.ConfigFileWatcher(
        config_file, lambda: seen.append(WatchedConfig.from_file(config_file).timeout)
    )
    watcher.start()
    try:
        atomic_write(config_file, "timeout: 2\n")
        assert async_wait_until  # the sync wait below: no loop here
        from conftest import wait_until

        assert wait_until(lambda: seen == [2]), seen
        os.remove(config_file)
        config_file.write_text("timeout: 3\n")  # deleted, then created again
        assert wait_until(lambda: seen == [2, 3]), seen
    finally:
        watcher.stop()


def test_a_handler_that_raises_is_counted_and_the_observer_goes_on(tmp_path):
    import liveconf
    from conftest import wait_until

    class Bad(FileSystemEventHandler):
        def __init__(self):
            self.calls = 0

        def on_modified(self, event):
            self.calls += 1
            raise RuntimeError("boom")

    target = tmp_path / "a.json"
    target.write_text("{}")
    bad = Bad()
    before = liveconf.callback_errors()
    with Observer() as observer:
        observer.schedule(bad, str(tmp_path))
        target.write_text('{"a": 1}')
        assert wait_until(lambda: bad.calls == 1)
        target.write_text('{"a": 2}')
        assert wait_until(lambda: bad.calls == 2)
    assert liveconf.callback_errors() - before == 2


def test_a_kubernetes_configmap_swap_reaches_the_guides_handler(tmp_path):
    """kubelet's update: a new timestamped directory, a new ..data symlink
    renamed over the old one, the old directory removed; app.json itself is a
    symlink through ..data and never changes."""

    def version(name, timeout):
        d = tmp_path / name
        d.mkdir()
        (d / "watched_config.json").write_text(json.dumps({"timeout": timeout}))

    version("..2026_12_06_01", 31)
    os.symlink("..2026_12_06_01", tmp_path / "..data")
    os.symlink("..data/watched_config.json", tmp_path / "watched_config.json")
    config_file = tmp_path / "watched_config.json"

    async def scenario():
        manager = ConfigManager()
        await manager.register("watched", config=WatchedConfig.from_file(config_file))
        reloads = []

        async def reload_config():
            await manager.update("watched", json.loads(config_file.read_text()))
            reloads.append((await manager.get("watched")).timeout)

        observer = Observer()
        observer.schedule(ConfigFileWatcher(config_file, reload_config), str(tmp_path))
        observer.start()
        try:
            for n, timeout in [(2, 32), (3, 33)]:
                version(f"..2026_12_06_0{n}", timeout)
                os.symlink(f"..2026_12_06_0{n}", tmp_path / "..data_tmp")
                os.rename(tmp_path / "..data_tmp", tmp_path / "..data")
                shutil.rmtree(tmp_path / f"..2026_12_06_0{n - 1}")
                assert await async_wait_until(lambda: reloads[-1:] == [timeout]), reloads
            assert reloads == [32, 33]
        finally:
            observer.stop()
            observer.join()

    asyncio.run(scenario())
