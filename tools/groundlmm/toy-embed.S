/* toy-embed.S: the embedded default model of `groundlmm demo` (models/toy: the toy LMM's two GGUFs and the
   bundled scene), linked into the binary so the demo runs from any directory. Paths come from CMake. */
    .section .rodata
    .balign 64
    .global glm_toy_llm_begin
    .global glm_toy_llm_end
glm_toy_llm_begin:
    .incbin GLM_TOY_LLM_FILE
glm_toy_llm_end:
    .balign 64
    .global glm_toy_vit_begin
    .global glm_toy_vit_end
glm_toy_vit_begin:
    .incbin GLM_TOY_VIT_FILE
glm_toy_vit_end:
    .balign 64
    .global glm_toy_scene_begin
    .global glm_toy_scene_end
glm_toy_scene_begin:
    .incbin GLM_TOY_SCENE_FILE
glm_toy_scene_end:
    .section .note.GNU-stack,"",@progbits
