// make-cambrian-tiny GOLDEN OUT: the GGUFs of a Cambrian golden folder (tests/golden/cambrian and folders of its
// format) for the CLI end-to-end tests (tests/util/cambrian-cli-e2e.cmake), converted from the folder's official
// safetensors by the converter's library functions with the sizes of its cases.json:
//
//   OUT/cambrian-vision.gguf           the four towers + the SVA (groundlmm convert-cambrian's vision file; the
//                                      tiny towers' head counts, epsilons and resolutions come from cases.json, which
//                                      the CLI's options do not carry)
//   OUT/cambrian-vision-noblocks.gguf  the same with the in-LLM blocks scheduled after the last layer (start 1000):
//                                      the LLM runs without them (the e2e check that the maps need the blocks)
//   OUT/tokenizer.gguf                 a SentencePiece vocabulary of the golden's size in which the prompt's ids
//                                      spell "USER" (11..14) and "BOT" (21..23), <s> = 1 (BOS, added by the tokenizer),
//                                      </s> = 2, lowercase letters and the space for --answer texts
//   OUT/cambrian-llm.gguf              the LLM (convert-cambrian --llm-output --tokenizer-from OUT/tokenizer.gguf)
//   OUT/prompt.json                    per case: the --template text that tokenises to the case's input_ids
#include "cambrian-convert.h"
#include "common.h"
#include "gguf-loader.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace glm;
namespace fs = std::filesystem;

// The golden's prompt ids as text of the tiny vocabulary (11..14 = "USER", 21..23 = "BOT", 1 = "<s>").
static const char * k_pre_text  = "USER";
static const char * k_post_text = "BOT";

static void write_tokenizer(const std::string & path, int n_vocab) {
    std::vector<std::string> tok((size_t) n_vocab);
    std::vector<int32_t>     type((size_t) n_vocab, 1);  // LLAMA_TOKEN_TYPE_NORMAL
    std::vector<float>       score((size_t) n_vocab, 0.0f);
    for (int i = 0; i < n_vocab; ++i) {
        tok[(size_t) i] = strfmt("<unused%d>", i);  // never formed from text (no "<", "u", ... merges)
        type[(size_t) i] = 5;                       // UNUSED
    }
    auto put = [&](int id, const std::string & text, int ty) {
        if (id >= n_vocab) {
            fail("make-cambrian-tiny: the golden's vocabulary (%d) is too small for token %d", n_vocab, id);
        }
        tok[(size_t) id]  = text;
        type[(size_t) id] = ty;
    };
    put(0, "<unk>", 2);   // UNKNOWN
    put(1, "<s>", 3);     // CONTROL
    put(2, "</s>", 3);
    put(3, "<0x0A>", 6);  // BYTE: llama.cpp's SentencePiece vocabulary needs the newline byte
    for (int i = 0; k_pre_text[i]; ++i) {
        put(11 + i, std::string(1, k_pre_text[i]), 1);
    }
    for (int i = 0; k_post_text[i]; ++i) {
        put(21 + i, std::string(1, k_post_text[i]), 1);
    }
    put(39, "\xE2\x96\x81", 1);  // U+2581, SentencePiece's space
    for (int c = 0; c < 26; ++c) {
        put(40 + c, std::string(1, (char) ('a' + c)), 1);
    }
    gguf_writer w;
    w.set_str("general.architecture", "llama");
    w.set_str("tokenizer.ggml.model", "llama");
    w.set_arr_str("tokenizer.ggml.tokens", tok);
    w.set_arr_f32("tokenizer.ggml.scores", score);
    w.set_arr_i32("tokenizer.ggml.token_type", type);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_bool("tokenizer.ggml.add_eos_token", false);
    w.set_bool("tokenizer.ggml.add_space_prefix", false);
    w.write(path);
}

int main(int argc, char ** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make-cambrian-tiny GOLDEN OUT\n");
        return 2;
    }
    const std::string dir = argv[1];
    const fs::path    out = argv[2];
    try {
        fs::create_directories(out);
        const nlohmann::json   info = nlohmann::json::parse(std::ifstream(dir + "/cases.json"));
        const nlohmann::json & cfg  = info.at("config");
        const nlohmann::json & tw   = info.at("towers");
        const nlohmann::json & tf   = info.at("weights").at("tower_files");
        std::ofstream((out / "config.json").string()) << info.at("cambrian_config").dump();

        cambrian_convert_params cp;
        cp.input  = dir + "/" + info.at("weights").at("file").get<std::string>();
        cp.siglip = dir + "/" + tf.at("siglip").get<std::string>();
        cp.clip   = dir + "/" + tf.at("clip").get<std::string>();
        cp.dino   = dir + "/" + tf.at("dino").get<std::string>();
        cp.convnext = dir + "/" + tf.at("convnext").get<std::string>();
        cambrian_convert_read_config((out / "config.json").string(), &cp);
        cp.siglip_heads      = cfg.at("siglip").at("heads").get<int>();
        cp.siglip_image_size = cfg.at("siglip").at("res").get<int>();
        cp.siglip_eps        = tw.at("siglip").at("ln_eps").get<float>();
        cp.clip_heads        = cfg.at("clip").at("heads").get<int>();
        cp.clip_eps          = tw.at("clip").at("ln_eps").get<float>();
        cp.dino_heads        = cfg.at("dino").at("heads").get<int>();
        cp.dino_eps          = tw.at("dino").at("ln_eps").get<float>();
        cp.convnext_eps      = tw.at("convnext").at("ln_eps").get<float>();
        cp.require_clip      = true;
        cp.type              = GGML_TYPE_F32;
        cp.output            = (out / "cambrian-vision.gguf").string();
        cambrian_convert(cp);
        cambrian_convert_params nb = cp;
        nb.llm_block_start         = 1000;
        nb.output                  = (out / "cambrian-vision-noblocks.gguf").string();
        cambrian_convert(nb);

        const std::string tokp = (out / "tokenizer.gguf").string();
        write_tokenizer(tokp, cfg.at("vocab").get<int>());
        cambrian_llm_convert_params lp;
        lp.input          = cp.input;
        lp.config         = (out / "config.json").string();
        lp.tokenizer_from = tokp;
        lp.output         = (out / "cambrian-llm.gguf").string();
        lp.type           = GGML_TYPE_F32;
        cambrian_convert_llm(lp);

        // the --template of each case: its input_ids before / after the image (-200) as text
        nlohmann::json prompts = nlohmann::json::object();
        for (const nlohmann::json & c : info.at("cases")) {
            std::string text;
            bool        seen_image = false, bos_added = false;
            for (const nlohmann::json & v : c.at("input_ids")) {
                const int id = v.get<int>();
                if (id == -200) {
                    text += "<image>";
                    seen_image = true;
                } else if (id == 1 && !seen_image && !bos_added) {
                    bos_added = true;  // the tokenizer's own BOS
                } else if (id == 1 && !seen_image) {
                    text += "<s>";  // a second BOS in the text (the double-BOS case)
                } else if (id >= 11 && id < 11 + 4) {
                    text += k_pre_text[id - 11];
                } else if (id >= 21 && id < 21 + 3) {
                    text += k_post_text[id - 21];
                } else {
                    fail("%s/cases.json: case %s: input id %d has no text in the tiny vocabulary", dir.c_str(),
                         c.at("name").get<std::string>().c_str(), id);
                }
            }
            if (!bos_added || !seen_image) {
                fail("%s/cases.json: case %s: input_ids without a leading BOS or the image", dir.c_str(),
                     c.at("name").get<std::string>().c_str());
            }
            prompts[c.at("name").get<std::string>()] = text;
        }
        std::ofstream((out / "prompt.json").string()) << prompts.dump(1);
    } catch (const std::exception & e) {
        fprintf(stderr, "make-cambrian-tiny: %s\n", e.what());
        return 1;
    }
    return 0;
}
