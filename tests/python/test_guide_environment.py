"""The guide's "Environment Change Detection" example with only the imports
changed: its EnvironmentWatcher class is liveconf's (the guide's polls
os.environ, a dict copy that never sees a change made from C), and its
config classes are liveconf's. Then what the guide's watcher cannot see: a
change made by C code, and (old, new) values for unset variables."""

import asyncio
import ctypes
import os
from typing import Dict, Set, Callable, Optional

import pytest

from conftest import async_wait_until, wait_until

# ---- the guide's imports, changed ----
from liveconf import RuntimeConfig, env_field, define
from liveconf import EnvironmentWatcher
import liveconf

# ---- the guide's code, unchanged from here (its EnvironmentWatcher class is imported) ----


@define
class WatchedEnvConfig(RuntimeConfig):
    """Configuration loaded from environment variables."""

    api_url: str = env_field(
        default="http://localhost:8080",
        env_var="API_URL",
        description="API endpoint URL"
    )
    max_workers: int = env_field(
        default=4,
        env_var="MAX_WORKERS",
        parser=int,
        description="Maximum worker threads"
    )
    debug_enabled: bool = env_field(
        default=False,
        env_var="DEBUG_ENABLED",
        parser=lambda x: x.lower() in ('true', '1', 'yes', 'on'),
        description="Enable debug mode"
    )
    log_level: str = env_field(
        default="INFO",
        env_var="LOG_LEVEL",
        description="Logging level"
    )


async def environment_watching_example():
    """Example of watching environment variables."""

    # Initial environment setup
    os.environ["API_URL"] = "http://localhost:8080"
    os.environ["MAX_WORKERS"] = "4"
    os.environ["DEBUG_ENABLED"] = "false"
    os.environ["LOG_LEVEL"] = "INFO"

    # Load initial configuration
    config = WatchedEnvConfig.from_env()

    print("Initial configuration:")
    print(f"  API URL: {config.api_url}")
    print(f"  Max workers: {config.max_workers}")
    print(f"  Debug: {config.debug_enabled}")
    print(f"  Log level: {config.log_level}")

    async def on_config_change(changes: Dict[str, tuple[str, str]]):
        """Handle configuration changes."""
        print("\nEnvironment configuration changed:")

        # Reload configuration from environment
        new_config = WatchedEnvConfig.from_env()

        for var_name, (old_value, new_value) in changes.items():
            print(f"  {var_name}: {old_value} -> {new_value}")

        # Show configuration impact
        print("Updated configuration:")
        print(f"  API URL: {new_config.api_url}")
        print(f"  Max workers: {new_config.max_workers}")
        print(f"  Debug: {new_config.debug_enabled}")
        print(f"  Log level: {new_config.log_level}")

        # Here you would typically apply the new configuration
        # to your application components

    # Setup environment watcher
    watcher = EnvironmentWatcher(poll_interval=1.0)  # Fast polling for demo
    watcher.watch_vars([
        "API_URL", "MAX_WORKERS", "DEBUG_ENABLED", "LOG_LEVEL"
    ], on_config_change)

    await watcher.start()

    try:
        # Simulate environment changes
        print("\nSimulating environment variable changes...")

        await asyncio.sleep(2)
        os.environ["DEBUG_ENABLED"] = "true"
        os.environ["LOG_LEVEL"] = "DEBUG"

        await asyncio.sleep(3)
        os.environ["API_URL"] = "http://api.production.com"
        os.environ["MAX_WORKERS"] = "8"

        await asyncio.sleep(3)
        os.environ["LOG_LEVEL"] = "ERROR"

        # Wait for final changes to be detected
        await asyncio.sleep(2)

    finally:
        await watcher.stop()

# ---- end of the guide's code ----

VARS = ["API_URL", "MAX_WORKERS", "DEBUG_ENABLED", "LOG_LEVEL"]


@pytest.fixture
def clean_env(monkeypatch):
    for v in VARS + ["LIVECONF_PY_C", "LIVECONF_PY_GONE"]:
        monkeypatch.delenv(v, raising=False)
    yield monkeypatch


def test_the_guides_environment_example(clean_env, capsys):
    asyncio.run(environment_watching_example())
    out = capsys.readouterr().out
    assert "Initial configuration:\n  API URL: http://localhost:8080\n  Max workers: 4\n" \
           "  Debug: False\n  Log level: INFO\n" in out
    for line in [
        "  DEBUG_ENABLED: false -> true",
        "  LOG_LEVEL: INFO -> DEBUG",
        "  API_URL: http://localhost:8080 -> http://api.production.com",
        "  MAX_WORKERS: 4 -> 8",
        "  LOG_LEVEL: DEBUG -> ERROR",
    ]:
        assert line in out, (line, out)
    last = out.rsplit("Updated configuration:", 1)[1]
    assert "  API URL: http://api.production.com\n  Max workers: 8\n  Debug: True\n" \
           "  Log level: ERROR\n" in last, out


def test_a_change_made_from_c_is_seen(clean_env):
    """C code (a library, an extension) calling setenv: os.environ never sees
    it, which is why the guide's watcher misses it; liveconf polls the C
    environment."""
    os.environ["LIVECONF_PY_C"] = "1"
    seen = []
    watcher = EnvironmentWatcher(poll_interval=0.05)
    watcher.watch_var("LIVECONF_PY_C", lambda changes: seen.append(changes))
    watcher.start_now()
    try:
        libc = ctypes.CDLL(None)
        # Replacing an existing variable's value: glibc swaps one pointer and
        # keeps the old string, so the poll thread never reads freed memory.
        assert libc.setenv(b"LIVECONF_PY_C", b"2", 1) == 0
        assert wait_until(lambda: seen == [{"LIVECONF_PY_C": ("1", "2")}]), seen
        assert os.environ["LIVECONF_PY_C"] == "1"  # the dict copy the guide polls
        assert liveconf.get_env("LIVECONF_PY_C") == "2"
    finally:
        watcher.stop_now()


def test_os_environ_changes_arrive_at_once_and_unset_is_empty(clean_env):
    os.environ["LIVECONF_PY_GONE"] = "x"
    seen = []

    async def scenario():
        watcher = EnvironmentWatcher(poll_interval=3600)  # no poll: the wake-up does it

        async def on_change(changes):
            seen.append(changes)

        watcher.watch_vars(["LIVECONF_PY_GONE", "LIVECONF_PY_C"], on_change)
        await watcher.start()
        try:
            os.environ["LIVECONF_PY_C"] = "new"
            assert await async_wait_until(lambda: len(seen) == 1)
            del os.environ["LIVECONF_PY_GONE"]
            assert await async_wait_until(lambda: len(seen) == 2)
        finally:
            await watcher.stop()

    asyncio.run(scenario())
    assert seen == [{"LIVECONF_PY_C": ("", "new")}, {"LIVECONF_PY_GONE": ("x", "")}]


def test_from_env_errors_name_the_variable_and_hide_secrets(clean_env):
    @define
    class Secrets(RuntimeConfig):
        workers: int = env_field(env_var="MAX_WORKERS", default=1)
        token: int = env_field(env_var="LOG_LEVEL", default=0, secret=True, parser=int)

    os.environ["MAX_WORKERS"] = "many"
    with pytest.raises(liveconf.Error) as e:
        Secrets.from_env()
    assert e.value.path == "workers"
    assert "expected integer" in str(e.value)
    os.environ["MAX_WORKERS"] = "3"
    os.environ["LOG_LEVEL"] = "hunter2"
    with pytest.raises(liveconf.Error) as e:
        Secrets.from_env()
    assert "$LOG_LEVEL" in str(e.value) and "hunter2" not in str(e.value)
    os.environ["LOG_LEVEL"] = "7"
    assert Secrets.from_env().token == 7
    assert "7" not in repr(Secrets.from_env())
