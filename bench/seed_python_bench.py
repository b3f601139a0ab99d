#!/usr/bin/env python3
"""The seed's Python side of bench/env_bench.cpp: same cases, same data.

The code measured is taken at run time from the seed document
(../shared/seed/configuration-watchers.md from the repository root, or
--seed PATH, or $LIVECONF_SEED): nothing of it is copied here.

  * class EnvironmentWatcher, from the python block of the section
    "Environment Change Detection", executed with that block's own imports
    (the unavailable `attrs` and `provide.foundation` imports are skipped;
    the class uses only os, asyncio and typing);
  * the merge loop of MultiSourceConfigSync.sync_configuration, from the
    python block of "Multi-Source Synchronization": the statements from
    `merged_config = {}` through the end of
    `for priority, source_name, data in source_data:`, executed as the body of
    a function returning (merged_config, source_tracking).

If either cannot be found the script stops with an error; there is no
fallback copy.

  python3 bench/seed_python_bench.py [--reps N] [--target-ms MS] [--vars N]
                                     [--changed N] [--clock cpu|wall] [--seed PATH]
                                     [--show-seed]

Output: one JSON object per line, in the format of env_bench ("sample",
"summary" and "check" lines), with "impl": "seed_python".
"""

import argparse
import ast
import gc
import json
import os
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

# Modules the seed's blocks import that are not installed and that the
# extracted code does not use; any other failing import is an error.
UNAVAILABLE_MODULES = {"attrs", "provide"}


def fail(message):
    sys.stderr.write(f"seed_python_bench: {message}\n")
    sys.exit(1)


# ---- Extraction from the seed -------------------------------------------------------


def python_block_after(markdown, heading, seed_path):
    """The text of the first ```python block after the line `heading`."""
    lines = markdown.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        fail(f"heading {heading!r} not found in {seed_path}")
    i = start + 1
    while i < len(lines) and not lines[i].strip().startswith("```"):
        if lines[i].startswith("#"):
            fail(f"no code block under {heading!r} in {seed_path} (next heading: {lines[i]!r})")
        i += 1
    if i == len(lines) or lines[i].strip() != "```python":
        fail(f"no ```python block under {heading!r} in {seed_path}")
    body = []
    i += 1
    while i < len(lines) and lines[i].strip() != "```":
        body.append(lines[i])
        i += 1
    if i == len(lines):
        fail(f"unterminated code block under {heading!r} in {seed_path}")
    return "\n".join(body) + "\n"


def parse_block(block, what, seed_path):
    try:
        return ast.parse(block)
    except SyntaxError as e:
        fail(f"the {what} code block in {seed_path} does not parse: {e}")


def run_imports(tree, namespace, what):
    """Executes the block's top-level imports, skipping unavailable modules."""
    skipped = []
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), f"<seed {what} imports>",
                         "exec"), namespace)
        except ModuleNotFoundError as e:
            root = (e.name or "").split(".")[0]
            if root not in UNAVAILABLE_MODULES:
                raise
            skipped.append(ast.unparse(node))
    return skipped


def top_level_class(tree, name, what, seed_path):
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    fail(f"class {name} not found in the {what} block of {seed_path}")


def load_environment_watcher(markdown, seed_path):
    block = python_block_after(markdown, "### Environment Change Detection", seed_path)
    tree = parse_block(block, "environment watcher", seed_path)
    node = top_level_class(tree, "EnvironmentWatcher", "Environment Change Detection", seed_path)
    source = ast.get_source_segment(block, node)
    namespace = {"__name__": "seed_environment_watcher"}
    skipped = run_imports(tree, namespace, "environment watcher")
    exec(compile(source, f"<seed {seed_path}: class EnvironmentWatcher>", "exec"), namespace)
    cls = namespace["EnvironmentWatcher"]
    for method in ("watch_vars", "_check_for_changes", "_notify_callbacks"):
        if not hasattr(cls, method):
            fail(f"the seed's EnvironmentWatcher has no {method}()")
    return cls, source, skipped


def is_empty_dict_assign(stmt, name):
    return (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == name
            and isinstance(stmt.value, ast.Dict) and not stmt.value.keys)


def is_source_data_loop(stmt):
    return (isinstance(stmt, ast.For) and isinstance(stmt.iter, ast.Name)
            and stmt.iter.id == "source_data" and isinstance(stmt.target, ast.Tuple)
            and [getattr(e, "id", None) for e in stmt.target.elts]
            == ["priority", "source_name", "data"])


def load_merge_loop(markdown, seed_path):
    block = python_block_after(markdown, "### Multi-Source Synchronization", seed_path)
    tree = parse_block(block, "multi-source sync", seed_path)
    cls = top_level_class(tree, "MultiSourceConfigSync", "Multi-Source Synchronization",
                          seed_path)
    method = next((n for n in cls.body
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and n.name == "sync_configuration"), None)
    if method is None:
        fail(f"MultiSourceConfigSync.sync_configuration not found in {seed_path}")
    # The method's own source, parsed on its own, locates the statements.
    method_source = textwrap.dedent(ast.get_source_segment(block, method, padded=True))
    body = ast.parse(method_source).body[0].body
    first = next((i for i, s in enumerate(body) if is_empty_dict_assign(s, "merged_config")),
                 None)
    if first is None:
        fail(f"`merged_config = {{}}` not found in sync_configuration in {seed_path}")
    last = next((i for i, s in enumerate(body) if i > first and is_source_data_loop(s)), None)
    if last is None:
        fail("`for priority, source_name, data in source_data:` not found after "
             f"`merged_config = {{}}` in sync_configuration in {seed_path}")
    if not any(is_empty_dict_assign(s, "source_tracking") for s in body[first:last]):
        fail(f"`source_tracking = {{}}` not found before the merge loop in {seed_path}")
    method_lines = method_source.splitlines()
    loop_text = textwrap.dedent(
        "\n".join(method_lines[body[first].lineno - 1:body[last].end_lineno]))
    function_text = ("def seed_merge(source_data):\n" + textwrap.indent(loop_text, "    ") +
                     "\n    return merged_config, source_tracking\n")
    namespace = {"__name__": "seed_merge"}
    exec(compile(function_text, f"<seed {seed_path}: sync_configuration merge loop>", "exec"),
         namespace)
    return namespace["seed_merge"], loop_text


# ---- Timing ---------------------------------------------------------------------


def percentile(values, p):
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


# The clock every time is read from: this thread's CPU time by default, so
# time the scheduler gives to other processes on a shared machine is not
# counted (the code measured never blocks); --clock wall for wall-clock time.
clock = time.thread_time_ns


def timed(batch, iters):
    """ns for batch(iters), with the cyclic GC off as timeit does. A batch
    returns the ns it timed itself (only part of each iteration), or None to be
    timed as a whole."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = clock()
        inner = batch(iters)
        return clock() - t0 if inner is None else inner
    finally:
        if gc_was_enabled:
            gc.enable()


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def run_case(name, opt, env_size, batch):
    target_ns = opt.target_ms * 1e6
    iters = 1
    while True:
        ns = timed(batch, iters)
        if ns >= target_ns / 2 or iters >= 1 << 30:
            iters = max(1, int(iters * target_ns / max(ns, 1)))
            break
        iters *= 4
    samples = []
    for r in range(opt.reps):
        ns = timed(batch, iters) / iters
        samples.append(ns)
        emit({"type": "sample", "impl": "seed_python", "case": name, "rep": r, "iters": iters,
              "ns_per_op": round(ns, 1)})
    emit({"type": "summary", "impl": "seed_python", "case": name, "reps": opt.reps,
          "iters": iters, "clock": "cpu" if clock is time.thread_time_ns else "wall",
          "env_size": env_size,
          "median_ns": round(percentile(samples, 0.5), 1),
          "p10_ns": round(percentile(samples, 0.1), 1),
          "p90_ns": round(percentile(samples, 0.9), 1),
          "min_ns": round(min(samples), 1), "max_ns": round(max(samples), 1)})


# ---- The cases (names and values as in env_bench.cpp) -----------------------------


def var_name(i):
    return f"LCBENCH_VAR_{i:04d}"


def var_value(i):
    return f"value-{i:04d}"


def changed_value(i, phase):
    return f"value-{i:04d}-{'a' if phase == 0 else 'b'}"


def bench_env(opt, watcher_cls):
    names = [var_name(i) for i in range(opt.vars)]
    for i, n in enumerate(names):
        os.environ[n] = var_value(i)
    changed_idx = [j * opt.vars // opt.changed for j in range(opt.changed)]
    changed_names = [var_name(i) for i in changed_idx]
    changed_values = [[changed_value(i, p) for i in changed_idx] for p in (0, 1)]
    changed_pairs = [list(zip(changed_names, changed_values[p])) for p in (0, 1)]
    env_size = len(os.environ)

    delivered = [0]

    async def on_change(changes):
        delivered[0] += len(changes)

    watcher = watcher_cls(poll_interval=5.0)  # never started: _check_for_changes() only
    watcher.watch_vars(names, on_change)
    if watcher._check_for_changes():
        fail("the first check saw changes")
    check = watcher._check_for_changes
    environ = os.environ

    def nochange(iters):
        n = 0
        for _ in range(iters):
            n += len(check())
        if n:
            fail("a no-change check reported changes")

    run_case("env_poll_nochange", opt, env_size, nochange)

    phase = [0]

    def set_only(iters):
        p = phase[0]
        for _ in range(iters):
            p ^= 1
            for name, value in changed_pairs[p]:
                environ[name] = value
        phase[0] = p

    run_case("env_set_only", opt, env_size, set_only)
    check()  # catch up with the last values set above

    # Set the changed variables, then one check: "env_poll_changed" times the
    # check alone (a clock read on each side), "env_set_and_poll" the whole.

    def set_and_check(iters, check_only):
        p = phase[0]
        n = 0
        checking = 0
        for _ in range(iters):
            p ^= 1
            for name, value in changed_pairs[p]:
                environ[name] = value
            t0 = clock()
            n += len(check())
            checking += clock() - t0
        phase[0] = p
        if n != iters * opt.changed:
            fail(f"_check_for_changes() found {n} changes, {iters * opt.changed} expected")
        return checking if check_only else None

    run_case("env_poll_changed", opt, env_size, lambda iters: set_and_check(iters, True))
    run_case("env_set_and_poll", opt, env_size, lambda iters: set_and_check(iters, False))

    # The check with the seed's callback dispatch, as _watch_loop does after a
    # check (its print left out): closer to what liveconf's poll() does, which
    # runs the callbacks. Timed like env_poll_changed.
    notify = watcher._notify_callbacks

    def set_check_notify(iters):
        p = phase[0]
        before = delivered[0]
        checking = 0
        for _ in range(iters):
            p ^= 1
            for name, value in changed_pairs[p]:
                environ[name] = value
            t0 = clock()
            changes = check()
            if changes:
                coro = notify(changes)
                try:
                    coro.send(None)  # the callbacks never suspend: one step runs them all
                except StopIteration:
                    pass
                else:
                    coro.close()
                    fail("a callback suspended")
            checking += clock() - t0
        phase[0] = p
        if delivered[0] - before != iters * opt.changed:
            fail("_notify_callbacks() did not deliver every change")
        return checking

    run_case("env_poll_changed_notify", opt, env_size, set_check_notify)

    for n in names:
        del os.environ[n]


def make_layer(index):
    """Layer a/b/c: keys [5000*index, 5000*index + 10000), as in env_bench.cpp."""
    suffix = "abc"[index]
    data = {}
    for k in range(10000):
        i = 5000 * index + k
        data[f"key_{i:05d}"] = i * 3 + index if i % 2 == 0 else f"s{i}{suffix}"
    return data


def bench_merge(opt, seed_merge):
    # (priority, source_name, data) as sync_configuration builds it; the seed
    # sorts by priority, lower number first (and first wins).
    source_data = [(30 - 10 * index, f"layer_{'abc'[index]}", make_layer(index))
                   for index in range(3)]
    source_data.sort(key=lambda x: x[0])
    merged, tracking = seed_merge(source_data)
    wins = Counter(tracking.values())
    emit({"type": "check", "impl": "seed_python", "case": "merge_3x10k", "keys": len(merged),
          "wins": {k: wins.get(k, 0) for k in ("layer_a", "layer_b", "layer_c")},
          "int_sum": sum(v for v in merged.values() if isinstance(v, int)),
          "strings": sum(1 for v in merged.values() if isinstance(v, str))})

    def merge(iters):
        total = 0
        for _ in range(iters):
            m, t = seed_merge(source_data)
            total += len(m)
        if total != iters * 20000:
            fail("the merge produced the wrong number of keys")

    run_case("merge_3x10k", opt, len(os.environ), merge)


def main():
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--target-ms", type=float, default=20.0)
    ap.add_argument("--vars", type=int, default=1000)
    ap.add_argument("--changed", type=int, default=10)
    ap.add_argument("--seed", type=Path, default=Path(os.environ.get(
        "LIVECONF_SEED", repo / ".." / "shared" / "seed" / "configuration-watchers.md")))
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="this thread's CPU time (default) or wall-clock time")
    ap.add_argument("--show-seed", action="store_true",
                    help="print the extracted seed code to stderr")
    opt = ap.parse_args()
    global clock
    clock = time.thread_time_ns if opt.clock == "cpu" else time.perf_counter_ns
    if opt.reps < 1 or opt.vars < 1 or not 0 < opt.changed <= opt.vars:
        fail("need --reps >= 1 and 0 < --changed <= --vars")
    try:
        markdown = opt.seed.read_text(encoding="utf-8")
    except OSError as e:
        fail(f"cannot read the seed {opt.seed}: {e}")

    watcher_cls, watcher_source, skipped = load_environment_watcher(markdown, opt.seed)
    seed_merge, loop_text = load_merge_loop(markdown, opt.seed)
    if opt.show_seed:
        sys.stderr.write(f"# skipped imports: {skipped}\n{watcher_source}\n\n"
                         f"# merge loop, run as the body of seed_merge(source_data):\n"
                         f"{loop_text}\n")
    bench_env(opt, watcher_cls)
    bench_merge(opt, seed_merge)


if __name__ == "__main__":
    main()
