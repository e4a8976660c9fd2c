# check-core-symbols.cmake -DBIN=<program linked with groundlmm-core only>: fails when the program holds a symbol of
# the evaluation, converter or toy-trainer libraries (names from nm -C), or when nm finds no groundlmm symbol at all
# (the check would then prove nothing).
execute_process(COMMAND nm -C ${BIN} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if (NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${BIN}")
endif()
if (NOT syms MATCHES "glm::pipeline::run")
    message(FATAL_ERROR "${BIN}: no glm::pipeline symbol: not a groundlmm program?")
endif()
foreach(forbidden "glm::toy::" "glm::cocoeval" "glm::meteor" "glm::ptb_" "glm::eval_run" "glm::sam_convert"
                  "glm::difflmm_convert" "glm::torch_checkpoint" "glm::gcg_" "sb_stemmer" "zip_open")
    string(FIND "${syms}" "${forbidden}" at)
    if (NOT at EQUAL -1)
        message(FATAL_ERROR "${BIN} links ${forbidden}...: the core library must not need it")
    endif()
endforeach()
message(STATUS "${BIN}: groundlmm-core only (no eval, convert or toy symbols)")
