/* serve-page.S: the page of `groundlmm serve` (web/index.html) linked into the binary, as toy-embed.S links the toy
   model: the server needs no file next to it. The path comes from CMake. */
    .section .rodata
    .balign 16
    .global glm_page_html_begin
    .global glm_page_html_end
glm_page_html_begin:
    .incbin GLM_PAGE_HTML_FILE
glm_page_html_end:
    .section .note.GNU-stack,"",@progbits
