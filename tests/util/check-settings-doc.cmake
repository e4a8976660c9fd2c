# check-settings-doc.cmake -DBIN=groundlmm -DDOC=docs/settings.md: fails unless DOC equals `groundlmm settings`.
execute_process(COMMAND ${BIN} settings RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if (NOT rc EQUAL 0)
    message(FATAL_ERROR "groundlmm settings exited ${rc}")
endif()
file(READ ${DOC} doc)
if (NOT doc STREQUAL out)
    message(FATAL_ERROR "${DOC} differs from `groundlmm settings`: regenerate it with groundlmm settings > ${DOC}")
endif()
