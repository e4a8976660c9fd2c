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
