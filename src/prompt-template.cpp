#include "prompt-template.h"

#include "common.h"
#include "lmm.h"

namespace glm {

// LLaVA-NeXT llava/conversation.py conv_llava_llama_3.system
#define GLM_LLAVA_LLAMA3_SYSTEM                                                                                       \
    "You are a helpful language and vision assistant. You are able to understand the visual content that the user " \
    "provides, and assist the user with a variety of tasks using natural language."

const std::vector<named_template> & prompt_templates() {
    static const std::vector<named_template> t = {
        { "llava_v1", k_template_llava_v1 },
        // get_prompt(LLAMA_3) = apply_chat_template([system, ("<|start_header_id|>user", "<image>\n{q}")],
        // add_generation_prompt=True): bos_token + '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content
        // + '<|eot_id|>' per message, then '<|start_header_id|>assistant<|end_header_id|>\n\n'
        { "llava_llama_3",
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" GLM_LLAVA_LLAMA3_SYSTEM
          "<|eot_id|><|start_header_id|><|start_header_id|>user<|end_header_id|>\n\n<image>\n{prompt}<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n" },
        { "llama3",
          "<|start_header_id|>system<|end_header_id|>\n\n" GLM_LLAVA_LLAMA3_SYSTEM
          "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<image>\n{prompt}<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n" },
        // Cambrian-1 (CB cambrian/conversation.py L100-123, conv_llama_3 L520-531 at 539ffc3): no "\n\n" after the
        // headers, the system text keeps its line breaks, 4-space indents and trailing spaces; the tokenizer's own BOS
        // makes it a double BOS (docs/cambrian.md section 3: the image then starts one after image_position)
        { "cambrian_llama_3",
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>"
          "You are Cambrian, a highly intelligent multimodal AI trained by NYU Vision X. \n"
          "    As a multimodal AI, you have the ability to process and analyze images. Whenever an image is present in "
          "the conversation, very carefully examine it and consider its content when formulating your response.\n"
          "    You should give concise responses to very simple questions, but provide thorough responses to more "
          "complex and open-ended questions. <|eot_id|><|start_header_id|>user<|end_header_id|><image>\n{prompt}"
          "<|eot_id|><|start_header_id|>assistant<|end_header_id|>" },
        // LLAMA_2 style with sep "" and an empty system: "[INST] " + msg + " [/INST]"; the tokenizer adds <s>
        { "mistral_instruct", "[INST] <image>\n{prompt} [/INST]" },
    };
    return t;
}

std::string prompt_template_resolve(const std::string & s) {
    for (const named_template & t : prompt_templates()) {
        if (s == t.name) {
            return t.text;
        }
    }
    if (s.find("<image>") != std::string::npos) {
        return s;
    }
    std::string names;
    for (const named_template & t : prompt_templates()) {
        names += std::string(names.empty() ? "" : ", ") + t.name;
    }
    fail("template '%s': neither a template name (%s) nor a template text with <image>", s.c_str(), names.c_str());
}

const char * prompt_template_for_chat_template(const std::string & ct) {
    if (ct.find("<|start_header_id|>") != std::string::npos) {
        return "llava_llama_3";
    }
    if (ct.find("[INST]") != std::string::npos && ct.find("<<SYS>>") == std::string::npos) {  // not Llama-2's
        return "mistral_instruct";
    }
    return "llava_v1";
}

}  // namespace glm
