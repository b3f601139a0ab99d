"""Shared helpers for the Python tests (run by ctest: tests/CMakeLists.txt).

Waits are on conditions with deadlines, never bare sleeps (the guide's own
examples keep their sleeps: they are the code under test).
"""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

# Deadlines stretch under sanitizers (LIVECONF_TEST_SLOWDOWN, set by ctest).
SLOWDOWN = float(os.environ.get("LIVECONF_TEST_SLOWDOWN", "1"))


def wait_until(predicate, timeout=10.0, interval=0.005):
    deadline = time.monotonic() + timeout * SLOWDOWN
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


async def async_wait_until(predicate, timeout=10.0, interval=0.005):
    deadline = time.monotonic() + timeout * SLOWDOWN
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


def atomic_write(path, text):
    """The editor/installer save: a temp file in the same directory renamed over."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(str(path)), prefix=".save-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, str(path))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def etcd(tmp_path):
    """A real etcd on loopback (Debian's etcd-server), stopped after the test."""
    binary = shutil.which("etcd") or "/usr/bin/etcd"
    if not os.path.exists(binary):
        pytest.fail("etcd is not installed (scripts/install-deps.sh installs etcd-server)")
    client, peer = _free_port(), _free_port()
    url = f"http://127.0.0.1:{client}"
    proc = subprocess.Popen(
        [
            binary,
            "--name", "liveconf-py",
            "--data-dir", str(tmp_path / "etcd"),
            "--listen-client-urls", url,
            "--advertise-client-urls", url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"liveconf-py=http://127.0.0.1:{peer}",
            "--log-level", "error",
            "--heartbeat-interval", "10",
            "--election-timeout", "100",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def etcdctl(*args):
        return subprocess.run(
            ["etcdctl", f"--endpoints={url}", "--dial-timeout=2s", "--command-timeout=5s", *args],
            check=True, capture_output=True, text=True,
        ).stdout

    def healthy():
        try:
            etcdctl("put", "/liveconf-py-probe", "1")
            return True
        except subprocess.CalledProcessError:
            return False

    try:
        assert wait_until(healthy, timeout=30, interval=0.1), "etcd did not start"
        yield {"endpoint": f"127.0.0.1:{client}", "etcdctl": etcdctl}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def cli_binary():
    path = os.environ.get("LIVECONF_CLI")
    if not path or not os.path.exists(path):
        pytest.fail("LIVECONF_CLI must name the liveconf binary (ctest sets it)")
    return path
