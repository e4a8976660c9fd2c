// groundlmm attend: runs a LLaVA-style model on an image and saves, for every generated token, its attention
// map over the image tokens (attend.json + attention.safetensors; see docs/formats.md).
#include "cli-common.h"
#include "common.h"

#include <cstdio>

int cmd_attend(int argc, char ** argv) {
    CLI::App       app("Run a LLaVA-style model on an image and save per-token attention maps", argv[0]);
    cli_model_opts mo;
    cli_settings   so;
    std::string    image, out;
    mo.add(app);
    so.add(app, /*stage1=*/true, /*stage2=*/false);
    app.add_option("--image", image, "input image (PNG, JPEG, ...)")->required();
    app.add_option("-o,--output", out, "output folder (attend.json, attention.safetensors)");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    const glm::run_settings s = so.get();
    glm::pipeline           ctx(mo.load(), mo.context_params());
    const glm::image_u8     img = glm::image_load(image);
    const glm::attend_result r  = ctx.attend(img, s, image);
    printf("%s\n", r.out.answer.c_str());
    fflush(stdout);
    fprintf(stderr, "%d tokens (%s), %dx%d maps; vision %.2fs, prompt %.2fs (%d tokens), generation %.2fs (%.1f tok/s)\n",
            r.n_tokens(), r.out.stop_reason.c_str(), r.grid_w, r.grid_h, r.t_vision_s, r.out.t_prompt_s,
            r.out.prompt_len, r.out.t_gen_s, r.out.t_gen_s > 0 ? r.n_tokens() / r.out.t_gen_s : 0.0);
    if (!out.empty()) {
        glm::attend_save(r, out);
        fprintf(stderr, "wrote %s/attend.json and %s/attention.safetensors\n", out.c_str(), out.c_str());
    }
    return 0;
}
