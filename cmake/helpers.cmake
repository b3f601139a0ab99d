# Warning flags for liveconf's own targets; always PRIVATE so consumers never inherit them.
function(liveconf_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wold-style-cast -Wnon-virtual-dtor
    -Woverloaded-virtual
    $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety>
    # GCC 12 at -O2/-O3 reports -Wrestrict inside std::string's operator+ (a false
    # positive, GCC bug 105329, fixed in 13); keep the warning for other compilers.
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>
    $<$<BOOL:${LIVECONF_WERROR}>:-Werror>)
endfunction()

# liveconf_add_test(NAME n SOURCES a.cpp... [LABELS l...] [LIBS lib...])
# One GoogleTest executable per unit; each test case becomes its own ctest entry.
function(liveconf_add_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE liveconf::liveconf liveconf_testutil GTest::gtest
                        GTest::gmock GTest::gtest_main ${ARG_LIBS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  liveconf_set_warnings(${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  # gtest_discover_tests flattens PROPERTIES through several list expansions, so
  # "LABELS a;b" would arrive as the pairs LABELS=a, b=TIMEOUT (losing the timeout too),
  # and no escaping survives them all. One label goes through PROPERTIES as before;
  # several are set by a ctest include file, run after discovery, on the list of
  # discovered tests (TEST_LIST).
  if("unit" IN_LIST ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY LIVECONF_UNIT_TEST_TARGETS ${ARG_NAME})
  endif()
  list(LENGTH ARG_LABELS label_count)
  set(label_property)
  if(label_count EQUAL 1)
    set(label_property LABELS ${ARG_LABELS})
  endif()
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    TEST_LIST ${ARG_NAME}_TESTS
    PROPERTIES ${label_property} TIMEOUT ${ARG_TIMEOUT}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  if(label_count GREATER 1)
    set(labels_file "${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_labels.cmake")
    file(WRITE "${labels_file}"
      "if(${ARG_NAME}_TESTS)\n"
      "  set_tests_properties(\${${ARG_NAME}_TESTS} PROPERTIES LABELS \"${ARG_LABELS}\")\n"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${labels_file}")
  endif()
endfunction()
