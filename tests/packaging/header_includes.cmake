# Fails when a public header pulls in a standard header that every consumer would
# then pay for (issue 17: <regex> adds seconds to each translation unit that
# includes liveconf). Each header is preprocessed alone with -M, which lists every
# file it includes directly or transitively, and the list is searched for the
# forbidden names. Preprocessing only, so the whole check takes a few seconds.
#
#   cmake -DCXX=<compiler> -DINCLUDE_DIRS="<dir>;<dir>" -DHEADERS_DIR=<include/liveconf>
#         -DFORBIDDEN="regex" -P header_includes.cmake
foreach(_var CXX INCLUDE_DIRS HEADERS_DIR FORBIDDEN)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "header_includes.cmake: ${_var} is not set")
  endif()
endforeach()

set(_include_flags)
foreach(_dir IN LISTS INCLUDE_DIRS)
  list(APPEND _include_flags "-I${_dir}")
endforeach()

file(GLOB_RECURSE _headers RELATIVE "${HEADERS_DIR}" "${HEADERS_DIR}/*.hpp")
list(SORT _headers)
if(NOT _headers)
  message(FATAL_ERROR "no headers under ${HEADERS_DIR}")
endif()

set(_failures)
foreach(_header IN LISTS _headers)
  execute_process(
    COMMAND "${CXX}" -std=c++20 ${_include_flags} -M -x c++ "${HEADERS_DIR}/${_header}"
    OUTPUT_VARIABLE _deps ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    list(APPEND _failures "${_header}: does not preprocess alone:\n${_err}")
    continue()
  endif()
  # One dependency per whitespace-separated token; line continuations are noise.
  string(REPLACE "\\\n" " " _deps "${_deps}")
  string(REGEX REPLACE "[ \t\r\n]+" ";" _deps "${_deps}")
  foreach(_name IN LISTS FORBIDDEN)
    foreach(_dep IN LISTS _deps)
      # The standard header itself (".../c++/12/regex") or its parts (".../bits/regex.h").
      if(_dep MATCHES "/${_name}$" OR _dep MATCHES "/bits/${_name}[._]")
        list(APPEND _failures "${_header}: includes <${_name}> (via ${_dep})")
        break()
      endif()
    endforeach()
  endforeach()
endforeach()

list(LENGTH _headers _count)
if(_failures)
  list(JOIN _failures "\n" _text)
  message(FATAL_ERROR "public headers pull in forbidden standard headers:\n${_text}")
endif()
message(STATUS "${_count} public headers checked; none includes: ${FORBIDDEN}")
