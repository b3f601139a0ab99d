# Debian packages with CPack (included from install-rules.cmake):
#
#   liveconf           the command-line tool, its bash/zsh completion and liveconf(1)
#   libliveconf-dev    headers, the static libraries, CMake and pkg-config files
#   python3-liveconf   the Python module (when it was built)
#
# scripts/package.sh builds them from a release build (prefix /usr, so the
# libraries land in Debian's multiarch directory) and runs lintian.
#
# Why no runtime library package (libliveconf0): the libraries are built
# static, the default of this project and of its CMake consumers. The tool
# links them in, so `liveconf` depends only on Debian's shared libraries
# (computed by dpkg-shlibdeps), and there is no soname to keep stable while
# the API is 0.x. A user who wants libliveconf.so builds with
# -DBUILD_SHARED_LIBS=ON; the package would then need that split.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME liveconf)
set(CPACK_PACKAGE_VENDOR "the liveconf developers")
# Who answers for the packages: set this when you publish them (lintian
# refuses a local mail host). The default is a documentation domain, not an inbox.
set(LIVECONF_PACKAGE_MAINTAINER "liveconf developers <liveconf@example.org>" CACHE STRING
    "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${LIVECONF_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Each package's description starts with its own summary line. CPackDeb puts
# CPACK_PACKAGE_DESCRIPTION_SUMMARY in front of every component's description
# unless it is CPack's default text, so it is left at that default on purpose.
# The descriptions below are written unindented, with an empty line between
# paragraphs: CPackDeb indents them and turns the empty line into " .".
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)  # executables and shared objects; static libraries:
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/strip_static_libs.cmake)
set(CPACK_STRIP_PROGRAM ${CMAKE_STRIP})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Debian versions: upstream version, then the packaging revision.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)

set(CPACK_COMPONENTS_ALL cli dev)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME liveconf)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION admin)
set(CPACK_COMPONENT_CLI_DESCRIPTION
    "live, typed, layered configuration: the command-line tool
liveconf merges configuration files, conf.d directories, .env files,
environment variables and etcd by priority, keeps the result live as
they change and tells where every value came from. The tool watches,
gets, explains, checks and renders configurations, runs a command on
change, serves an admin endpoint and reads a journal's history.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libliveconf-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "live, typed, layered configuration for C++ services (development files)
liveconf keeps an application's typed configuration live: files, conf.d
directories, environment variables and etcd merged by priority, with the
source of every value, published as immutable snapshots read at no cost.

This package holds the headers, the static libraries, and the CMake and
pkg-config files (liveconf, liveconf-etcd, liveconf-journal, liveconf-admin).")
# What a static link against the libraries needs: the dependencies' -dev packages.
set(_dev_depends "libyaml-dev, libxxhash-dev")
if(NOT LIVECONF_TOML_HEADER_ONLY)
  string(APPEND _dev_depends ", libtomlplusplus-dev")
endif()
if(TARGET liveconf_journal)
  string(APPEND _dev_depends ", libsodium-dev")
endif()
if(TARGET liveconf_etcd)
  string(APPEND _dev_depends ", libgrpc++-dev, libprotobuf-dev")
endif()
if(TARGET liveconf_admin)
  string(APPEND _dev_depends ", libmicrohttpd-dev, libsystemd-dev, prometheus-cpp-dev")
endif()
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_dev_depends}, pkg-config")
# Static libraries only: nothing for dpkg-shlibdeps to find.
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)

if(LIVECONF_PYTHON_BUILD)
  list(APPEND CPACK_COMPONENTS_ALL python)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-liveconf)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
  set(CPACK_COMPONENT_PYTHON_DESCRIPTION
      "live, typed, layered configuration for Python services
The Python module liveconf: the Configuration Watchers guide's API
(typed configs, file, environment and multi-source watchers, a
ConfigManager) on liveconf's C++ core.")
  # The extension is built for one CPython minor version (its file name says
  # cpython-311): the same pin python3-* packages get from dh_python3.
  math(EXPR _python_next "${Python3_VERSION_MINOR} + 1")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
      "python3 (>= ${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}~), python3 (<< ${Python3_VERSION_MAJOR}.${_python_next})")
endif()

# Every package carries /usr/share/doc/<package>/copyright and
# changelog.Debian.gz, as Debian policy (and lintian) require. The date
# follows SOURCE_DATE_EPOCH when set, so a rebuild gives the same bytes.
string(TIMESTAMP _deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(_component IN LISTS CPACK_COMPONENTS_ALL)
  string(TOUPPER ${_component} _upper)
  set(_package ${CPACK_DEBIAN_${_upper}_PACKAGE_NAME})
  set(_dir ${PROJECT_BINARY_DIR}/packaging/${_package})
  file(MAKE_DIRECTORY ${_dir})
  file(WRITE ${_dir}/changelog.Debian
       "${_package} (${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}) unstable; urgency=medium\n\n"
       "  * Built from the liveconf source tree by CPack (scripts/package.sh).\n\n"
       " -- ${CPACK_PACKAGE_CONTACT}  ${_deb_date}\n")
  execute_process(COMMAND gzip -9nf ${_dir}/changelog.Debian COMMAND_ERROR_IS_FATAL ANY)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright ${_dir}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_package} COMPONENT ${_component})
endforeach()

include(CPack)
