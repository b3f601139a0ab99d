"""10,000 changes with Python callbacks on three threads and an asyncio loop,
then nothing leaked: every Snapshot object and every callback C++ held is
released (counted by the module itself) and the callbacks' reference counts
are back to where they started. CI runs it under AddressSanitizer with
PYTHONMALLOC=malloc (tests/python/CMakeLists.txt). LIVECONF_PY_STRESS_CHANGES
sets the number of changes."""

import asyncio
import gc
import os
import sys
import threading

import liveconf
from conftest import SLOWDOWN, atomic_write, wait_until
from liveconf import BaseConfig, ConfigManager, EnvironmentWatcher, Observer, define, field

CHANGES = int(os.environ.get("LIVECONF_PY_STRESS_CHANGES", "10000"))


@define
class Pair(BaseConfig):
    port: int = 0
    host: str = "h0"
    writer: int = -1


def test_ten_thousand_changes_leak_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("LIVECONF_STRESS_VAR", raising=False)
    gc.collect()
    baseline = liveconf._core._live_objects()
    received = {"plain": 0, "coro": 0, "env": 0, "file": 0}
    torn = []

    def on_plain(old, new, changes):
        received["plain"] += 1
        if new.host != f"h{new.port}":
            torn.append((new.port, new.host))  # a mixed snapshot would show here

    async def on_coro(old, new, changes):
        received["coro"] += 1

    def on_env(changes):
        received["env"] += 1

    class Handler(liveconf.FileSystemEventHandler):
        def on_any_event(self, event):
            received["file"] += 1

    refs_before = [sys.getrefcount(f) for f in (on_plain, on_coro, on_env)]

    async def scenario():
        manager = ConfigManager()
        await manager.register("pair", cls=Pair)
        subs = [manager.subscribe("pair", on_plain), manager.subscribe("pair", on_coro)]
        watcher = EnvironmentWatcher(poll_interval=0.01)
        watcher.watch_var("LIVECONF_STRESS_VAR", on_env)
        await watcher.start()
        observer = Observer()
        observer.schedule(Handler(), str(tmp_path))
        observer.start()

        per_thread = CHANGES // 3
        errors = []

        def writer(k):
            try:
                for i in range(per_thread):
                    n = k * per_thread + i + 1
                    if k == 0 and i % 10 == 0:
                        os.environ["LIVECONF_STRESS_VAR"] = str(n)  # through liveconf's lock
                    if k == 1 and i % 100 == 0:
                        atomic_write(tmp_path / "f.json", str(n))
                    manager.update_now("pair", {"port": n, "host": f"h{n}", "writer": k})
                    cfg = manager.get_now("pair")
                    if cfg.host != f"h{cfg.port}":
                        errors.append(cfg)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            await asyncio.sleep(0.01)  # the loop keeps running the coroutine subscriber
        for t in threads:
            t.join()
        assert errors == []
        final = manager.get_now("pair")
        assert final.generation == 1 + 3 * per_thread
        # Subscribers converge on the newest generation (they may skip some).
        deadline_ok = await asyncio.wait_for(_until(lambda: received["coro"] > 0), 30 * SLOWDOWN)
        assert deadline_ok
        for s in subs:
            s.cancel()
        await watcher.stop()
        observer.stop()
        observer.join()
        manager.close()

    asyncio.run(scenario())
    assert torn == []
    assert received["plain"] > 0 and received["env"] > 0 and received["file"] > 0
    gc.collect()
    assert wait_until(lambda: liveconf._core._live_objects() == baseline), (
        liveconf._core._live_objects(), baseline)
    assert [sys.getrefcount(f) for f in (on_plain, on_coro, on_env)] == refs_before


async def _until(predicate):
    while not predicate():
        await asyncio.sleep(0.005)
    return True
