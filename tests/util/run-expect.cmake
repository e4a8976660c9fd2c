# run-expect.cmake -DCMD="prog;arg;..." -DEXIT=<code> -DREGEX=<regex>: runs CMD and fails unless its exit code is EXIT
# and its stdout+stderr match REGEX (a CTest test that checks both, unlike PASS_REGULAR_EXPRESSION).
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if (NOT "${rc}" STREQUAL "${EXIT}")
    message(FATAL_ERROR "exit code ${rc}, expected ${EXIT}\n${out}${err}")
endif()
if (NOT "${out}${err}" MATCHES "${REGEX}")
    message(FATAL_ERROR "output does not match '${REGEX}':\n${out}${err}")
endif()
