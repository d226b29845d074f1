# Registers a suite of Python tests whose list lives in one place: the
# suite's runner prints it with `run.py --list`, one "NAME TIMEOUT [SERIAL]"
# per line, and each line becomes the CTest test PREFIX.NAME with that
# TIMEOUT, label PREFIX, and RUN_SERIAL when SERIAL is 1 (or for every test
# with ALL_SERIAL). Exit code 77 means skipped. Editing a .py file of the
# suite re-runs this at the next build. A suite that lists no tests, or a
# line that does not parse, becomes a failing PREFIX.registry test: a suite
# never vanishes silently.
#
#   livesync_add_python_suite(PREFIX e2e RUNNER ${dir}/run.py [ALL_SERIAL])

find_program(LIVESYNC_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(LIVESYNC_PYTHON3 NAMES python3)

function(livesync_add_python_suite)
  cmake_parse_arguments(arg "ALL_SERIAL" "PREFIX;RUNNER" "" ${ARGN})
  get_filename_component(dir ${arg_RUNNER} DIRECTORY)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${sources})
  set(list "")
  set(error "")
  if(LIVESYNC_PYTHON3)
    execute_process(COMMAND ${LIVESYNC_PYTHON3} ${arg_RUNNER} --list
      OUTPUT_VARIABLE list ERROR_VARIABLE error_out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      set(list "")
      set(error "${arg_RUNNER} --list failed (${rc}): ${error_out}")
    endif()
  else()
    set(error "python3 not found")
  endif()
  string(REPLACE "\n" ";" lines "${list}")
  set(count 0)
  foreach(line IN LISTS lines)
    if(line MATCHES "^([a-z0-9_]+) ([0-9]+)( ([01]))?$")
      set(test ${arg_PREFIX}.${CMAKE_MATCH_1})
      add_test(NAME ${test}
        COMMAND ${LIVESYNC_PYTHON3} ${arg_RUNNER}
                --bin-dir $<TARGET_FILE_DIR:livesync-watcher> ${CMAKE_MATCH_1})
      set_tests_properties(${test} PROPERTIES TIMEOUT ${CMAKE_MATCH_2}
        SKIP_RETURN_CODE 77 LABELS ${arg_PREFIX})
      if(arg_ALL_SERIAL OR CMAKE_MATCH_4 STREQUAL "1")
        set_tests_properties(${test} PROPERTIES RUN_SERIAL TRUE)
      endif()
      math(EXPR count "${count} + 1")
    elseif(NOT line STREQUAL "")
      set(error "${error} unexpected line from --list: '${line}'")
    endif()
  endforeach()
  if(count EQUAL 0 OR NOT error STREQUAL "")
    message(WARNING "${arg_PREFIX}: ${count} tests registered; ${error}")
    add_test(NAME ${arg_PREFIX}.registry
      COMMAND ${CMAKE_COMMAND} -E echo "${arg_PREFIX}: ${error}")
    set_tests_properties(${arg_PREFIX}.registry PROPERTIES
      FAIL_REGULAR_EXPRESSION "${arg_PREFIX}:")
  else()
    message(STATUS "${arg_PREFIX}: ${count} tests registered")
  endif()
endfunction()
