# cambrian-cli-e2e.cmake -DGLM=<groundlmm> -DCHECK=<check-cambrian-run> -DGOLDEN=<folder> -DMODELS=<make-cambrian-tiny
#                        output> -DCASE=<case> -DOUT=<dir> -DMODE=ground|attend|noblocks
# Runs the CLI on one case of a Cambrian golden folder (the GGUFs converted from its safetensors by make-cambrian-tiny,
# its image, the template that spells its input_ids, a teacher-forced answer) in a fresh output folder, then
# check-cambrian-run on what it wrote. The image_position warning must be logged exactly when the case's image does
# not start at image_position (the double-BOS case). MODE noblocks: the vision GGUF whose in-LLM blocks never run;
# the maps must then differ from the golden's.
file(READ ${GOLDEN}/cases.json cases)
file(READ ${MODELS}/prompt.json prompts)
string(JSON templ GET "${prompts}" ${CASE})
string(JSON n_cases LENGTH "${cases}" cases)
math(EXPR last "${n_cases} - 1")
foreach(i RANGE ${last})
    string(JSON name GET "${cases}" cases ${i} name)
    if (name STREQUAL CASE)
        string(JSON start GET "${cases}" cases ${i} image_start)
        string(JSON position GET "${cases}" cases ${i} image_position)
    endif()
endforeach()
if (NOT DEFINED start)
    message(FATAL_ERROR "${GOLDEN}/cases.json: no case ${CASE}")
endif()
file(REMOVE_RECURSE ${OUT})  # files left by an earlier run must not pass
set(vision ${MODELS}/cambrian-vision.gguf)
if (MODE STREQUAL "noblocks")
    set(vision ${MODELS}/cambrian-vision-noblocks.gguf)
endif()
set(args -m ${MODELS}/cambrian-llm.gguf --mmproj ${vision} --image ${GOLDEN}/image_${CASE}.png --template "${templ}"
         --answer "the dog" --kv-f32 -t 2 -o ${OUT})
if (MODE STREQUAL "ground")
    set(cmd ${GLM} ground ${args} --refiner region)
else()
    set(cmd ${GLM} attend ${args})
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if (NOT rc EQUAL 0)
    message(FATAL_ERROR "groundlmm ${MODE} failed (${rc}):\n${out}${err}")
endif()
string(FIND "${out}${err}" "but the model's image_position is" warned)
if (NOT start EQUAL position AND warned EQUAL -1)
    message(FATAL_ERROR "the image starts at ${start}, image_position is ${position}: no warning in\n${out}${err}")
elseif (start EQUAL position AND NOT warned EQUAL -1)
    message(FATAL_ERROR "the image starts at image_position ${position}, yet the CLI warned:\n${out}${err}")
endif()
set(extra)
if (MODE STREQUAL "noblocks")
    set(extra --expect-differ)
endif()
execute_process(COMMAND ${CHECK} ${GOLDEN} ${CASE} ${OUT} ${extra} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if (NOT rc EQUAL 0)
    message(FATAL_ERROR "check-cambrian-run failed")
endif()
