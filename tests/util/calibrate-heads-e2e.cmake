# calibrate-heads-e2e.cmake -DBIN=<groundlmm> -DMODEL=<models/toy> -DWORK=<scratch folder>: the label-free head
# calibration end to end on the toy model: toy-world writes training scenes and captions, calibrate-heads writes a
# head-set file from them, `groundlmm ground --attn-heads <file>` points from those heads and records them; Kang's
# default (skip the first two layers) on the 2-layer toy model is a clear error.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run expect_rc regex)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if (NOT "${rc}" STREQUAL "${expect_rc}")
        message(FATAL_ERROR "${ARGN}: exit code ${rc}, expected ${expect_rc}\n${out}${err}")
    endif()
    if (NOT "${out}${err}" MATCHES "${regex}")
        message(FATAL_ERROR "${ARGN}: output does not match '${regex}':\n${out}${err}")
    endif()
endfunction()
set(M -m ${MODEL}/toy-llm.gguf --mmproj ${MODEL}/toy-vit.gguf -t 1)
run(0 "wrote 20 train scenes" ${BIN} toy-world -o ${WORK}/train --split train --n 20 --seed 1)
run(1 "skipping 2 layers leaves no layer of a 2-layer model"
    ${BIN} calibrate-heads ${M} --captions ${WORK}/train/captions.txt -o ${WORK}/never.json)
run(0 "heads: [0-9]+\\.[0-9]+,[0-9]+\\.[0-9]+ \\(tau [0-9.]+; [0-9]+ samples from 20 images\\)"
    ${BIN} calibrate-heads ${M} --captions ${WORK}/train/captions.txt --skip-layers 0 --per-sample 2 --k 2
    -o ${WORK}/heads.json)
file(READ ${WORK}/heads.json heads)
string(JSON fmt GET "${heads}" format)
string(JSON n_heads LENGTH "${heads}" heads)
string(JSON n_counts LENGTH "${heads}" counts)
if (NOT fmt STREQUAL "groundlmm.heads/1" OR NOT n_heads EQUAL 2 OR NOT n_counts EQUAL 8)
    message(FATAL_ERROR "heads.json: format '${fmt}', ${n_heads} heads, ${n_counts} counts (expected groundlmm.heads/1, 2, 8)")
endif()
run(0 "wrote ${WORK}/g/" ${BIN} ground ${M} --image ${MODEL}/scene.png --refiner region --attn-heads ${WORK}/heads.json
    -o ${WORK}/g)
file(READ ${WORK}/g/result.json result)
string(JSON used GET "${result}" settings attn_heads)
file(READ ${WORK}/g/attend.json attend)
string(JSON kept LENGTH "${attend}" maps head_set heads)
if (NOT used STREQUAL "${WORK}/heads.json" OR NOT kept EQUAL 2)
    message(FATAL_ERROR "result.json attn_heads '${used}', attend.json keeps ${kept} heads (expected the file, 2)")
endif()
