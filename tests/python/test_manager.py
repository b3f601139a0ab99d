"""ConfigManager on the core: live sources, subscriptions (plain functions and
coroutines), refusals that keep the last good config, explain, secrets, etcd."""

import asyncio
import json
import logging
import os
import threading

import pytest

import liveconf
from conftest import async_wait_until, atomic_write, wait_until
from liveconf import BaseConfig, ConfigManager, define, field


@define
class Service(BaseConfig):
    host: str = "localhost"
    port: int = field(default=8080, minimum=1, maximum=65535)
    token: str = field(default="", secret=True)
    features: list[str] = field(factory=list)


def test_get_returns_one_immutable_object_per_generation(tmp_path):
    manager = ConfigManager()
    first = manager.register_now("svc", cls=Service)
    assert manager.get_now("svc") is first and first.generation == 1
    second = manager.update_now("svc", {"port": 9000})
    assert second.generation == 2 and second.port == 9000 and first.port == 8080
    assert first.diff(second) == {"port": (8080, 9000)}
    assert manager.get_now("svc") is second


def test_a_refused_update_changes_nothing_and_names_the_key():
    manager = ConfigManager()
    manager.register_now("svc", cls=Service)
    with pytest.raises(liveconf.Error) as e:
        manager.update_now("svc", {"port": 70000})
    assert e.value.path == "port" and "at most 65535" in str(e.value)
    assert manager.get_now("svc").port == 8080 and manager.get_now("svc").generation == 1
    with pytest.raises(liveconf.Error) as e:
        manager.get_now("nope")
    assert e.value.code == "not_found"


def test_file_source_every_save_and_the_last_good_config(tmp_path):
    path = tmp_path / "svc.yaml"
    path.write_text("port: 1000\ntoken: s3cret-value\n")
    manager = ConfigManager()
    manager.register_now("svc", cls=Service)
    manager.add_file_source("svc", path, priority=10)
    cfg = manager.get_now("svc")
    assert cfg.port == 1000 and cfg.token == "s3cret-value"
    assert cfg.origin("port") == f'{path}:1:7, layer "file:{path}"'
    explained = manager.explain("svc", "token")
    assert "s3cret-value" not in json.dumps(explained) and "s3cret-value" not in cfg.explain("token")
    assert "s3cret-value" not in manager.export("svc", "json")

    atomic_write(path, "port: 2000\n")
    assert wait_until(lambda: manager.get_now("svc").port == 2000)
    path.write_text("port: [\n")  # a broken save: refused, 2000 keeps serving
    assert wait_until(lambda: manager.status("svc")["sources"][0]["state"] == "error")
    status = manager.status("svc")
    assert f"{path}:" in status["sources"][0]["last_error"]
    assert manager.get_now("svc").port == 2000
    path.write_text("port: 3000\n")
    assert wait_until(lambda: manager.get_now("svc").port == 3000)

    bad = tmp_path / "bad.json"
    bad.write_text('{"port": "http"}')
    with pytest.raises(liveconf.Error) as e:
        manager.add_file_source("svc", bad, priority=20)
    assert (e.value.file, e.value.line, e.value.column, e.value.path) == (str(bad), 1, 10, "port")


def test_plain_and_coroutine_subscribers(tmp_path):
    async def scenario():
        manager = ConfigManager()
        await manager.register("svc", config=Service())
        loop_thread = threading.get_ident()
        plain, coro = [], []

        def on_plain(old, new, changes):
            plain.append((old.port, new.port, [str(c) for c in changes], threading.get_ident()))

        async def on_coro(old, new, changes):
            coro.append((new.port, threading.get_ident()))

        s1 = manager.subscribe("svc", on_plain)
        s2 = manager.subscribe("svc", on_coro, prefix="port")
        await manager.update("svc", {"port": 1234})
        assert await async_wait_until(lambda: plain and coro)
        assert plain[0][:3] == (8080, 1234, ["port: 8080 -> 1234"])
        assert plain[0][3] != loop_thread  # liveconf's dispatch thread
        assert coro == [(1234, loop_thread)]  # on the loop that subscribed
        await manager.update("svc", {"host": "example"})  # outside s2's prefix
        assert await async_wait_until(lambda: len(plain) == 2)
        s1.cancel()
        s2.cancel()
        await manager.update("svc", {"port": 1})
        await asyncio.sleep(0.05)
        assert len(plain) == 2 and len(coro) == 1

    asyncio.run(scenario())


def test_a_raising_subscriber_is_logged_counted_and_kept(caplog):
    manager = ConfigManager()
    manager.register_now("svc", cls=Service)
    calls = []

    def bad(old, new, changes):
        calls.append(new.port)
        raise ValueError("subscriber bug")

    before = liveconf.callback_errors()
    with manager.subscribe("svc", bad):
        with caplog.at_level(logging.ERROR, logger="liveconf"):
            manager.update_now("svc", {"port": 1})
            assert wait_until(lambda: calls == [1])
            manager.update_now("svc", {"port": 2})
            assert wait_until(lambda: calls == [1, 2])
    assert liveconf.callback_errors() - before == 2
    assert "subscriber bug" in caplog.text


def test_a_subscriber_may_call_back_into_the_manager():
    manager = ConfigManager()
    manager.register_now("svc", cls=Service)
    seen = []

    def chain(old, new, changes):
        seen.append(new.port)
        if new.port < 5:
            manager.update_now("svc", {"port": new.port + 1})  # from the dispatch thread

    with manager.subscribe("svc", chain):
        manager.update_now("svc", {"port": 1})
        assert wait_until(lambda: manager.get_now("svc").port == 5 and seen[-1:] == [5])


def test_env_source_converts_by_type(monkeypatch):
    monkeypatch.setenv("SVCPY_PORT", "7000")
    monkeypatch.setenv("SVCPY_FEATURES", "a,b")
    manager = ConfigManager()
    manager.register_now("svc", cls=Service)
    manager.add_env_source("svc", "SVCPY", priority=5, poll_interval=60)
    cfg = manager.get_now("svc")
    assert cfg.port == 7000 and cfg.features == ("a", "b")
    os.environ["SVCPY_PORT"] = "7001"  # through liveconf's lock: no poll to wait for
    assert wait_until(lambda: manager.get_now("svc").port == 7001, timeout=5)
    assert "$SVCPY_PORT" in manager.get_now("svc").explain("port")


@pytest.mark.skipif(not liveconf.HAS_ETCD, reason="built without etcd")
def test_etcd_source_and_sync(etcd):
    etcdctl = etcd["etcdctl"]
    etcdctl("put", "/svc/port", "4000")
    etcdctl("put", "/svc/host", "etcd-host")

    async def scenario():
        manager = ConfigManager()
        await manager.register("svc", config=Service())
        sync = liveconf.MultiSourceConfigSync("svc", manager)
        sync.add_etcd_source([etcd["endpoint"]], "/svc/", priority=5)
        cfg = await sync.sync_configuration()
        assert (cfg.port, cfg.host) == (4000, "etcd-host")
        assert sync.get_source_info()["port"] == "etcd:/svc/"
        etcdctl("put", "/svc/port", "4001")
        assert await async_wait_until(lambda: manager.get_now("svc").port == 4001)
        etcdctl("put", "/svc/port", "not-a-port")  # refused; 4001 keeps serving
        assert await async_wait_until(
            lambda: manager.status("svc")["sources"][0]["state"] == "error")
        assert manager.get_now("svc").port == 4001

        # A fresh process loads what etcd holds now, and refuses it the same way.
        other = ConfigManager()
        await other.register("svc", cls=Service)
        with pytest.raises(liveconf.Error) as e:
            other.add_etcd_source("svc", [etcd["endpoint"]], "/svc/", priority=1)
        assert e.value.path == "port" and "/svc/port" in str(e.value)
        etcdctl("put", "/svc/port", "4002")
        other.add_etcd_source("svc", [etcd["endpoint"]], "/svc/", priority=1)
        assert other.get_now("svc").port == 4002
        assert await async_wait_until(lambda: manager.get_now("svc").port == 4002)

    asyncio.run(scenario())
