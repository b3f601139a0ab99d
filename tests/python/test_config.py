"""Typed configs: conversion and validation by the core, immutability, diffs,
secrets, errors with key paths and file:line:col."""

import enum
import json
import types
import warnings
from typing import Any, Dict, List, Literal, Optional

import pytest

import liveconf
from liveconf import BaseConfig, define, field


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


@define
class Database(BaseConfig):
    host: str = field(default="localhost", description="Database host")
    port: int = field(default=5432, minimum=1, maximum=65535)
    password: str = field(default="", secret=True)


@define
class App(BaseConfig):
    name: str = field(default="app", min_length=1)
    timeout: float = 1.5
    workers: int = field(default=4, description="Worker threads")
    debug: bool = False
    tags: List[str] = field(factory=list)
    limits: Dict[str, int] = field(factory=dict)
    db: Database = field(factory=Database)
    mode: Mode = Mode.FAST
    level: Literal["info", "debug"] = "info"
    extra: Optional[Any] = None


def test_defaults_conversion_and_nesting():
    app = App.from_dict({"workers": "8", "debug": "yes", "tags": "a,b", "db": {"port": "6000"},
                         "mode": "safe", "limits": {"rps": "100"}})
    assert app.workers == 8 and app.debug is True and app.timeout == 1.5
    assert app.tags == ("a", "b")
    assert app.db == Database(port=6000) and app.db.host == "localhost"
    assert app.mode is Mode.SAFE
    assert isinstance(app.limits, types.MappingProxyType) and app.limits["rps"] == 100
    assert App().to_dict() == {
        "name": "app", "timeout": 1.5, "workers": 4, "debug": False, "tags": [], "limits": {},
        "db": {"host": "localhost", "port": 5432, "password": ""}, "mode": "fast",
        "level": "info", "extra": None,
    }
    assert App.from_dict(app.to_dict()) == app
    assert hash(App.from_dict(app.to_dict())) == hash(app)


@pytest.mark.parametrize(
    "data, path, words",
    [
        ({"workers": "many"}, "workers", "expected integer"),
        ({"db": {"port": 70000}}, "db.port", "at most 65535"),
        ({"name": ""}, "name", "at least 1"),
        ({"level": "trace"}, "level", "one of"),
        ({"mode": "slow"}, "mode", "one of"),
        ({"tags": {"a": 1}}, "tags", "expected list"),
    ],
)
def test_errors_name_the_key(data, path, words):
    with pytest.raises(liveconf.Error) as e:
        App.from_dict(data)
    assert e.value.path == path, str(e.value)
    assert words in str(e.value)
    assert e.value.code in ("type", "validation")


def test_immutable_and_evolve():
    app = App()
    with pytest.raises(liveconf.FrozenInstanceError):
        app.workers = 9
    with pytest.raises(AttributeError):
        app.tags.append("x")  # a tuple
    with pytest.raises(TypeError):
        app.limits["x"] = 1  # a read-only mapping
    newer = app.evolve(workers=9, db=Database(port=1))
    assert app.workers == 4 and newer.workers == 9 and newer.db.port == 1
    with pytest.raises(liveconf.Error):
        app.evolve(workers="x")


def test_diff_is_real_and_masks_secrets():
    a = App()
    b = a.evolve(workers=5, tags=["x"], db=Database(password="hunter2", port=7))
    assert a.diff(b) == {
        "workers": (4, 5),
        "tags": ([], ["x"]),
        "db.port": (5432, 7),
        "db.password": ("***", "***"),
    }
    assert a.diff(a) == {}
    assert "hunter2" not in repr(b) and "'password': '***'" in repr(b)
    assert b.to_dict(mask_secrets=True)["db"]["password"] == "***"
    assert b.to_dict()["db"]["password"] == "hunter2"


def test_unknown_keys_warn_or_fail_when_strict():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        App.from_dict({"workerz": 3})
    assert any("workerz" in str(x.message) and "workers" in str(x.message) for x in w)
    with pytest.raises(liveconf.Error):
        App.from_dict({"workerz": 3}, strict=True)
    with pytest.raises(TypeError):
        App(workerz=3)


def test_from_file_errors_carry_file_line_and_column(tmp_path):
    p = tmp_path / "app.yaml"
    p.write_text("name: svc\ndb:\n  port: eighty\n")
    with pytest.raises(liveconf.Error) as e:
        App.from_file(p)
    assert (e.value.file, e.value.line, e.value.column, e.value.path) == (str(p), 3, 9, "db.port")
    assert f"{p}:3:9" in str(e.value)
    p.write_text('{"name": "svc", }')
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "svc",\n  "workers": }')
    with pytest.raises(liveconf.Error) as e:
        App.from_file(bad)
    assert e.value.code == "parse" and e.value.line == 2 and e.value.file == str(bad)
    good = tmp_path / "app.toml"
    good.write_text('workers = 3\n[db]\nport = 9\n')
    assert App.from_file(good).db.port == 9


def test_a_type_liveconf_cannot_describe_fails_at_class_definition():
    with pytest.raises(TypeError, match="cannot describe"):
        @define
        class Bad(BaseConfig):
            when: complex = 1j


def test_parse_and_values_round_trip():
    assert liveconf.parse("a: [1, 2.5, true, null, x]\n", "yaml") == {"a": [1, 2.5, True, None, "x"]}
    with pytest.raises(liveconf.Error) as e:
        liveconf.parse("a = [", "toml", "x.toml")
    assert e.value.file == "x.toml" and e.value.line == 1
    with pytest.raises(TypeError, match="at extra.a.b"):
        App.from_dict({"extra": {"a": {"b": object()}}})
    with pytest.raises(TypeError, match="64 bits"):
        App.from_dict({"extra": 2 ** 70})
