#include "python/convert.hpp"

#include <atomic>
#include <cstdint>
#include <limits>

namespace liveconf::python {
namespace {

PyObject* g_error_type = nullptr;  // owned by the module for the process's life
std::atomic<bool> g_finalizing{false};

Value convert(py::handle obj, const std::string& where, int depth) {
  if (depth > 256) {
    throw py::value_error("value nested deeper than 256 levels at " + where);
  }
  if (obj.is_none()) {
    return Value();
  }
  if (PyBool_Check(obj.ptr())) {
    return Value(obj.ptr() == Py_True);
  }
  if (PyLong_Check(obj.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    if (overflow != 0) {
      throw py::type_error("integer at " + where + " does not fit in 64 bits");
    }
    return Value(static_cast<std::int64_t>(v));
  }
  if (PyFloat_Check(obj.ptr())) {
    return Value(PyFloat_AS_DOUBLE(obj.ptr()));
  }
  if (PyUnicode_Check(obj.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
    if (data == nullptr) {
      throw py::error_already_set();
    }
    return Value(std::string(data, static_cast<std::size_t>(size)));
  }
  if (PyDict_Check(obj.ptr())) {
    Value out = Value::object();
    Object& o = out.as_object();
    o.reserve(static_cast<std::size_t>(PyDict_Size(obj.ptr())));
    PyObject* key = nullptr;
    PyObject* item = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(obj.ptr(), &pos, &key, &item)) {
      if (!PyUnicode_Check(key)) {
        throw py::type_error("key " + py::repr(key).cast<std::string>() + " at " + where +
                             " is not a string");
      }
      std::string k = py::reinterpret_borrow<py::str>(key).cast<std::string>();
      Value v = convert(item, where.empty() ? k : where + "." + k, depth + 1);
      o.insert_or_assign(std::move(k), std::move(v));
    }
    return out;
  }
  if (PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr())) {
    Value out = Value::array();
    py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    std::size_t i = 0;
    for (py::handle item : seq) {
      out.push_back(convert(item, where + "[" + std::to_string(i++) + "]", depth + 1));
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
                       " as a configuration value" + (where.empty() ? "" : " at " + where) +
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

Value to_value(py::handle obj) { return convert(obj, "", 0); }

py::object to_python(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      return py::none();
    case Value::Type::kBool:
      return py::bool_(v.as_bool());
    case Value::Type::kInt:
      return py::int_(v.as_int());
    case Value::Type::kDouble:
      return py::float_(v.as_double());
    case Value::Type::kString:
      return py::str(v.as_string());
    case Value::Type::kArray: {
      const Value::Array& a = v.as_array();
      py::list out(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        out[i] = to_python(a[i]);
      }
      return out;
    }
    case Value::Type::kObject: {
      py::dict out;
      for (const auto& [k, member] : v.as_object()) {
        out[py::str(k)] = to_python(member);
      }
      return out;
    }
  }
  return py::none();
}

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
