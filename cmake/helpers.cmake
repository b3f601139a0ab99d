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
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endfunction()
