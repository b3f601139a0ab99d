# cmake -DPREFIX=<installed prefix> [-DLIBDIR=<lib dir under it>, else found] -DOUT=<build dir>
#       -DCXX=<compiler> [-DCXXFLAGS=...] [-DLDFLAGS=...] [-DSTATIC=1]
#       [-DEXPECT=<modules the Makefile must find>] [-DBUILDER=make|meson]
#       -P build_and_run.cmake
# Builds parts.cpp against PREFIX with flags from pkg-config alone, then runs
# it: with the Makefile beside this script (BUILDER make, the default), or as
# a Meson project (../meson/meson.build, whose dependency() reads the same .pc
# files without --static).
if(NOT DEFINED LIBDIR)
  file(GLOB_RECURSE _pc RELATIVE ${PREFIX} ${PREFIX}/*/pkgconfig/liveconf.pc)
  if(NOT _pc)
    message(FATAL_ERROR "no liveconf.pc under ${PREFIX}")
  endif()
  list(GET _pc 0 _pc)
  get_filename_component(LIBDIR ${_pc} DIRECTORY)
  get_filename_component(LIBDIR ${LIBDIR} DIRECTORY)
endif()
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
if(BUILDER STREQUAL "meson")
  set(ENV{CXX} ${CXX})
  set(ENV{CXXFLAGS} "${CXXFLAGS}")
  set(ENV{LDFLAGS} "${LDFLAGS}")
  execute_process(COMMAND meson setup ${OUT} ${CMAKE_CURRENT_LIST_DIR}/../meson
                  COMMAND_ECHO STDOUT COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND meson compile -C ${OUT} COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${OUT}/parts ${OUT} RESULT_VARIABLE _rc COMMAND_ECHO STDOUT)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "the Meson consumer exited with ${_rc}")
  endif()
  return()
endif()
set(_make make --no-print-directory -C ${CMAKE_CURRENT_LIST_DIR} OUT=${OUT} CXX=${CXX}
    "CXXFLAGS=${CXXFLAGS}" "LDFLAGS=${LDFLAGS}")
if(STATIC)
  list(APPEND _make STATIC=1)
endif()
execute_process(COMMAND ${_make} modules OUTPUT_VARIABLE _modules
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
message(STATUS "modules found by pkg-config: ${_modules}")
if(DEFINED EXPECT AND NOT _modules STREQUAL EXPECT)
  message(FATAL_ERROR "expected the .pc files \"${EXPECT}\", pkg-config found \"${_modules}\"")
endif()
execute_process(COMMAND ${_make} ${OUT}/parts COMMAND_ERROR_IS_FATAL ANY)
if(NOT STATIC)
  # A shared build: the consumer must load the libraries from PREFIX.
  set(ENV{LD_LIBRARY_PATH} "${PREFIX}/${LIBDIR}")
  execute_process(COMMAND ldd ${OUT}/parts OUTPUT_VARIABLE _ldd)
  if(NOT _ldd MATCHES "${PREFIX}/${LIBDIR}/libliveconf\\.so")
    message(FATAL_ERROR "the consumer does not load libliveconf.so from ${PREFIX}:\n${_ldd}")
  endif()
endif()
execute_process(COMMAND ${OUT}/parts ${OUT} RESULT_VARIABLE _rc COMMAND_ECHO STDOUT)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "the pkg-config consumer exited with ${_rc}")
endif()
