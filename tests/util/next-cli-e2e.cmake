# next-cli-e2e.cmake -DGLM=<groundlmm> -DCHECK=<check-next-run> -DGOLDEN=<folder> -DCASE=<case> -DOUT=<dir>
#                    -DMODE=ground|attend|ground-base
# Runs the CLI on one case of a LLaVA-NeXT golden folder (its GGUFs, its image, its question, its continuation as
# --answer; everything read from its cases.json), in a fresh output folder, then check-next-run on what it wrote.
file(READ ${GOLDEN}/cases.json cases)
string(JSON question GET "${cases}" config question)
string(JSON answer GET "${cases}" config continuation)
string(JSON llm GET "${cases}" gguf files text_f32)
string(JSON mmproj GET "${cases}" gguf files mmproj_f32)
string(JSON image GET "${cases}" cases ${CASE} image file)
file(REMOVE_RECURSE ${OUT})  # files left by an earlier run must not pass
set(args -m ${GOLDEN}/${llm} --mmproj ${GOLDEN}/${mmproj} --image ${GOLDEN}/${image} -p "${question}"
         --answer "${answer}" --kv-f32 -t 2 -o ${OUT})
set(grid primary)
if (MODE STREQUAL "attend")
    set(cmd ${GLM} attend ${args})
elseif (MODE STREQUAL "ground-base")
    set(cmd ${GLM} ground ${args} --refiner region --map-grid base)
    set(grid base)
else()
    set(cmd ${GLM} ground ${args} --refiner region)
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if (NOT rc EQUAL 0)
    message(FATAL_ERROR "groundlmm ${MODE} failed (${rc}):\n${out}${err}")
endif()
execute_process(COMMAND ${CHECK} ${GOLDEN} ${CASE} ${OUT} --grid ${grid} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if (NOT rc EQUAL 0)
    message(FATAL_ERROR "check-next-run failed")
endif()
