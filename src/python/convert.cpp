#include "python/convert.hpp"

#include <atomic>
#include <cstdint>
#include <limits>
#include <string_view>

namespace liveconf::python {
namespace {

PyObject* g_error_type = nullptr;  // owned by the module for the process's life
std::atomic<bool> g_finalizing{false};

// Where a value sits, for error messages only: a chain of the parents' keys
// or indexes, turned into text only when a conversion fails.
struct Where {
  const Where* parent = nullptr;
  std::string_view key;  // empty: an array index
  std::size_t index = 0;

  [[nodiscard]] std::string text() const {
    std::string head = parent != nullptr ? parent->text() : std::string();
    if (parent == nullptr) {
      return head;
    }
    if (key.empty()) {
      return head + "[" + std::to_string(index) + "]";
    }
    return head.empty() ? std::string(key) : head + "." + std::string(key);
  }
  [[nodiscard]] std::string at() const {
    const std::string t = text();
    return t.empty() ? std::string() : " at " + t;
  }
};

std::string_view utf8(PyObject* str) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str, &size);
  if (data == nullptr) {
    throw py::error_already_set();
  }
  return {data, static_cast<std::size_t>(size)};
}

Value convert(py::handle obj, const Where& where, int depth) {
  PyObject* o = obj.ptr();
  if (depth > 256) {
    throw py::value_error("value nested deeper than 256 levels" + where.at());
  }
  if (o == Py_None) {
    return Value();
  }
  if (PyBool_Check(o)) {
    return Value(o == Py_True);
  }
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0) {
      throw py::type_error("integer" + where.at() + " does not fit in 64 bits");
    }
    return Value(static_cast<std::int64_t>(v));
  }
  if (PyFloat_Check(o)) {
    return Value(PyFloat_AS_DOUBLE(o));
  }
  if (PyUnicode_Check(o)) {
    return Value(std::string(utf8(o)));
  }
  if (PyDict_Check(o)) {
    Value out = Value::object();
    Object& members = out.as_object();
    members.reserve(static_cast<std::size_t>(PyDict_Size(o)));
    PyObject* key = nullptr;
    PyObject* item = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(o, &pos, &key, &item)) {
      if (!PyUnicode_Check(key)) {
        throw py::type_error("key " + py::repr(key).cast<std::string>() + where.at() +
                             " is not a string");
      }
      const std::string_view k = utf8(key);
      const Where child{&where, k.empty() ? std::string_view("\"\"") : k, 0};
      auto [slot, inserted] = members.try_emplace(k);
      *slot = convert(item, child, depth + 1);
    }
    return out;
  }
  if (PyList_Check(o) || PyTuple_Check(o)) {
    Value out = Value::array();
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
    out.as_array().reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      const Where child{&where, {}, static_cast<std::size_t>(i)};
      out.push_back(convert(PySequence_Fast_GET_ITEM(o, i), child, depth + 1));
    }
    return out;
  }
  if (py::hasattr(obj, "to_dict")) {
    return convert(obj.attr("to_dict")(), where, depth + 1);
  }
  if (py::isinstance(obj, py::module_::import("collections.abc").attr("Mapping"))) {
    return convert(py::dict(py::reinterpret_borrow<py::object>(obj)), where, depth);
  }
  throw py::type_error("cannot use a " +
                       py::str(obj.get_type().attr("__name__")).cast<std::string>() +
                       " as a configuration value" + where.at() +
                       " (use None, bool, int, float, str, list, tuple or dict)");
}

}  // namespace

py::handle error_type() { return g_error_type; }

void init_error_type(py::module_& m) {
  g_error_type = PyErr_NewExceptionWithDoc(
      "liveconf._core.Error",
      "A liveconf error: code, message, file, line, column, path and source say what and "
      "where (file, line and column are None when unknown).",
      PyExc_Exception, nullptr);
  m.attr("Error") = py::handle(g_error_type);
  // Threads must stop taking the GIL once the interpreter is going away.
  py::module_::import("atexit").attr("register")(
      py::cpp_function([] { g_finalizing.store(true); }));
}

bool finalizing() noexcept { return g_finalizing.load(); }

void raise(const Error& e) {
  py::object exc = py::reinterpret_borrow<py::object>(g_error_type)(e.to_string());
  exc.attr("code") = std::string(error_code_name(e.code()));
  exc.attr("message") = e.message();
  const Origin& o = e.origin();
  exc.attr("file") = o.file().empty() ? py::object(py::none()) : py::object(py::str(o.file()));
  exc.attr("line") = o.line() == 0 ? py::object(py::none()) : py::object(py::int_(o.line()));
  exc.attr("column") = o.column() == 0 ? py::object(py::none()) : py::object(py::int_(o.column()));
  exc.attr("source") =
      o.source().empty() ? py::object(py::none()) : py::object(py::str(o.source()));
  exc.attr("path") =
      e.path().empty() ? py::object(py::none()) : py::object(py::str(e.path().to_string()));
  PyErr_SetObject(g_error_type, exc.ptr());
  throw py::error_already_set();
}

Value to_value(py::handle obj) { return convert(obj, Where{}, 0); }

namespace {

// New references, built with the C API: this runs for every node of every
// snapshot a Python caller reads.
PyObject* new_str(std::string_view s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (o == nullptr) {
    throw py::error_already_set();
  }
  return o;
}

PyObject* build(const Value& v) {
  PyObject* out = nullptr;
  switch (v.type()) {
    case Value::Type::kNull:
      Py_INCREF(Py_None);
      return Py_None;
    case Value::Type::kBool:
      out = v.as_bool() ? Py_True : Py_False;
      Py_INCREF(out);
      return out;
    case Value::Type::kInt:
      out = PyLong_FromLongLong(static_cast<long long>(v.as_int()));
      break;
    case Value::Type::kDouble:
      out = PyFloat_FromDouble(v.as_double());
      break;
    case Value::Type::kString:
      return new_str(v.as_string());
    case Value::Type::kArray: {
      const std::span<const Value> a = v.as_array();
      py::object list =
          py::reinterpret_steal<py::object>(PyList_New(static_cast<Py_ssize_t>(a.size())));
      if (!list) {
        throw py::error_already_set();
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), build(a[i]));  // steals
      }
      return list.release().ptr();
    }
    case Value::Type::kObject: {
      py::object dict = py::reinterpret_steal<py::object>(PyDict_New());
      if (!dict) {
        throw py::error_already_set();
      }
      for (const auto& [k, member] : v.as_object()) {
        py::object key = py::reinterpret_steal<py::object>(new_str(k));
        py::object item = py::reinterpret_steal<py::object>(build(member));
        if (PyDict_SetItem(dict.ptr(), key.ptr(), item.ptr()) != 0) {
          throw py::error_already_set();
        }
      }
      return dict.release().ptr();
    }
  }
  if (out == nullptr) {
    throw py::error_already_set();
  }
  return out;
}

}  // namespace

py::object to_python(const Value& v) { return py::reinterpret_steal<py::object>(build(v)); }

std::atomic<long>& PyRef::live_count() noexcept {
  static std::atomic<long> count{0};
  return count;
}

PyRef::~PyRef() {
  --live_count();
  if (obj_ == nullptr || finalizing() || Py_IsInitialized() == 0) {
    return;  // leaked on purpose at shutdown (see the class comment)
  }
  py::gil_scoped_acquire gil;
  Py_DECREF(obj_);
}

}  // namespace liveconf::python
