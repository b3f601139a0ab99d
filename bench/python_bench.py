#!/usr/bin/env python3
"""The Python module against plain Python and the guide's own code.

  PYTHONPATH=build/release/python python3 bench/python_bench.py [--reps N] [--target-ms MS]

Cases (each a median over --reps batches of about --target-ms, this thread's
CPU time, cyclic GC off during a batch, as bench/seed_python_bench.py does):

  read_*     one config read and one attribute read:
             plain_attr        obj.timeout on a plain Python object (the floor)
             guide_attrs_attr  cfg.timeout on the guide's WatchedConfig (an attrs
                               @define class, the guide's own shape)
             guide_get         `await manager.get(name)` + attribute, where the
                               manager is what the guide's ConfigManager.get amounts
                               to (its code is not in the guide): a dict lookup in
                               an async method
             liveconf_attr     cfg.timeout on a liveconf config object
             liveconf_get_now  manager.get_now(name).timeout (one call into the core
                               to compare the generation, then the cached object)
             liveconf_get      `await manager.get(name)` + attribute
  env_poll_* a poll of 1,000 watched variables (1,002 in the environment),
             steady and with 10 changed: liveconf's EnvWatcher.poll() through the
             binding (its callback is Python) vs the guide's
             EnvironmentWatcher._check_for_changes(), taken from the guide at run
             time by bench/seed_python_bench.py's extraction
  merge_3x10k three layers of 10,000 keys merged with the source of every key:
             liveconf._core.merge_layers on Python dicts (converted in and out) vs
             the guide's merge loop of sync_configuration

Output: one JSON line per case and implementation ("summary"), then a table.
"""

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import seed_python_bench as seed  # noqa: E402  (the guide's code, extracted at run time)

import attrs  # noqa: E402

import liveconf  # noqa: E402
from liveconf import _core  # noqa: E402


def run(name, impl, opt, batch):
    """Calibrates, then --reps samples of ns per operation; returns the summary."""
    target_ns = opt.target_ms * 1e6
    iters = 1
    while True:
        ns = seed.timed(batch, iters)
        if ns >= target_ns / 2 or iters >= 1 << 30:
            iters = max(1, int(iters * target_ns / max(ns, 1)))
            break
        iters *= 4
    samples = [seed.timed(batch, iters) / iters for _ in range(opt.reps)]
    out = {
        "type": "summary", "impl": impl, "case": name, "reps": opt.reps, "iters": iters,
        "median_ns": round(seed.percentile(samples, 0.5), 1),
        "p10_ns": round(seed.percentile(samples, 0.1), 1),
        "p90_ns": round(seed.percentile(samples, 0.9), 1),
    }
    print(json.dumps(out), flush=True)
    return out


# ---- reads ---------------------------------------------------------------------------


@attrs.define
class GuideWatchedConfig:
    """The guide's WatchedConfig, as its @define (attrs) makes it."""

    api_key: str = attrs.field(default="default-key")
    timeout: int = attrs.field(default=30)
    enabled: bool = attrs.field(default=True)
    endpoints: list = attrs.field(factory=list)


class GuideManager:
    """What the guide's ConfigManager.get amounts to: a dict lookup in an async method."""

    def __init__(self):
        self._configs = {}

    async def register(self, name, config):
        self._configs[name] = config

    async def get(self, name):
        return self._configs[name]


@liveconf.define
class WatchedConfig(liveconf.BaseConfig):
    api_key: str = liveconf.field(default="default-key", description="API key")
    timeout: int = liveconf.field(default=30, description="Request timeout")
    enabled: bool = liveconf.field(default=True, description="Feature enabled")
    endpoints: list[str] = liveconf.field(factory=list, description="API endpoints")


class Plain:
    def __init__(self):
        self.api_key, self.timeout, self.enabled, self.endpoints = "k", 30, True, []


def bench_reads(opt):
    rows = []
    plain = Plain()
    guide_cfg = GuideWatchedConfig()
    manager = liveconf.ConfigManager()
    manager.register_now("watched", WatchedConfig())
    manager.update_now("watched", {"timeout": 31})
    ours = manager.get_now("watched")
    guide = GuideManager()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(guide.register("watched", guide_cfg))

    def attr_loop(obj):
        def batch(n):
            total = 0
            for _ in range(n):
                total += obj.timeout
            return None
        return batch

    def get_now(n):
        get = manager.get_now
        for _ in range(n):
            get("watched").timeout
        return None

    def awaited(mgr):
        async def body(n):
            for _ in range(n):
                (await mgr.get("watched")).timeout

        def batch(n):
            loop.run_until_complete(body(n))
            return None
        return batch

    rows.append(run("read", "plain_attr", opt, attr_loop(plain)))
    rows.append(run("read", "guide_attrs_attr", opt, attr_loop(guide_cfg)))
    rows.append(run("read", "guide_get", opt, awaited(guide)))
    rows.append(run("read", "liveconf_attr", opt, attr_loop(ours)))
    rows.append(run("read", "liveconf_get_now", opt, get_now))
    rows.append(run("read", "liveconf_get", opt, awaited(manager)))
    loop.close()
    return rows


# ---- environment poll -----------------------------------------------------------------


def bench_env(opt, watcher_cls):
    rows = []
    names = [seed.var_name(i) for i in range(1000)]
    for i, n in enumerate(names):
        liveconf.set_env(n, seed.var_value(i))  # the C environment and os.environ agree
        os.environ[n] = seed.var_value(i)
    changed = [names[j * 100] for j in range(10)]
    phase = [0]

    def flip():
        phase[0] ^= 1
        for n in changed:
            os.environ[n] = f"{n}-{phase[0]}"  # putenv through liveconf's lock (guarded)

    liveconf.guard_environ()
    delivered = [0]
    core = _core.EnvWatcher(3600.0)  # never started: poll() on this thread
    core.watch_vars(names, lambda changes: delivered.__setitem__(0, delivered[0] + len(changes)))
    theirs = watcher_cls(poll_interval=5.0)

    async def on_change(changes):
        pass

    theirs.watch_vars(names, on_change)

    def steady(poll):
        def batch(n):
            for _ in range(n):
                poll()
            return None
        return batch

    def with_changes(poll):
        def batch(n):
            spent = 0
            for _ in range(n):
                flip()
                t0 = seed.clock()
                poll()
                spent += seed.clock() - t0
            return spent
        return batch

    core.poll()
    rows.append(run("env_poll_steady", "liveconf", opt, steady(core.poll)))
    rows.append(run("env_poll_steady", "guide", opt, steady(theirs._check_for_changes)))
    rows.append(run("env_poll_10_changed", "liveconf", opt, with_changes(core.poll)))
    rows.append(run("env_poll_10_changed", "guide", opt, with_changes(theirs._check_for_changes)))
    if delivered[0] == 0:
        seed.fail("liveconf's poll delivered no change")
    for n in names:
        del os.environ[n]
    return rows


# ---- merge -------------------------------------------------------------------------------


def bench_merge(opt, seed_merge):
    source_data = sorted(
        ((30 - 10 * i, f"layer_{'abc'[i]}", seed.make_layer(i)) for i in range(3)),
        key=lambda x: x[0])
    ours_layers = [(name, -priority, data) for priority, name, data in source_data]
    m1, t1 = seed_merge(source_data)
    m2, t2 = _core.merge_layers(ours_layers)
    if m1 != m2 or t1 != t2:
        seed.fail("the merges disagree")

    def ours(n):
        for _ in range(n):
            _core.merge_layers(ours_layers)
        return None

    def theirs(n):
        for _ in range(n):
            seed_merge(source_data)
        return None

    return [run("merge_3x10k", "liveconf", opt, ours), run("merge_3x10k", "guide", opt, theirs)]


def main():
    repo = HERE.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--target-ms", type=float, default=20.0)
    ap.add_argument("--seed", type=Path, default=Path(os.environ.get(
        "LIVECONF_SEED", repo / ".." / "shared" / "seed" / "configuration-watchers.md")))
    opt = ap.parse_args()
    markdown = opt.seed.read_text(encoding="utf-8")
    watcher_cls, _, _ = seed.load_environment_watcher(markdown, opt.seed)
    seed_merge, _ = seed.load_merge_loop(markdown, opt.seed)

    rows = bench_reads(opt) + bench_env(opt, watcher_cls) + bench_merge(opt, seed_merge)
    by = {(r["case"], r["impl"]): r for r in rows}
    print("\n| case | implementation | median | p10-p90 | vs liveconf |", file=sys.stderr)
    print("|---|---|---|---|---|", file=sys.stderr)
    base = {"read": by[("read", "liveconf_get_now")]}
    for r in rows:
        ref = base.get(r["case"]) or by.get((r["case"], "liveconf"))
        ratio = r["median_ns"] / ref["median_ns"] if ref else float("nan")
        print(f"| {r['case']} | {r['impl']} | {r['median_ns'] / 1000:.3f} us | "
              f"{r['p10_ns'] / 1000:.3f}-{r['p90_ns'] / 1000:.3f} | {ratio:.2f}x |",
              file=sys.stderr)


if __name__ == "__main__":
    main()
