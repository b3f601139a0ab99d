# pkg-config files for the installed libraries (included from
# install-rules.cmake): liveconf.pc for the core, and liveconf-etcd.pc,
# liveconf-journal.pc, liveconf-admin.pc for the parts that were built.
#
#   c++ -std=c++20 app.cpp $(pkg-config --cflags --libs liveconf)
#   c++ -std=c++20 app.cpp $(pkg-config --static --cflags --libs liveconf)   # all static
#
# The files are relocatable: `prefix` is computed from the file's own place
# (${pcfiledir}), so an install into any --prefix (or a package staged by
# DESTDIR) works without editing them. The dependencies are listed by their
# own pkg-config names, so a link gets their flags from their own .pc files
# (Debian ships one for each). Where they go depends on the build:
#   - shared libraries (BUILD_SHARED_LIBS): Requires.private/Libs.private, so
#     `--static` gets them and a shared link does not over-link;
#   - static libraries (the default, and the Debian package): Requires/Libs.
#     A static-only libliveconf.a needs them on every link, and most
#     consumers never pass --static: Meson's dependency('liveconf') (its
#     static: true would also demand static archives of gRPC, GnuTLS and the
#     rest, which Debian does not ship PIC), autoconf's PKG_CHECK_MODULES
#     and most Makefiles call plain `pkg-config --libs`.
set(LIVECONF_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# liveconf_pkgconfig(NAME <file name without .pc> LIBRARY <-l name>
#                    DESCRIPTION <text> [REQUIRES ...] [REQUIRES_PRIVATE ...]
#                    [LIBS_PRIVATE ...])
function(liveconf_pkgconfig)
  cmake_parse_arguments(PC "" "NAME;LIBRARY;DESCRIPTION" "REQUIRES;REQUIRES_PRIVATE;LIBS_PRIVATE"
                        ${ARGN})
  file(RELATIVE_PATH _to_prefix
       ${CMAKE_INSTALL_PREFIX}/${LIVECONF_PKGCONFIG_DIR} ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" _to_prefix "${_to_prefix}")
  set(_libs "-L\${libdir}" -l${PC_LIBRARY})
  if(NOT BUILD_SHARED_LIBS)
    list(APPEND PC_REQUIRES ${PC_REQUIRES_PRIVATE})
    list(APPEND _libs ${PC_LIBS_PRIVATE})
    set(PC_REQUIRES_PRIVATE)
    set(PC_LIBS_PRIVATE)
  endif()
  list(JOIN PC_REQUIRES " " _requires)
  list(JOIN _libs " " _libs)
  list(JOIN PC_REQUIRES_PRIVATE " " _requires_private)
  list(JOIN PC_LIBS_PRIVATE " " _libs_private)
  set(_content "prefix=\${pcfiledir}/${_to_prefix}
includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}
libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}

Name: ${PC_NAME}
Description: ${PC_DESCRIPTION}
Version: ${PROJECT_VERSION}
Requires: ${_requires}
Requires.private: ${_requires_private}
Cflags: -I\${includedir}
Libs: ${_libs}
Libs.private: ${_libs_private}
")
  file(WRITE ${PROJECT_BINARY_DIR}/pkgconfig/${PC_NAME}.pc "${_content}")
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${PC_NAME}.pc DESTINATION ${LIVECONF_PKGCONFIG_DIR}
          COMPONENT dev)
endfunction()

set(_core_private yaml-0.1 libxxhash)
if(NOT LIVECONF_TOML_HEADER_ONLY)
  list(APPEND _core_private tomlplusplus)
endif()
liveconf_pkgconfig(NAME liveconf LIBRARY liveconf
  DESCRIPTION "${PROJECT_DESCRIPTION}"
  REQUIRES_PRIVATE ${_core_private}
  LIBS_PRIVATE -pthread)  # std::thread: the only dependency without a .pc file
if(TARGET liveconf_journal)
  liveconf_pkgconfig(NAME liveconf-journal LIBRARY liveconf_journal
    DESCRIPTION "liveconf's journal: history, rollback and pin of published generations"
    REQUIRES liveconf REQUIRES_PRIVATE libsodium libxxhash)
endif()
if(TARGET liveconf_etcd)
  set(_etcd_private grpc++ protobuf)
  if(TARGET liveconf_journal)
    list(PREPEND _etcd_private liveconf-journal)  # the offline cache is sealed by the journal
  endif()
  liveconf_pkgconfig(NAME liveconf-etcd LIBRARY liveconf_etcd
    DESCRIPTION "liveconf's etcd source: one live configuration for a fleet"
    REQUIRES liveconf REQUIRES_PRIVATE ${_etcd_private})
endif()
if(TARGET liveconf_admin)
  liveconf_pkgconfig(NAME liveconf-admin LIBRARY liveconf_admin
    DESCRIPTION "liveconf's admin endpoint: status, metrics, readiness, systemd notification"
    REQUIRES liveconf REQUIRES_PRIVATE libsystemd prometheus-cpp-core
    # Not Requires.private libmicrohttpd: Debian's libmicrohttpd.pc lists
    # GnuTLS's whole static closure (-lunistring, -lp11-kit, ...) whose
    # development files a stock system lacks, so `pkg-config --static` of
    # liveconf-admin would not link. liveconf's libraries are what --static
    # is for; libmicrohttpd links as the shared library its -dev ships.
    LIBS_PRIVATE -lmicrohttpd)
endif()
