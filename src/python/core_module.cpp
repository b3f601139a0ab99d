// liveconf._core: the C++ core as a CPython extension (pybind11). The
// package around it (src/python/liveconf/) gives it the guide's API; this
// module keeps to the core's own shapes: a ConfigManager over configs
// described by a JSON Schema document, immutable snapshots, diffs, sources,
// the environment and a directory watch.
//
// Threads and the GIL: every call that may wait for a liveconf thread (the
// update thread, a dispatch, a watcher's join) releases the GIL first, and
// every callback a liveconf thread makes into Python takes it only for the
// call. Objects whose destructor joins a thread release the GIL there too
// (see release_gil_while).
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "liveconf/diff.hpp"
#include "liveconf/env.hpp"
#include "liveconf/format.hpp"
#include "liveconf/json_schema.hpp"
#include "liveconf/snapshot.hpp"
#include "liveconf/source.hpp"
#include "liveconf/store.hpp"
#include "liveconf/sync.hpp"
#include "liveconf/version.hpp"
#ifdef LIVECONF_PY_WITH_ETCD
#include "liveconf/etcd.hpp"
#endif
#include "python/convert.hpp"
#include "python/directory_watch.hpp"

namespace liveconf::python {
namespace {

using std::chrono::milliseconds;

// Runs `fn` without the GIL when the caller holds it (a destructor that joins
// a thread which may be waiting for the GIL).
template <typename Fn>
void release_gil_while(Fn&& fn) {
  if (!finalizing() && Py_IsInitialized() != 0 && PyGILState_Check() != 0) {
    py::gil_scoped_release release;
    fn();
  } else {
    fn();
  }
}

milliseconds ms(double seconds) {
  if (!(seconds >= 0)) {
    throw py::value_error("a duration must be zero or more seconds");
  }
  return milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
}

KeyPath key_path(const std::string& dotted) { return check(KeyPath::parse(dotted)); }

// ---- Snapshot and Change -------------------------------------------------------

// Counts the Python Snapshot objects alive (the tests' leak check).
std::atomic<long> g_live_snapshots{0};

struct PySnapshot {
  explicit PySnapshot(SnapshotPtr snapshot) : s(std::move(snapshot)) { ++g_live_snapshots; }
  PySnapshot(const PySnapshot& other) : s(other.s) { ++g_live_snapshots; }
  PySnapshot& operator=(const PySnapshot&) = delete;
  ~PySnapshot() { --g_live_snapshots; }
  SnapshotPtr s;
};

struct PyChange {
  Change c;
};

// A config registered with a schema binds to the converted tree (the
// environment's "8" is 8 there); the merged tree keeps the layers' text.
const Value& converted(const Snapshot& s) {
  const Value* bound = s.bound_if<Value>();
  return bound != nullptr ? *bound : s.tree();
}

py::object optional_value(const std::optional<Value>& v) {
  return v ? to_python(*v) : py::object(py::none());
}

py::list changes_list(const std::vector<Change>& changes) {
  py::list out;
  for (const Change& c : changes) {
    out.append(py::cast(PyChange{c}));
  }
  return out;
}

py::dict layer_versions(const std::vector<LayerVersion>& versions) {
  py::dict out;
  for (const LayerVersion& v : versions) {
    out[py::str(v.name)] = v.version;
  }
  return out;
}

// ---- Manager --------------------------------------------------------------------

struct PySubscription {
  Subscription sub;
  ~PySubscription() {
    release_gil_while([&] { sub.cancel(); });
  }
};

class PyManager {
 public:
  PyManager() {
    ManagerOptions options;
    // Warnings and errors go to Python's logging ("liveconf"), so an
    // application configures them like the rest of its logs.
    options.log = [](LogLevel level, std::string_view message) {
      if (finalizing()) {
        return;
      }
      py::gil_scoped_acquire gil;
      try {
        const int py_level = level == LogLevel::kDebug     ? 10
                             : level == LogLevel::kInfo    ? 20
                             : level == LogLevel::kWarning ? 30
                                                           : 40;
        py::module_::import("logging")
            .attr("getLogger")("liveconf")
            .attr("log")(py_level, std::string(message));
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("liveconf log");
      }
    };
    manager_ = std::make_shared<ConfigManager>(std::move(options));
  }
  ~PyManager() {
    release_gil_while([&] { manager_.reset(); });
  }
  PyManager(const PyManager&) = delete;
  PyManager& operator=(const PyManager&) = delete;

  ConfigManager& m() { return *manager_; }
  const std::shared_ptr<ConfigManager>& shared() const { return manager_; }

 private:
  std::shared_ptr<ConfigManager> manager_;
};

void register_config(PyManager& self, const std::string& name, const py::handle& schema_doc,
                     const py::handle& initial, bool strict,
                     const std::vector<std::string>& sensitive, std::uint64_t first_generation) {
  JsonSchema schema = check(compile_json_schema(to_value(schema_doc)));
  RegisterOptions options;
  options.strict = strict || schema.strict;
  options.first_generation = first_generation;
  for (const std::string& p : sensitive) {
    options.sensitive.push_back(key_path(p));
  }
  if (!initial.is_none()) {
    options.layers.push_back(
        Layer{std::string(kInitialLayer), kInitialPriority, to_value(initial), "initial"});
  }
  Status st;
  {
    py::gil_scoped_release release;
    st = self.m().register_schema(name, std::move(schema.schema), std::move(schema.defaults),
                                  std::move(options));
  }
  check(st);
}

WatchMode watch_mode(const std::string& name) {
  for (WatchMode m : {WatchMode::kAuto, WatchMode::kInotify, WatchMode::kPoll, WatchMode::kHybrid,
                      WatchMode::kNone}) {
    if (watch_mode_name(m) == name) {
      return m;
    }
  }
  throw py::value_error("watch must be auto, inotify, poll, hybrid or none, not \"" + name + "\"");
}

FileSourceOptions file_options(const std::string& path, int priority, bool optional,
                               const std::string& format, double debounce, const std::string& watch,
                               const std::string& source_name) {
  FileSourceOptions o;
  o.path = path;
  o.priority = priority;
  o.optional = optional;
  o.format = format;
  o.debounce.quiet = ms(debounce);
  o.debounce.max_wait = std::max(o.debounce.max_wait, o.debounce.quiet * 4);
  o.watch = watch_mode(watch);
  o.name = source_name;
  return o;
}

Status add_source(PyManager& self, const std::string& name, Result<std::unique_ptr<Source>> src) {
  if (!src) {
    return src.error();
  }
  py::gil_scoped_release release;
  return self.m().add_source(name, std::move(*src));
}

#ifdef LIVECONF_PY_WITH_ETCD
EtcdSourceOptions etcd_options(const std::vector<std::string>& endpoints, const std::string& prefix,
                               int priority, bool optional, double initial_timeout,
                               const std::string& layout, const std::string& format) {
  EtcdSourceOptions o;
  o.connection.endpoints = endpoints;
  o.prefix = prefix;
  o.priority = priority;
  o.optional = optional;
  o.initial_timeout = ms(initial_timeout);
  if (layout == "document") {
    o.layout = EtcdLayout::kDocument;
  } else if (layout != "tree") {
    throw py::value_error("layout must be tree or document");
  }
  o.format = format;
  return o;
}
#endif

py::dict status_dict(const ConfigStatus& st) {
  py::dict d;
  d["name"] = st.name;
  d["type_name"] = st.type_name;
  d["generation"] = st.generation;
  d["publishes"] = st.publishes;
  d["failures"] = st.failures;
  d["callbacks"] = st.callbacks;
  d["callback_errors"] = st.callback_errors;
  d["last_error"] =
      st.last_error ? py::object(py::str(st.last_error->to_string())) : py::object(py::none());
  d["healthy_generation"] = st.healthy_generation;
  d["layers"] = layer_versions(st.layers);
  py::list sources;
  for (const SourceStatus& s : st.sources) {
    py::dict sd;
    sd["name"] = s.name;
    sd["state"] = std::string(source_state_name(s.state));
    sd["last_error"] =
        s.last_error ? py::object(py::str(s.last_error->to_string())) : py::object(py::none());
    sd["loads"] = s.loads;
    sd["failures"] = s.failures;
    sd["signals"] = s.signals;
    sources.append(sd);
  }
  d["sources"] = sources;
  return d;
}

// ---- Sync -------------------------------------------------------------------------

struct PySync {
  std::shared_ptr<ConfigManager> keep;  // the sync refers to it
  std::unique_ptr<MultiSourceConfigSync> sync;
};

// The defaults with `data` on top, converted and validated: what a config
// registered with the schema would hold. (tree, warnings), or raises Error.
py::tuple bind_over_defaults(const JsonSchema& s, Value data, const std::string& layer,
                             bool strict) {
  std::vector<Layer> layers;
  layers.push_back(Layer{"defaults", kDefaultsPriority, s.defaults, "defaults"});
  layers.push_back(Layer{layer, 0, std::move(data), layer});
  Value tree = merge_layers(layers, s.schema->merge_policies());
  detail::BindContext ctx(BindOptions{strict || s.strict});
  Value out = Value::object();
  (void)s.schema->decode_into(tree, &out, ctx);
  const BindReport& report = ctx.report();
  check(report.status());
  std::vector<std::string> warnings;
  for (const Error& w : report.warnings) {
    warnings.push_back(w.to_string());
  }
  return py::make_tuple(to_python(out), warnings);
}

// ---- Environment watcher -------------------------------------------------------------

class PyEnvWatcher {
 public:
  explicit PyEnvWatcher(double poll_interval) {
    EnvironmentWatcherOptions o;
    o.poll_interval = ms(poll_interval);
    o.on_error = [](std::string_view message) {
      if (finalizing()) {
        return;
      }
      py::gil_scoped_acquire gil;
      py::module_::import("logging")
          .attr("getLogger")("liveconf")
          .attr("error")(std::string(message));
    };
    watcher_ = std::make_unique<EnvironmentWatcher>(std::move(o));
  }
  ~PyEnvWatcher() {
    release_gil_while([&] { watcher_.reset(); });
  }
  PyEnvWatcher(const PyEnvWatcher&) = delete;
  PyEnvWatcher& operator=(const PyEnvWatcher&) = delete;

  EnvironmentWatcher& w() { return *watcher_; }

  static EnvCallback callback(py::object fn) {
    auto ref = std::make_shared<PyRef>(std::move(fn));
    return [ref](const EnvChanges& changes) {
      if (finalizing()) {
        return;
      }
      py::gil_scoped_acquire gil;
      try {
        py::dict d;
        for (const auto& [name, c] : changes) {
          d[py::str(name)] = py::make_tuple(
              c.old_value ? py::object(py::str(*c.old_value)) : py::object(py::none()),
              c.new_value ? py::object(py::str(*c.new_value)) : py::object(py::none()));
        }
        ref->get()(d);
      } catch (py::error_already_set& e) {
        e.discard_as_unraisable("liveconf EnvironmentWatcher callback");
      }
    };
  }

 private:
  std::unique_ptr<EnvironmentWatcher> watcher_;
};

}  // namespace
}  // namespace liveconf::python

PYBIND11_MODULE(_core, m) {
  using namespace liveconf;          // NOLINT(google-build-using-namespace): binding code
  using namespace liveconf::python;  // NOLINT(google-build-using-namespace)
  m.doc() = "liveconf's C++ core. Use the liveconf package; this module is its engine.";
  init_error_type(m);
  m.attr("__version__") = LIVECONF_VERSION_STRING;
#ifdef LIVECONF_PY_WITH_ETCD
  m.attr("HAS_ETCD") = true;
#else
  m.attr("HAS_ETCD") = false;
#endif

  m.def(
      "_live_objects",
      [] {
        py::dict d;
        d["snapshots"] = g_live_snapshots.load();
        d["callbacks"] = PyRef::live_count().load();
        return d;
      },
      "Snapshot objects and C++-held Python callbacks alive now (for leak checks).");

  py::class_<PyChange>(m, "Change", "One changed key of a diff (secret values are \"***\").")
      .def_property_readonly("path", [](const PyChange& c) { return c.c.path.to_string(); })
      .def_property_readonly("old", [](const PyChange& c) { return optional_value(c.c.old_value); })
      .def_property_readonly("new", [](const PyChange& c) { return optional_value(c.c.new_value); })
      .def_property_readonly(
          "kind",
          [](const PyChange& c) {
            return !c.c.old_value ? "added" : !c.c.new_value ? "removed" : "changed";
          })
      .def_property_readonly("old_source", [](const PyChange& c) { return c.c.old_source; })
      .def_property_readonly("new_source", [](const PyChange& c) { return c.c.new_source; })
      .def_property_readonly("sensitive", [](const PyChange& c) { return c.c.sensitive; })
      .def_property_readonly("restart_required",
                             [](const PyChange& c) { return c.c.restart_required; })
      .def("__str__", [](const PyChange& c) { return c.c.to_string(); })
      .def("__repr__", [](const PyChange& c) { return "<Change " + c.c.to_string() + ">"; });

  py::class_<PySnapshot>(m, "Snapshot", "One published generation of a config: immutable.")
      .def_property_readonly("generation", [](const PySnapshot& s) { return s.s->generation(); })
      .def_property_readonly("config_name", [](const PySnapshot& s) { return s.s->config_name(); })
      .def_property_readonly(
          "published_at",
          [](const PySnapshot& s) {
            return std::chrono::duration<double>(s.s->published_at().time_since_epoch()).count();
          })
      .def(
          "tree", [](const PySnapshot& s) { return to_python(converted(*s.s)); },
          "The config as plain dicts and lists, converted by its schema (secrets included).")
      .def(
          "raw_tree", [](const PySnapshot& s) { return to_python(s.s->tree()); },
          "The merged layers before conversion (environment values are still text).")
      .def(
          "masked_tree", [](const PySnapshot& s) { return to_python(s.s->masked_tree()); },
          "The tree with secret values as \"***\".")
      .def(
          "get",
          [](const PySnapshot& s, const std::string& path) {
            const Value* v = converted(*s.s).find(key_path(path));
            if (v == nullptr) {
              throw py::key_error(path);
            }
            return to_python(*v);
          },
          py::arg("path"))
      .def(
          "origin",
          [](const PySnapshot& s, const std::string& path) -> py::object {
            const Value* v = s.s->find(key_path(path));
            if (v == nullptr || v->origin().empty()) {
              return py::none();
            }
            return py::str(v->origin().to_string());
          },
          py::arg("path"), "Where the value at `path` came from: file:line:col and layer.")
      .def(
          "explain",
          [](const PySnapshot& s, const std::string& path) {
            return to_python(s.s->explain(key_path(path)).to_value());
          },
          py::arg("path"))
      .def(
          "explain_text",
          [](const PySnapshot& s, const std::string& path) {
            return s.s->explain(key_path(path)).to_string();
          },
          py::arg("path"))
      .def_property_readonly(
          "layers", [](const PySnapshot& s) { return layer_versions(s.s->layer_versions()); })
      .def_property_readonly("warnings",
                             [](const PySnapshot& s) {
                               std::vector<std::string> out;
                               for (const Error& e : s.s->warnings()) {
                                 out.push_back(e.to_string());
                               }
                               return out;
                             })
      .def("__repr__", [](const PySnapshot& s) {
        return "<Snapshot " + s.s->config_name() + " generation " +
               std::to_string(s.s->generation()) + ">";
      });

  py::class_<Reader<Value>>(m, "Reader",
                            "A config's newest snapshot, checked with one atomic load.")
      .def("refresh", &Reader<Value>::refresh,
           "Moves to the newest snapshot; True if it was newer than the one held.")
      .def_property_readonly("stale", &Reader<Value>::stale)
      .def_property_readonly("generation",
                             [](const Reader<Value>& r) { return r.snapshot()->generation(); })
      .def("snapshot", [](const Reader<Value>& r) { return PySnapshot{r.snapshot()}; });

  py::class_<PySubscription>(m, "Subscription")
      .def(
          "cancel", [](PySubscription& s) { s.sub.cancel(); },
          py::call_guard<py::gil_scoped_release>(),
          "Stops delivery; once it returns the callback is not running (unless called from it).")
      .def_property_readonly("active", [](const PySubscription& s) { return s.sub.active(); });

  py::class_<PyManager>(m, "Manager")
      .def(py::init<>())
      .def("register", &register_config, py::arg("name"), py::arg("schema"),
           py::arg("initial") = py::none(), py::arg("strict") = false,
           py::arg("sensitive") = std::vector<std::string>{}, py::arg("first_generation") = 1)
      .def(
          "unregister",
          [](PyManager& self, const std::string& name) {
            Status st;
            {
              py::gil_scoped_release release;
              st = self.m().unregister(name);
            }
            check(st);
          },
          py::arg("name"))
      .def("names",
           [](PyManager& self) {
             std::vector<std::string> out;
             for (const ConfigStatus& s : self.m().list()) {
               out.push_back(s.name);
             }
             return out;
           })
      .def(
          "snapshot",
          [](PyManager& self, const std::string& name) {
            return PySnapshot{check(self.m().snapshot(name))};
          },
          py::arg("name"))
      .def(
          "reader",
          [](PyManager& self, const std::string& name) {
            return check(self.m().reader<Value>(name));
          },
          py::arg("name"))
      .def(
          "generation",
          [](PyManager& self, const std::string& name) {
            return check(self.m().snapshot(name))->generation();
          },
          py::arg("name"))
      .def(
          "update",
          [](PyManager& self, const std::string& name, const py::handle& data, bool replace) {
            Value v = to_value(data);
            Status st;
            {
              py::gil_scoped_release release;
              st = self.m().update(name, std::move(v), UpdateOptions{replace});
            }
            check(st);
          },
          py::arg("name"), py::arg("data"), py::arg("replace") = false)
      .def(
          "add_file_source",
          [](PyManager& self, const std::string& name, const std::string& path, int priority,
             bool optional, const std::string& format, double debounce, const std::string& watch,
             const std::string& source_name) {
            check(add_source(self, name,
                             make_file_source(file_options(path, priority, optional, format,
                                                           debounce, watch, source_name))));
          },
          py::arg("name"), py::arg("path"), py::arg("priority") = 0, py::arg("optional") = false,
          py::arg("format") = "", py::arg("debounce") = 0.1, py::arg("watch") = "auto",
          py::arg("source_name") = "")
      .def(
          "add_env_source",
          [](PyManager& self, const std::string& name, const std::string& prefix, int priority,
             double poll_interval) {
            EnvSourceOptions o;
            o.prefix = prefix;
            o.priority = priority;
            o.poll_interval = ms(poll_interval);
            check(add_source(self, name, make_env_source(std::move(o))));
          },
          py::arg("name"), py::arg("prefix") = "", py::arg("priority") = 0,
          py::arg("poll_interval") = 1.0)
#ifdef LIVECONF_PY_WITH_ETCD
      .def(
          "add_etcd_source",
          [](PyManager& self, const std::string& name, const std::vector<std::string>& endpoints,
             const std::string& prefix, int priority, bool optional, double initial_timeout,
             const std::string& layout, const std::string& format) {
            check(add_source(self, name,
                             make_etcd_source(etcd_options(endpoints, prefix, priority, optional,
                                                           initial_timeout, layout, format))));
          },
          py::arg("name"), py::arg("endpoints"), py::arg("prefix"), py::arg("priority") = 0,
          py::arg("optional") = false, py::arg("initial_timeout") = 10.0,
          py::arg("layout") = "tree", py::arg("format") = "")
#endif
      .def(
          "reload",
          [](PyManager& self, const std::string& name) {
            Status st;
            {
              py::gil_scoped_release release;
              st = self.m().reload(name);
            }
            check(st);
          },
          py::arg("name"))
      .def(
          "remove_source",
          [](PyManager& self, const std::string& name, const std::string& source) {
            Status st;
            {
              py::gil_scoped_release release;
              st = self.m().remove_source(name, source);
            }
            check(st);
          },
          py::arg("name"), py::arg("source"))
      .def(
          "subscribe",
          [](PyManager& self, const std::string& name, const std::string& prefix, py::object fn) {
            auto ref = std::make_shared<PyRef>(std::move(fn));
            KeyPath p = prefix.empty() ? KeyPath() : key_path(prefix);
            Result<Subscription> sub = self.m().subscribe(
                name, p,
                [ref, p](const SnapshotPtr& old_s, const SnapshotPtr& new_s, const ChangeSet& c) {
                  if (finalizing()) {
                    return;
                  }
                  // The core diffs the merged layers, where an environment value
                  // is still text ("300"); subscribers get the converted values.
                  ChangeSet typed;
                  const bool schema =
                      old_s->bound_if<Value>() != nullptr && new_s->bound_if<Value>() != nullptr;
                  if (schema) {
                    DiffOptions o;
                    o.sensitive = &new_s->sensitive();
                    typed = diff(converted(*old_s), converted(*new_s), o).filter(p);
                    if (typed.empty()) {
                      return;  // only the text changed ("8" -> "08"): nothing to tell
                    }
                  }
                  py::gil_scoped_acquire gil;
                  try {
                    ref->get()(py::cast(PySnapshot{old_s}), py::cast(PySnapshot{new_s}),
                               changes_list(schema ? typed.changes() : c.changes()));
                  } catch (py::error_already_set& e) {
                    e.discard_as_unraisable("liveconf subscription callback");
                  }
                });
            auto out = std::make_unique<PySubscription>();
            out->sub = check(std::move(sub));
            return out;
          },
          py::arg("name"), py::arg("prefix"), py::arg("callback"))
      .def(
          "status",
          [](PyManager& self, const std::string& name) {
            return status_dict(check(self.m().status(name)));
          },
          py::arg("name"))
      .def(
          "export",
          [](PyManager& self, const std::string& name, const std::string& format,
             bool reveal_secrets) {
            ExportOptions o;
            o.format = format;
            o.reveal_secrets = reveal_secrets;
            return check(self.m().export_config(name, o));
          },
          py::arg("name"), py::arg("format") = "json", py::arg("reveal_secrets") = false)
      .def(
          "explain",
          [](PyManager& self, const std::string& name, const std::string& path) {
            return to_python(check(self.m().explain(name, key_path(path))).to_value());
          },
          py::arg("name"), py::arg("path"));

  py::class_<PySync>(m, "Sync", "MultiSourceConfigSync: sources by priority, lower number wins.")
      .def(py::init([](PyManager& manager, const std::string& name, double debounce) {
             auto out = std::make_unique<PySync>();
             out->keep = manager.shared();
             SyncOptions o;
             o.debounce.quiet = ms(debounce);
             out->sync = std::make_unique<MultiSourceConfigSync>(name, *out->keep, o);
             return out;
           }),
           py::arg("manager"), py::arg("name"), py::arg("debounce") = 0.1)
      .def(
          "add_file_source",
          [](PySync& self, const std::string& path, int priority, const std::string& format) {
            FileSourceOptions f;
            f.format = format;
            Status st;
            {
              py::gil_scoped_release release;
              st = self.sync->add_file_source(path, priority, std::move(f));
            }
            check(st);
          },
          py::arg("path"), py::arg("priority") = 10, py::arg("format") = "")
      .def(
          "add_env_source",
          [](PySync& self, const std::string& prefix, int priority, double poll_interval) {
            EnvSourceOptions e;
            e.poll_interval = ms(poll_interval);
            Status st;
            {
              py::gil_scoped_release release;
              st = self.sync->add_env_source(prefix, priority, std::move(e));
            }
            check(st);
          },
          py::arg("prefix"), py::arg("priority") = 20, py::arg("poll_interval") = 1.0)
#ifdef LIVECONF_PY_WITH_ETCD
      .def(
          "add_etcd_source",
          [](PySync& self, const std::vector<std::string>& endpoints, const std::string& prefix,
             int priority, bool optional, double initial_timeout) {
            EtcdSourceOptions o =
                etcd_options(endpoints, prefix, 0, optional, initial_timeout, "tree", "");
            Status st;
            {
              py::gil_scoped_release release;
              st = self.sync->add_source(priority, [&](int layer_priority) {
                o.priority = layer_priority;
                return make_etcd_source(o);
              });
            }
            check(st);
          },
          py::arg("endpoints"), py::arg("prefix"), py::arg("priority") = 5,
          py::arg("optional") = false, py::arg("initial_timeout") = 10.0)
#endif
      .def("sync",
           [](PySync& self) {
             Result<SnapshotPtr> r = Error(ErrorCode::kInternal, "not run");
             {
               py::gil_scoped_release release;
               r = self.sync->sync();
             }
             return PySnapshot{check(std::move(r))};
           })
      .def("sources_of",
           [](PySync& self) {
             py::list out;
             for (const KeySource& k : self.sync->sources_of()) {
               out.append(py::make_tuple(k.path, k.source, k.location));
             }
             return out;
           })
      .def("sources", [](PySync& self) { return self.sync->sources(); });

  py::class_<JsonSchema>(m, "Schema", "A config's schema (a JSON Schema subset), compiled.")
      .def(
          py::init([](const py::handle& doc) { return check(compile_json_schema(to_value(doc))); }),
          py::arg("document"))
      .def_property_readonly("defaults", [](const JsonSchema& s) { return to_python(s.defaults); })
      .def_property_readonly("type_name", [](const JsonSchema& s) { return s.schema->type_name(); })
      .def(
          "bind",
          [](const JsonSchema& s, const py::handle& data, bool strict) {
            return bind_over_defaults(s, to_value(data), "data", strict);
          },
          py::arg("data"), py::arg("strict") = false,
          "Converts and validates `data` over the defaults: (tree, warnings), or raises Error.")
      .def(
          "bind_text",
          [](const JsonSchema& s, const std::string& text, const std::string& format,
             const std::string& file, bool strict) {
            const Format* f = find_format(format);
            if (f == nullptr) {
              throw py::value_error("unknown format \"" + format + "\"");
            }
            ParseOptions o;
            o.origin = make_file_origin("file:" + file, file);
            return bind_over_defaults(s, check(f->parse(text, o)), "file:" + file, strict);
          },
          py::arg("text"), py::arg("format"), py::arg("file"), py::arg("strict") = false,
          "Parses `text` (errors name `file`, line and column), then as bind().");

  m.def(
      "diff",
      [](const py::handle& old_tree, const py::handle& new_tree,
         const std::vector<std::string>& sensitive) {
        SensitivePaths paths;
        for (const std::string& p : sensitive) {
          paths.add(key_path(p));
        }
        DiffOptions o;
        o.sensitive = &paths;
        return changes_list(diff(to_value(old_tree), to_value(new_tree), o).changes());
      },
      py::arg("old"), py::arg("new"), py::arg("sensitive") = std::vector<std::string>{},
      "The changes from `old` to `new` (dicts), secrets masked.");
  m.def(
      "merge_layers",
      [](const py::list& layers) {
        std::vector<Layer> stack;
        for (const py::handle item : layers) {
          auto t = item.cast<py::tuple>();
          Layer l{t[0].cast<std::string>(), t[1].cast<int>(), to_value(t[2]), ""};
          l.data.set_origin_recursive(Origin::named(l.name));
          stack.push_back(std::move(l));
        }
        Value merged;
        {
          py::gil_scoped_release release;
          merged = merge_layers(stack, MergePolicies{});
        }
        // The guide's source_tracking: each top-level key's layer (one Python
        // string per layer, shared).
        py::dict sources;
        std::map<const OriginInfo*, py::str> names;
        if (merged.is_object()) {
          for (const auto& [key, v] : merged.as_object()) {
            auto [it, fresh] = names.try_emplace(v.origin().info().get());
            if (fresh) {
              it->second = py::str(v.origin().source());
            }
            sources[py::str(key)] = it->second;
          }
        }
        return py::make_tuple(to_python(merged), sources);
      },
      py::arg("layers"),
      "Merges [(name, priority, dict), ...] (higher priority wins, deep): (merged, {key: "
      "layer}).");
  m.def(
      "parse",
      [](const std::string& text, const std::string& format, const std::string& name) {
        const Format* f = find_format(format);
        if (f == nullptr) {
          throw py::value_error("unknown format \"" + format + "\" (json, yaml, toml, ini or env)");
        }
        ParseOptions o;
        o.origin = make_file_origin(name, name);
        return to_python(check(f->parse(text, o)));
      },
      py::arg("text"), py::arg("format"), py::arg("name") = "<string>");
  m.def(
      "format_for_path",
      [](const std::string& path) -> py::object {
        const Format* f = format_for_path(path);
        return f == nullptr ? py::object(py::none()) : py::object(py::str(f->name()));
      },
      py::arg("path"));
  // The environment functions take liveconf's environment lock: never while
  // holding the GIL, since a thread that holds that lock may be waiting for it.
  m.def(
      "get_env", [](const std::string& name) { return get_env(name); }, py::arg("name"),
      py::call_guard<py::gil_scoped_release>(),
      "NAME's value from the C environment (under liveconf's lock), or None.");
  m.def(
      "set_env",
      [](const std::string& name, const std::string& value) {
        Status st;
        {
          py::gil_scoped_release release;
          st = set_env(name, value);
        }
        check(st);
      },
      py::arg("name"), py::arg("value"),
      "setenv under liveconf's lock; wakes every watcher at once.");
  m.def(
      "unset_env",
      [](const std::string& name) {
        Status st;
        {
          py::gil_scoped_release release;
          st = unset_env(name);
        }
        check(st);
      },
      py::arg("name"));
  m.def(
      "environ", [](const std::string& prefix) { return environment_snapshot(prefix); },
      py::arg("prefix") = "", py::call_guard<py::gil_scoped_release>());

  py::class_<PyEnvWatcher>(m, "EnvWatcher", "Polls the C environment; (old, new) per variable.")
      .def(py::init<double>(), py::arg("poll_interval") = 5.0)
      .def(
          "watch_vars",
          [](PyEnvWatcher& self, std::vector<std::string> names, py::object fn) {
            EnvCallback cb = PyEnvWatcher::callback(std::move(fn));
            py::gil_scoped_release release;  // a running poll may wait for the GIL
            return self.w().watch_vars(std::move(names), std::move(cb));
          },
          py::arg("names"), py::arg("callback"))
      .def(
          "watch_prefix",
          [](PyEnvWatcher& self, std::string prefix, py::object fn) {
            EnvCallback cb = PyEnvWatcher::callback(std::move(fn));
            py::gil_scoped_release release;
            return self.w().watch_prefix(std::move(prefix), std::move(cb));
          },
          py::arg("prefix"), py::arg("callback"))
      .def(
          "unwatch", [](PyEnvWatcher& self, std::uint64_t id) { self.w().unwatch(id); },
          py::call_guard<py::gil_scoped_release>(), py::arg("id"))
      .def("start",
           [](PyEnvWatcher& self) {
             Status st;
             {
               py::gil_scoped_release release;
               st = self.w().start();
             }
             check(st);
           })
      .def(
          "stop", [](PyEnvWatcher& self) { self.w().stop(); },
          py::call_guard<py::gil_scoped_release>())
      .def(
          "poll", [](PyEnvWatcher& self) { return self.w().poll(); },
          py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("running", [](PyEnvWatcher& self) { return self.w().running(); })
      .def_property_readonly("polls", [](PyEnvWatcher& self) { return self.w().polls(); });

  py::class_<DirectoryWatch>(m, "DirectoryWatch",
                             "Settled changes of a directory's entries (or one file).")
      .def(py::init([](const std::string& path, bool recursive, double settle, py::object fn) {
             return std::make_unique<DirectoryWatch>(path, recursive, ms(settle), std::move(fn));
           }),
           py::arg("path"), py::arg("recursive"), py::arg("settle"), py::arg("callback"))
      .def("start", &DirectoryWatch::start, py::call_guard<py::gil_scoped_release>())
      .def("stop", &DirectoryWatch::stop, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("running", &DirectoryWatch::running)
      .def_property_readonly("scans", &DirectoryWatch::scans);
}
