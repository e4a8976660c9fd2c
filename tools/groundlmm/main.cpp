// groundlmm: pixel grounding for multimodal LLMs without grounding supervision.
// Usage: groundlmm <command> [options]; groundlmm <command> --help for each command's options.
#include "commands.h"
#include "common.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

// Each subcommand's entry point, defined in its cmd-<name>.cpp; the table is in the order --help lists them
// (the main job, the pipeline, evaluation, metrics, conversion, the toy world).
int cmd_demo(int argc, char ** argv);
int cmd_attend(int argc, char ** argv);
int cmd_calibrate_heads(int argc, char ** argv);
int cmd_ground(int argc, char ** argv);
int cmd_segment(int argc, char ** argv);
int cmd_serve(int argc, char ** argv);
int cmd_eval_coco(int argc, char ** argv);
int cmd_eval_gcg(int argc, char ** argv);
int cmd_eval_merge(int argc, char ** argv);
int cmd_eval_vqa(int argc, char ** argv);
int cmd_vqa_score(int argc, char ** argv);
int cmd_cocoeval(int argc, char ** argv);
int cmd_meteor(int argc, char ** argv);
int cmd_ptb_tokenize(int argc, char ** argv);
int cmd_convert_sam(int argc, char ** argv);
int cmd_convert_difflmm(int argc, char ** argv);
int cmd_convert_cambrian(int argc, char ** argv);
int cmd_toy_world(int argc, char ** argv);
int cmd_toy_train(int argc, char ** argv);
int cmd_version(int argc, char ** argv);
int cmd_settings(int argc, char ** argv);

const std::vector<glm_command> & glm_commands() {
    static const std::vector<glm_command> table = {
        { "demo", "attend-and-segment on the embedded toy model and a bundled scene (no downloads)", cmd_demo },
        { "attend", "run a LLaVA-style model on an image; save per-token attention maps", cmd_attend },
        { "calibrate-heads", "choose localization heads without labels (Kang et al.); write a head-set file", cmd_calibrate_heads },
        { "ground", "attend-and-segment: answer, noun phrases, points and masks", cmd_ground },
        { "segment", "Segment Anything masks for point and box prompts", cmd_segment },
        { "serve", "HTTP server: POST /ground, POST /attend, GET /health (one inference loop, bounded queue)", cmd_serve },
        { "eval-coco", "pilot study: COCO instance segmentation from descriptions (resumable, shardable)", cmd_eval_coco },
        { "eval-gcg", "grounded conversation generation on GranD-f (resumable, shardable)", cmd_eval_gcg },
        { "eval-merge", "merge eval-coco / eval-gcg shards and print the metrics table", cmd_eval_merge },
        { "eval-vqa", "general VQA benchmarks with LLaVA-1.5's prompts: answers JSONL (resumable, shardable)", cmd_eval_vqa },
        { "vqa-score", "score LLaVA answers of VQAv2, GQA, VizWiz, TextVQA, ScienceQA, POPE, MMBench as their official evaluators do", cmd_vqa_score },
        { "cocoeval", "COCO segm metrics (pycocotools-compatible) of a result file", cmd_cocoeval },
        { "meteor", "METEOR 1.5 over the Meteor jar's -stdio protocol (pycocoevalcap drop-in)", cmd_meteor },
        { "ptb-tokenize", "pycocoevalcap's PTBTokenizer step (Stanford PTB tokens, lowercased, punctuation dropped)", cmd_ptb_tokenize },
        { "convert-sam", "convert a Segment Anything checkpoint (.pth) to GGUF", cmd_convert_sam },
        { "convert-difflmm", "convert DiffLMM's visual encoder (SD + CLIP + projector) to GGUF", cmd_convert_difflmm },
        { "convert-cambrian", "convert Cambrian-1's aggregator and its four vision towers to GGUF", cmd_convert_cambrian },
        { "toy-world", "write toy-world scenes, COCO masks and captions", cmd_toy_world },
        { "toy-train", "train the toy LMM on toy-world captions (ggml-opt)", cmd_toy_train },
        { "settings", "the run settings table: names, options, defaults, ranges (docs/settings.md)", cmd_settings },
        { "version", "print the version and the backends this build has", cmd_version },
    };
    return table;
}

static void usage(FILE * out) {
    fprintf(out, "usage: groundlmm <command> [options]\n\ncommands:\n");
    for (const auto & c : glm_commands()) {
        fprintf(out, "  %-16s %s\n", c.name, c.summary);
    }
    fprintf(out, "\nRun 'groundlmm <command> --help' for the options of a command.\n");
}

int main(int argc, char ** argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const auto & c : glm_commands()) {
        if (c.name == std::string(argv[1])) {
            std::string prog = std::string("groundlmm ") + c.name;
            argv[1]          = (char *) prog.c_str();
            try {
                return c.run(argc - 1, argv + 1);
            } catch (const glm::error & e) {
                fprintf(stderr, "groundlmm %s: error: %s\n", c.name, e.what());
                return 1;
            } catch (const std::exception & e) {
                fprintf(stderr, "groundlmm %s: internal error: %s\n", c.name, e.what());
                return 3;
            }
        }
    }
    fprintf(stderr, "groundlmm: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
