# Install rules, included from the top-level CMakeLists.txt when LIVECONF_INSTALL is on.
include(CMakePackageConfigHelpers)

set(LIVECONF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/liveconf)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ ${PROJECT_BINARY_DIR}/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS liveconf EXPORT liveconfTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET liveconf_etcd)
  install(TARGETS liveconf_etcd EXPORT liveconfTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev)
endif()
if(TARGET liveconf_admin)
  install(TARGETS liveconf_admin EXPORT liveconfTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev)
endif()
if(TARGET liveconf_journal)
  install(TARGETS liveconf_journal EXPORT liveconfTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev)
endif()
install(EXPORT liveconfTargets NAMESPACE liveconf:: DESTINATION ${LIVECONF_CMAKE_DIR}
        COMPONENT dev)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/liveconfConfig.cmake.in
  ${PROJECT_BINARY_DIR}/liveconfConfig.cmake
  INSTALL_DESTINATION ${LIVECONF_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/liveconfConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/liveconfConfig.cmake
              ${PROJECT_BINARY_DIR}/liveconfConfigVersion.cmake
        DESTINATION ${LIVECONF_CMAKE_DIR} COMPONENT dev)

# Build-tree export, so a consumer can point liveconf_DIR at a build directory.
export(EXPORT liveconfTargets NAMESPACE liveconf::
       FILE ${PROJECT_BINARY_DIR}/liveconfTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/pkgconfig.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/packaging.cmake)
