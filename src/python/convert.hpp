// Conversions between liveconf values/errors and Python objects, and the
// GIL-aware holder of a Python callable that C++ threads keep.
#pragma once

#include <atomic>
#include <string>

#include <pybind11/pybind11.h>

#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf::python {

namespace py = pybind11;

/// liveconf._core.Error, created at module init.
py::handle error_type();
void init_error_type(py::module_& m);

/// Raises liveconf.Error for `e`: code, message, file, line, column, path and
/// source as attributes. Needs the GIL.
[[noreturn]] void raise(const Error& e);
inline void check(const Status& st) {
  if (!st.ok()) {
    raise(st.error());
  }
}
template <typename T>
T check(Result<T> r) {
  if (!r) {
    raise(r.error());
  }
  return std::move(*r);
}

/// None, bool, int, float, str, list/tuple, dict (str keys); anything with a
/// to_dict() method is converted through it. Raises TypeError naming the path
/// of an unsupported value, OverflowError for an int beyond 64 bits.
Value to_value(py::handle obj);
/// Plain Python objects: dict, list, str, int, float, bool, None.
py::object to_python(const Value& v);

/// A Python object kept by C++ code that may drop it on any thread: the
/// reference is released with the GIL held. During interpreter shutdown the
/// reference is leaked on purpose (taking the GIL then is not allowed).
class PyRef {
 public:
  explicit PyRef(py::object obj) : obj_(obj.release().ptr()) { ++live_count(); }
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef();
  [[nodiscard]] py::handle get() const noexcept { return obj_; }
  /// PyRefs alive now: the tests' leak check (callbacks held by C++).
  static std::atomic<long>& live_count() noexcept;

 private:
  PyObject* obj_;
};

/// True once the interpreter is shutting down: threads must not take the GIL.
bool finalizing() noexcept;

/// Calls `fn(args...)` with the GIL held (taken here) and reports an exception
/// it raises through sys.unraisablehook instead of propagating it: a callback
/// never kills the C++ thread that runs it. Returns false if it raised (or
/// the interpreter is shutting down).
template <typename... Args>
bool call_guarded(const PyRef& fn, const char* what, Args&&... args) {
  if (finalizing()) {
    return false;
  }
  py::gil_scoped_acquire gil;
  try {
    fn.get()(std::forward<Args>(args)...);
    return true;
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable(what);
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    PyErr_WriteUnraisable(py::str(what).ptr());
  }
  return false;
}

}  // namespace liveconf::python
