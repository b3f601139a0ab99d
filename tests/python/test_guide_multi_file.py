"""The guide's "Multi-File Configuration Watching" example, its code as
written with only the imports changed (and `Callable`, which it uses without
importing, added to them), its directory moved into the test's own. Run twice:
with the guide's own MultiFileConfigWatcher class on liveconf's Observer, and
with liveconf's MultiFileConfigWatcher in its place.
"""

import asyncio
import json
import yaml
from pathlib import Path
from typing import Dict, Set, Callable

import pytest

# ---- the guide's imports, changed ----
from liveconf import Observer
from liveconf import FileSystemEventHandler
import liveconf

WORK_DIR = Path("/tmp")  # set per test (the guide uses /tmp/multi_config)

# ---- the guide's code, unchanged from here ----


class MultiFileConfigWatcher(FileSystemEventHandler):
    """Watch multiple configuration files simultaneously."""

    def __init__(self):
        self.watched_files: Dict[Path, str] = {}  # file_path -> config_name
        self.reload_callbacks: Dict[str, Callable] = {}
        self.debounce_delays: Dict[Path, float] = {}
        self._pending_reloads: Set[str] = set()

    def add_file(self, file_path: Path, config_name: str, reload_callback: Callable, debounce_delay: float = 0.5):
        """Add a file to watch."""
        self.watched_files[file_path] = config_name
        self.reload_callbacks[config_name] = reload_callback
        self.debounce_delays[file_path] = debounce_delay

    def on_modified(self, event):
        """Handle file modification with debouncing."""
        if event.is_directory:
            return

        file_path = Path(event.src_path)
        if file_path in self.watched_files:
            config_name = self.watched_files[file_path]

            # Debounce rapid file changes
            if config_name not in self._pending_reloads:
                self._pending_reloads.add(config_name)
                delay = self.debounce_delays[file_path]
                asyncio.create_task(self._debounced_reload(config_name, delay))

    async def _debounced_reload(self, config_name: str, delay: float):
        """Reload configuration after debounce delay."""
        await asyncio.sleep(delay)

        try:
            if config_name in self.reload_callbacks:
                await self.reload_callbacks[config_name]()
        finally:
            self._pending_reloads.discard(config_name)

async def multi_file_watching_example():
    """Example of watching multiple configuration files."""

    # Create multiple config files
    config_dir = WORK_DIR / "multi_config"  # the guide: Path("/tmp/multi_config")
    config_dir.mkdir(exist_ok=True)

    # Main app config (JSON)
    app_config_file = config_dir / "app.json"
    app_config_file.write_text(json.dumps({
        "name": "MyApp",
        "version": "1.0.0",
        "debug": False
    }, indent=2))

    # Database config (YAML)
    db_config_file = config_dir / "database.yml"
    db_config_file.write_text(yaml.dump({
        "host": "localhost",
        "port": 5432,
        "database": "myapp"
    }))

    # Feature flags (JSON)
    features_file = config_dir / "features.json"
    features_file.write_text(json.dumps({
        "new_ui": False,
        "analytics": True,
        "caching": True
    }, indent=2))

    # Configuration storage
    configs = {
        "app": {},
        "database": {},
        "features": {}
    }

    # Reload callbacks
    async def reload_app_config():
        """Reload application configuration."""
        try:
            data = json.loads(app_config_file.read_text())
            old_config = configs["app"]
            configs["app"] = data

            print("App configuration reloaded:")
            for key, value in data.items():
                old_value = old_config.get(key, "N/A")
                if old_value != value:
                    print(f"  {key}: {old_value} -> {value}")

        except Exception as e:
            print(f"Error reloading app config: {e}")

    async def reload_db_config():
        """Reload database configuration."""
        try:
            data = yaml.safe_load(db_config_file.read_text())
            old_config = configs["database"]
            configs["database"] = data

            print("Database configuration reloaded:")
            for key, value in data.items():
                old_value = old_config.get(key, "N/A")
                if old_value != value:
                    print(f"  {key}: {old_value} -> {value}")

        except Exception as e:
            print(f"Error reloading database config: {e}")

    async def reload_features_config():
        """Reload feature flags."""
        try:
            data = json.loads(features_file.read_text())
            old_config = configs["features"]
            configs["features"] = data

            print("Feature flags reloaded:")
            for key, value in data.items():
                old_value = old_config.get(key, "N/A")
                if old_value != value:
                    print(f"  {key}: {old_value} -> {value}")

        except Exception as e:
            print(f"Error reloading features config: {e}")

    # Setup multi-file watcher
    watcher = MultiFileConfigWatcher()
    watcher.add_file(app_config_file, "app", reload_app_config, debounce_delay=0.3)
    watcher.add_file(db_config_file, "database", reload_db_config, debounce_delay=0.5)
    watcher.add_file(features_file, "features", reload_features_config, debounce_delay=0.2)

    # Start watching
    observer = Observer()
    observer.schedule(watcher, str(config_dir), recursive=True)
    observer.start()

    try:
        print(f"Watching configuration directory: {config_dir}")

        # Load initial configs
        await reload_app_config()
        await reload_db_config()
        await reload_features_config()

        print("\nSimulating configuration changes...")

        # Simulate changes to different files
        await asyncio.sleep(1)

        # Update app config
        app_config_file.write_text(json.dumps({
            "name": "MyApp",
            "version": "1.1.0",
            "debug": True
        }, indent=2))

        await asyncio.sleep(1)

        # Update features
        features_file.write_text(json.dumps({
            "new_ui": True,
            "analytics": True,
            "caching": False,
            "beta_features": True
        }, indent=2))

        await asyncio.sleep(1)

        # Update database config
        db_config_file.write_text(yaml.dump({
            "host": "prod-db.example.com",
            "port": 5432,
            "database": "myapp_prod",
            "ssl": True
        }))

        # Wait for all changes to be processed
        await asyncio.sleep(2)

    finally:
        observer.stop()
        observer.join()

        # Cleanup
        import shutil
        if config_dir.exists():
            shutil.rmtree(config_dir)

# ---- end of the guide's code ----

GUIDES_CLASS = MultiFileConfigWatcher


@pytest.mark.parametrize("implementation", ["guide", "liveconf"])
def test_the_guides_multi_file_example(tmp_path, capsys, monkeypatch, implementation):
    global WORK_DIR
    WORK_DIR = tmp_path
    cls = GUIDES_CLASS if implementation == "guide" else liveconf.MultiFileConfigWatcher
    monkeypatch.setitem(globals(), "MultiFileConfigWatcher", cls)
    asyncio.run(multi_file_watching_example())
    out = capsys.readouterr().out
    assert "Error reloading" not in out
    # The initial load, then exactly one reload per file for its one save.
    assert out.count("App configuration reloaded:") == 2, out
    assert out.count("Database configuration reloaded:") == 2, out
    assert out.count("Feature flags reloaded:") == 2, out
    for line in [
        "  version: 1.0.0 -> 1.1.0",
        "  debug: False -> True",
        "  new_ui: False -> True",
        "  caching: True -> False",
        "  beta_features: N/A -> True",
        "  host: localhost -> prod-db.example.com",
        "  database: myapp -> myapp_prod",
        "  ssl: N/A -> True",
    ]:
        assert line in out, (line, out)
    assert "  port: " not in out.split("Simulating")[1]  # unchanged keys are not reported
