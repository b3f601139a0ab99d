"""liveconf.events: the CLI's JSON-lines stream as Python objects, read from a
real `liveconf watch --format json`."""

import json
import os
import queue
import signal
import subprocess
import threading

import pytest

import liveconf
from conftest import SLOWDOWN, atomic_write
from liveconf import events


def test_parse_every_documented_event():
    lines = [
        '{"event":"loaded","generation":1,"snapshot":2,"config":{"a":1}}',
        '{"event":"changed","generation":2,"snapshot":3,"changes":[{"path":"a.b","old":1,"new":2,'
        '"old_source":"file:app.json","new_source":"env:APP"},{"path":"c","new":3,"new_source":"x"}],'
        '"config":{}}',
        '{"event":"error","source":"file:app.json","message":"app.json:3:13: bad","generation":2,'
        '"snapshot":3}',
        '{"event":"source","source":"file:app.json","state":"error"}',
        '{"event":"pinned","generation":3,"snapshot":5,"pinned_generation":2,"expires":null,'
        '"reason":"bad deploy","changes":[],"config":{}}',
        '{"event":"unpinned","generation":4,"snapshot":6,"changes":[],"config":{}}',
        '{"event":"healthy","snapshot":6}',
        '{"event":"reverted","generation":6,"snapshot":8,"from":7,"to":6,"reason":"exit 1",'
        '"revert":{"from":7,"to":6,"reason":"exit 1","quarantined":["file:app.json"]},'
        '"changes":[],"config":{}}',
        '{"event":"future","x":1}',
    ]
    got = list(events.read(lines + [""]))
    assert [type(e).__name__ for e in got] == [
        "Loaded", "Changed", "Error", "SourceState", "Pinned", "Unpinned", "Healthy", "Reverted",
        "Event"]
    changed = got[1]
    assert changed.changes[0] == events.EventChange("a.b", 1, 2, "file:app.json", "env:APP", True, True)
    assert changed.changes[1].has_old is False and changed.changes[1].new == 3
    assert got[2].message.startswith("app.json:3:13")
    assert (got[7].from_snapshot, got[7].to_snapshot, got[7].quarantined) == (7, 6, ["file:app.json"])
    assert got[8].event == "future" and got[8].data["x"] == 1
    with pytest.raises(ValueError):
        events.parse("[1]")


def test_events_from_a_running_cli(tmp_path, cli_binary):
    path = tmp_path / "app.json"
    path.write_text(json.dumps({"port": 1, "token": "hunter2"}))
    proc = subprocess.Popen(
        [cli_binary, "watch", "--file", str(path), "--format", "json", "--secret", "token",
         "--debounce", "20ms"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()

    def next_event():
        return events.parse(lines.get(timeout=20 * SLOWDOWN))

    try:
        loaded = next_event()
        assert isinstance(loaded, events.Loaded) and loaded.config["port"] == 1
        assert loaded.config["token"] == "***"
        atomic_write(path, json.dumps({"port": 2, "token": "hunter3"}))
        changed = next_event()
        assert isinstance(changed, events.Changed)
        by_path = {c.path: c for c in changed.changes}
        assert (by_path["port"].old, by_path["port"].new) == (1, 2)
        assert by_path["token"].new == "***"
        path.write_text("{broken")
        error = next_event()
        assert isinstance(error, events.Error) and str(path) in error.message
        assert error.generation == changed.generation
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
