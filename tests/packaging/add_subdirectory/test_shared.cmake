# The add_subdirectory test's test command: run the consumer (type identity
# across shared objects), then install this shared build of liveconf into a
# prefix and build the pkg-config consumer against libliveconf.so.
#   cmake -DBUILD=<this build dir> -DCXX=... [-DCXXFLAGS=...] [-DLDFLAGS=...] -P test_shared.cmake
execute_process(COMMAND ${BUILD}/consumer COMMAND_ERROR_IS_FATAL ANY)
file(REMOVE_RECURSE ${BUILD}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${BUILD}/prefix
                OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
execute_process(
  COMMAND ${CMAKE_COMMAND} -DPREFIX=${BUILD}/prefix -DOUT=${BUILD}/pkg_config_shared
          -DCXX=${CXX} "-DCXXFLAGS=${CXXFLAGS}" "-DLDFLAGS=${LDFLAGS}"
          "-DEXPECT=liveconf liveconf-journal"
          -P ${CMAKE_CURRENT_LIST_DIR}/../pkg_config/build_and_run.cmake
  COMMAND_ERROR_IS_FATAL ANY)
