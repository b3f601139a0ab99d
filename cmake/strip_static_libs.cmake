# CPACK_PRE_BUILD_SCRIPTS entry (cmake/packaging.cmake): strips the debug
# information from the static libraries staged for the Debian packages, as
# Debian's dh_strip does for every -dev package. CMake's install/strip
# leaves static archives alone, and a Debug build's make libliveconf-dev
# several times larger (28 MB against 8 MB stripped). Symbols stay: the
# archives must still link.
file(GLOB_RECURSE _archives "${CPACK_TEMPORARY_DIRECTORY}/*.a")
foreach(_archive IN LISTS _archives)
  execute_process(COMMAND "${CPACK_STRIP_PROGRAM}" --strip-debug --enable-deterministic-archives
                          "${_archive}" COMMAND_ERROR_IS_FATAL ANY)
endforeach()
list(LENGTH _archives _count)
message(STATUS "stripped the debug information of ${_count} static libraries")
