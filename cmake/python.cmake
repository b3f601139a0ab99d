# Finds what the Python module (src/python) needs: CPython 3 headers and
# pybind11. LIVECONF_PYTHON (ON, OFF, AUTO) decides; AUTO builds it when both
# are found. Sets LIVECONF_PYTHON_BUILD.
if(LIVECONF_PYTHON)
  # CPython from Debian's /usr/bin/python3, not whatever `python3` is first on
  # PATH (a pyenv or virtualenv interpreter has other headers and site-packages).
  if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  if(LIVECONF_PYTHON STREQUAL "AUTO")
    find_package(Python3 3.9 COMPONENTS Interpreter Development.Module)
    if(Python3_FOUND)
      find_package(pybind11 2.6 CONFIG)
    endif()
    if(Python3_FOUND AND pybind11_FOUND)
      set(LIVECONF_PYTHON_BUILD ON)
    else()
      message(STATUS "liveconf: the Python module is not built (needs python3-dev and pybind11-dev)")
      set(LIVECONF_PYTHON_BUILD OFF)
    endif()
  else()
    find_package(Python3 3.9 REQUIRED COMPONENTS Interpreter Development.Module)
    find_package(pybind11 2.6 CONFIG REQUIRED)
    set(LIVECONF_PYTHON_BUILD ON)
  endif()
else()
  set(LIVECONF_PYTHON_BUILD OFF)
endif()
if(LIVECONF_PYTHON_BUILD)
  # The extension module is a shared object that links the static libraries,
  # so their code must be position-independent. -fPIC instead of the
  # toolchain's default -fPIE costs nothing measurable on x86-64 (the read
  # path is an atomic load; BENCHMARKS.md is measured with it).
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
endif()
