// prompt-template.h: the LLaVA family's conversation templates by name, and the choice of one for an LLM file.
//
// A template is text with <image> (where the image embeddings go) and {prompt} (the user's question). The text is
// tokenised as the reference tokenisers do it (special-token text such as <|start_header_id|> becomes the special
// token; the tokenizer adds its BOS when the vocabulary says so), so a template reproduces the official ids:
//
//   llava_v1          LLaVA-1.5 and LLaVA-1.6 Vicuna (conv_llava_v1): "A chat between ... USER: <image>\n{prompt}
//                     ASSISTANT:"
//   llava_llama_3     llama3-llava-next-8b as the official code runs it (LLaVA-NeXT conv_llava_llama_3 through
//                     Llama-3-Instruct's chat template): the roles already carry <|start_header_id|>, so the user
//                     header has it twice, and the text starts with <|begin_of_text|> while the tokenizer adds its
//                     BOS too: DOUBLE BOS. This is the parity mode (the paper's run), kept deliberately.
//   llama3            the same conversation in the clean Llama-3 chat format (one BOS, one header token): what the
//                     model was trained on; not what the official evaluation fed it.
//   cambrian_llama_3  Cambrian-1 (CB conv_llama_3): Llama-3 markup without "\n\n" after the headers, Cambrian's
//                     system text; <|begin_of_text|> plus the tokenizer's BOS (docs/cambrian.md section 3)
//   mistral_instruct  LLaVA-1.6 Mistral (conv_mistral_instruct): "[INST] <image>\n{prompt} [/INST]"
//
// Pure functions over constant tables: thread-safe.
#pragma once

#include <string>
#include <vector>

namespace glm {

struct named_template {
    const char * name;
    const char * text;
};

const std::vector<named_template> & prompt_templates();

// A known name -> its text; a text with <image> -> itself; anything else throws glm::error listing the names.
std::string prompt_template_resolve(const std::string & name_or_text);

// The template name for an LLM whose GGUF carries `chat_template` (tokenizer.chat_template, may be empty) and no
// groundlmm.prompt_template: Llama-3 markup -> llava_llama_3, [INST] without Llama-2's <<SYS>> ->
// mistral_instruct, otherwise llava_v1.
const char * prompt_template_for_chat_template(const std::string & chat_template);

}  // namespace glm
