"""Typed configs: the guide's ``BaseConfig``, ``RuntimeConfig``, ``field`` and
``env_field``, on liveconf's core.

A class's annotated fields become a schema the C++ core compiles (types,
defaults, descriptions, secrets, environment names, constraints), so
``from_dict``, a registered config, an environment source and ``explain``
convert, validate and report errors the same way, with the key path and,
for values from files, file:line:col.

Instances are immutable snapshots: assigning a field raises
:class:`FrozenInstanceError`, lists are tuples and dicts read-only mappings.
``evolve(**changes)`` and ``ConfigManager.update`` give new ones, so
``old.diff(new)`` is a real diff.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from . import _core

MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """A config object was assigned to: configs are immutable snapshots."""


def make_error(message: str, code: str = "validation", path: Optional[str] = None) -> Exception:
    """A liveconf.Error raised from Python code, shaped like the core's."""
    err = _core.Error(f"{message}" + (f" at {path}" if path else ""))
    err.code = code
    err.message = message
    err.file = None
    err.line = None
    err.column = None
    err.source = None
    err.path = path
    return err


class Field:
    """A declared field. Made by :func:`field` / :func:`env_field`."""

    __slots__ = (
        "default",
        "factory",
        "description",
        "env_var",
        "parser",
        "secret",
        "restart_required",
        "constraints",
        "name",
        "annotation",
    )

    def __init__(
        self,
        default: Any = MISSING,
        factory: Optional[Callable[[], Any]] = None,
        description: str = "",
        env_var: Optional[str] = None,
        parser: Optional[Callable[[str], Any]] = None,
        secret: bool = False,
        restart_required: bool = False,
        constraints: Optional[Dict[str, Any]] = None,
    ) -> None:
        if default is not MISSING and factory is not None:
            raise TypeError("a field takes default= or factory=, not both")
        self.default = default
        self.factory = factory
        self.description = description
        self.env_var = env_var
        self.parser = parser
        self.secret = secret
        self.restart_required = restart_required
        self.constraints = dict(constraints or {})
        self.name = ""
        self.annotation: Any = Any

    def default_value(self) -> Any:
        if self.factory is not None:
            return self.factory()
        return self.default

    def __repr__(self) -> str:
        return f"<Field {self.name}: {self.annotation!r}>"


_CONSTRAINTS = (
    "minimum",
    "maximum",
    "min_length",
    "max_length",
    "pattern",
    "min_items",
    "max_items",
    "choices",
    "format",
)
_SCHEMA_KEYS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "min_items": "minItems",
    "max_items": "maxItems",
    "choices": "enum",
    "format": "format",
}


def field(
    *,
    default: Any = MISSING,
    factory: Optional[Callable[[], Any]] = None,
    description: str = "",
    env_var: Optional[str] = None,
    parser: Optional[Callable[[str], Any]] = None,
    secret: bool = False,
    restart_required: bool = False,
    **constraints: Any,
) -> Any:
    """Declares a field: ``timeout: int = field(default=30, description="...")``.

    ``factory`` makes the default (``factory=list``). ``secret=True`` masks the
    value in repr, diffs, explain, logs and errors. Constraints, checked by the
    core on every load: ``minimum``, ``maximum``, ``min_length``,
    ``max_length``, ``pattern``, ``min_items``, ``max_items``, ``choices``,
    ``format="duration"``.
    """
    unknown = set(constraints) - set(_CONSTRAINTS)
    if unknown:
        raise TypeError(f"field() got unknown constraint(s) {sorted(unknown)}; known: {_CONSTRAINTS}")
    return Field(default, factory, description, env_var, parser, secret, restart_required, constraints)


def env_field(
    *,
    env_var: Optional[str] = None,
    default: Any = MISSING,
    factory: Optional[Callable[[], Any]] = None,
    parser: Optional[Callable[[str], Any]] = None,
    description: str = "",
    secret: bool = False,
    **constraints: Any,
) -> Any:
    """A field read from the environment variable ``env_var`` by ``from_env()``
    (and by an environment source of a ConfigManager, where the name wins over
    PREFIX_FIELD). ``parser`` turns its text into the value; without one the
    core converts it by the field's type (``"8"`` -> 8, ``"yes"`` -> True,
    ``"a,b"`` -> ("a", "b"))."""
    return field(
        default=default,
        factory=factory,
        description=description,
        env_var=env_var,
        parser=parser,
        secret=secret,
        **constraints,
    )


# ---- Annotations -> schema -----------------------------------------------------------

_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _schema_of(tp: Any, where: str) -> Dict[str, Any]:
    """The JSON Schema (subset) node of a Python annotation."""
    if tp is Any or tp is object:
        return {}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    if isinstance(tp, type) and issubclass(tp, BaseConfig):
        return tp._liveconf_schema_document(nested=True)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        node: Dict[str, Any] = {"enum": values}
        kinds = {type(v) for v in values}
        if len(kinds) == 1 and next(iter(kinds)) in _SCALARS:
            node["type"] = _SCALARS[next(iter(kinds))]
        return node
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return {}  # Optional[X]: X or None; the core's schema has no null type
        return {}
    if origin is typing.Literal:
        node = {"enum": list(args)}
        kinds = {type(v) for v in args}
        if len(kinds) == 1 and next(iter(kinds)) in _SCALARS:
            node["type"] = _SCALARS[next(iter(kinds))]
        return node
    if tp in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset):
        node = {"type": "array"}
        if args and not (origin is tuple and (len(args) != 2 or args[1] is not Ellipsis)):
            node["items"] = _schema_of(args[0], where + "[]")
        elif args and origin is tuple:
            node["items"] = _schema_of(args[0], where + "[]") if len(set(args)) == 1 else {}
        return node
    if tp in (dict, Mapping) or origin in (dict, Mapping, typing.Mapping, typing.Dict):
        if len(args) == 2:
            if args[0] is not str:
                raise TypeError(f"{where}: configuration maps have str keys, not {args[0]!r}")
            return {"type": "object", "additionalProperties": _schema_of(args[1], where + ".*")}
        return {"type": "object"}
    raise TypeError(
        f"{where}: liveconf cannot describe the type {tp!r} "
        "(use int, float, str, bool, list[...], dict[str, ...], a BaseConfig subclass, "
        "an Enum, Literal[...], Optional[...] or Any)"
    )


def _jsonable(value: Any, where: str) -> Any:
    """Plain JSON-like values of `value` (configs, enums, tuples, sets, mappings
    converted); raises TypeError naming `where` for anything else."""
    if isinstance(value, BaseConfig):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{value!r} at {where} is not a configuration value "
                    "(use None, bool, int, float, str, list, tuple, dict or a config)")


def _warn(found: list) -> None:
    import warnings

    for w in found:
        warnings.warn(w, stacklevel=3)


# ---- Freezing trees into objects --------------------------------------------------------


def _freeze(tp: Any, value: Any) -> Any:
    """Builds the immutable Python value of a converted tree node."""
    if value is None:
        return None
    if isinstance(tp, type) and issubclass(tp, BaseConfig) and isinstance(value, dict):
        return tp._liveconf_from_tree(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in args if a is not type(None)]
        return _freeze(rest[0], value) if len(rest) == 1 else _freeze(Any, value)
    if isinstance(value, list):
        item = args[0] if args else Any
        return tuple(_freeze(item, v) for v in value)
    if isinstance(value, dict):
        item = args[1] if len(args) == 2 else Any
        return types.MappingProxyType({k: _freeze(item, v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, BaseConfig):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


# ---- BaseConfig -------------------------------------------------------------------------


class BaseConfig:
    """A typed, immutable configuration. Subclass it with annotated fields::

        @define
        class WatchedConfig(BaseConfig):
            api_key: str = field(default="default-key", description="API key", secret=True)
            timeout: int = field(default=30, description="Request timeout", minimum=1)
            endpoints: list[str] = field(factory=list, description="API endpoints")

    A plain default (``timeout: int = 30``) is a field too.
    """

    __liveconf_fields__: Dict[str, Field] = {}
    __liveconf_compiled__: Any = None
    __liveconf_document__: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: Dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "__liveconf_fields__", {}))
        own = cls.__dict__.get("__annotations__", {})
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # a forward reference not resolvable yet: resolved lazily
            hints = {}
        for name in own:
            if name.startswith("_") or typing.get_origin(own[name]) is typing.ClassVar:
                continue
            value = cls.__dict__.get(name, MISSING)
            spec = value if isinstance(value, Field) else Field(default=value)
            spec.name = name
            spec.annotation = hints.get(name, own[name])
            fields[name] = spec
            if name in cls.__dict__:
                delattr(cls, name)
        cls.__liveconf_fields__ = fields
        cls.__liveconf_compiled__ = None
        cls.__liveconf_document__ = None

    # -- schema

    @classmethod
    def _liveconf_resolve(cls) -> None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:
            return
        for name, spec in cls.__liveconf_fields__.items():
            if isinstance(spec.annotation, str) and name in hints:
                spec.annotation = hints[name]

    @classmethod
    def _liveconf_schema_document(cls, nested: bool = False) -> Dict[str, Any]:
        if cls.__dict__.get("__liveconf_document__") is not None:
            return cls.__liveconf_document__
        cls._liveconf_resolve()
        props: Dict[str, Any] = {}
        required = []
        for name, spec in cls.__liveconf_fields__.items():
            where = f"{cls.__name__}.{name}"
            node = dict(_schema_of(spec.annotation, where))
            if spec.description:
                node["description"] = spec.description
            if spec.env_var:
                node["x-env"] = spec.env_var
            if spec.secret:
                node["x-secret"] = True
            if spec.restart_required:
                node["x-restart-required"] = True
            for key, value in spec.constraints.items():
                node[_SCHEMA_KEYS[key]] = list(value) if key == "choices" else value
            default = spec.default_value()
            if default is MISSING:
                required.append(name)
            elif default is not None:
                node["default"] = _jsonable(default, where)
            props[name] = node
        doc: Dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": props}
        if required:
            doc["required"] = required
        cls.__liveconf_document__ = doc
        return doc

    @classmethod
    def _liveconf_schema(cls) -> Any:
        compiled = cls.__dict__.get("__liveconf_compiled__")
        if compiled is None:
            compiled = _core.Schema(cls._liveconf_schema_document())
            cls.__liveconf_compiled__ = compiled
        return compiled

    @classmethod
    def _liveconf_sensitive(cls, prefix: str = "") -> list:
        out = []
        for name, spec in cls.__liveconf_fields__.items():
            path = prefix + name
            if spec.secret:
                out.append(path)
            tp = spec.annotation
            if isinstance(tp, type) and issubclass(tp, BaseConfig):
                out.extend(tp._liveconf_sensitive(path + "."))
        return out

    # -- construction

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = list(type(self).__liveconf_fields__)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} got two values for {name}")
            kwargs[name] = value
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {sorted(unknown)}")
        tree, _ = type(self)._liveconf_schema().bind(_jsonable(kwargs, ""), True)
        type(self)._liveconf_fill(self, tree)

    @classmethod
    def _liveconf_from_tree(cls, tree: Dict[str, Any], snapshot: Any = None) -> Any:
        obj = cls.__new__(cls)
        cls._liveconf_fill(obj, tree, snapshot)
        return obj

    @classmethod
    def _liveconf_fill(cls, obj: Any, tree: Dict[str, Any], snapshot: Any = None) -> None:
        # Never touch obj.__dict__ here or below: reading it turns CPython's
        # inline attribute values into a dict, and every attribute read then
        # takes twice as long (BENCHMARKS.md, "Python").
        set_ = object.__setattr__
        for name, spec in cls.__liveconf_fields__.items():
            set_(obj, name, _freeze(spec.annotation, tree.get(name)))
        set_(obj, "_liveconf_snapshot", snapshot)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], strict: bool = False) -> Any:
        """A config from a dict: converted and validated by the core over the
        defaults. Raises liveconf.Error naming the key path. Unknown keys are
        warnings (``strict=True``: errors)."""
        tree, found = cls._liveconf_schema().bind(_jsonable(dict(data), ""), strict)
        _warn(found)
        return cls._liveconf_from_tree(tree)

    @classmethod
    def from_file(cls, path: Any, format: Optional[str] = None, strict: bool = False) -> Any:
        """A config from a JSON/YAML/TOML/INI/.env file (format by extension
        unless given); errors carry the file, line and column."""
        import os

        p = os.fspath(path)
        fmt = format or _core.format_for_path(p) or "json"
        with open(p, encoding="utf-8") as f:
            text = f.read()
        tree, found = cls._liveconf_schema().bind_text(text, fmt, p, strict)
        _warn(found)
        return cls._liveconf_from_tree(tree)

    @classmethod
    def from_env(cls, prefix: str = "") -> Any:
        """A config from the environment (the C environment, read under
        liveconf's lock: a change made from C is seen too). Each field reads its
        ``env_var`` and, with a prefix, ``PREFIX_FIELD``; its ``parser`` turns
        the text into the value, or the core converts it by type."""
        data: Dict[str, Any] = {}
        for name, spec in cls.__liveconf_fields__.items():
            names = []
            if spec.env_var:
                names.append(spec.env_var)
            if prefix:
                names.append(f"{prefix.rstrip('_')}_{name.upper()}")
            for var in names:
                text = _core.get_env(var)
                if text is None:
                    continue
                if spec.parser is not None:
                    try:
                        data[name] = spec.parser(text)
                    except Exception as e:
                        shown = "***" if spec.secret else repr(text)
                        raise make_error(
                            f"cannot parse ${var}={shown} for {cls.__name__}.{name}: "
                            f"{type(e).__name__}: {e if not spec.secret else '(secret)'}",
                            path=name,
                        ) from None
                else:
                    data[name] = text
                break
        return cls.from_dict(data)

    # -- reading

    def to_dict(self, mask_secrets: bool = False) -> Dict[str, Any]:
        """The config as plain dicts and lists (secrets as "***" if asked)."""
        out = {name: _thaw(getattr(self, name)) for name in type(self).__liveconf_fields__}
        if mask_secrets:
            for path in type(self)._liveconf_sensitive():
                node = out
                parts = path.split(".")
                for p in parts[:-1]:
                    node = node.get(p) if isinstance(node, dict) else None
                if isinstance(node, dict) and node.get(parts[-1]) is not None:
                    node[parts[-1]] = "***"
        return out

    def diff(self, other: "BaseConfig") -> Dict[str, Tuple[Any, Any]]:
        """``{path: (old, new)}`` for every key that differs from ``self`` to
        ``other`` (nested keys as "db.port"; secrets as "***"), computed by the
        core's diff of the two trees."""
        if not isinstance(other, BaseConfig):
            raise TypeError("diff() takes another config")
        sensitive = sorted(set(type(self)._liveconf_sensitive()) | set(type(other)._liveconf_sensitive()))
        return {c.path: (c.old, c.new) for c in _core.diff(self.to_dict(), other.to_dict(), sensitive)}

    def evolve(self, **changes: Any) -> Any:
        """A new config with `changes` applied (validated); this one is unchanged."""
        data = self.to_dict()
        data.update(_jsonable(changes, ""))
        return type(self).from_dict(data, strict=True)

    @property
    def generation(self) -> Optional[int]:
        """The generation this object was published as (None if not from a manager)."""
        snap = self._liveconf_snapshot
        return snap.generation if snap is not None else None

    def explain(self, path: str) -> str:
        """Where the value at ``path`` came from, layer by layer (from a manager)."""
        snap = self._liveconf_snapshot
        if snap is None:
            return f"{path}: {type(self).__name__} was not published by a ConfigManager"
        return snap.explain_text(path)

    def origin(self, path: str) -> Optional[str]:
        """file:line:col and layer of the value at ``path`` (from a manager)."""
        snap = self._liveconf_snapshot
        return snap.origin(path) if snap is not None else None

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(
            f"{type(self).__name__} is immutable: use evolve() or ConfigManager.update()"
        )

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        shown = self.to_dict(mask_secrets=True)
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"{type(self).__name__}({inner})"


class RuntimeConfig(BaseConfig):
    """A config read from the environment: declare fields with
    :func:`env_field` and build it with ``from_env()``."""


def define(cls: Any = None, **options: Any) -> Any:
    """The guide's ``@define`` (attrs'), for liveconf configs: the class must
    subclass BaseConfig, which already makes it an immutable, typed config;
    ``define`` checks that and compiles the schema at once, so a bad
    annotation fails at import rather than at first use."""

    def apply(c: Any) -> Any:
        if not (isinstance(c, type) and issubclass(c, BaseConfig)):
            raise TypeError(f"@define: {c!r} must subclass liveconf.BaseConfig")
        c._liveconf_schema()
        return c

    return apply(cls) if cls is not None else apply
