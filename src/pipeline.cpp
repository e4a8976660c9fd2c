#include "pipeline.h"

#include "common.h"
#include "models/cambrian-vision.h"
#include "models/mtmd-vision.h"
#include "refine-region.h"
#include "refine-sam.h"
#include "sam.h"

namespace glm {

using json = nlohmann::json;

// ---- pipeline_model ------------------------------------------------------------------------------------------

pipeline_model::pipeline_model(const pipeline_model_params & p) : params_(p) {
    if (p.llm.empty() || p.vision.empty()) {
        fail("the pipeline needs an LLM (-m) and a vision model (--mmproj)");
    }
    refiner_         = refiner_resolve(p.refiner);
    backend_params_  = { p.n_threads, p.use_gpu, 0 };
}

pipeline_model::~pipeline_model() = default;

std::shared_ptr<pipeline_model> pipeline_model::load(const pipeline_model_params & params) {
    return std::shared_ptr<pipeline_model>(new pipeline_model(params));
}

// std::call_once runs the loader again on the next call when it threw: a failed load is reported every time.
compute_backend & pipeline_model::weights_backend() {
    std::call_once(backend_once_, [&] { weights_backend_ = std::make_unique<compute_backend>(backend_params_); });
    return *weights_backend_;
}

// libmtmd families need the LLM before the projector (mtmd reads its width and vocabulary): the LLM loads first
// for them; for our own encoders the vision model loads first (a bad pair fails before the large LLM is read).
void pipeline_model::load_vision() {
    std::call_once(vision_once_, [&] {
        const bool needs_llm = vision_needs_text_model(params_.vision);
        if (needs_llm) {
            load_llm_only();
        }
        mtmd_vision_params mv;
        mv.n_threads        = params_.n_threads;
        mv.use_gpu          = params_.use_gpu;
        mv.image_min_tokens = params_.image_min_tokens;
        mv.image_max_tokens = params_.image_max_tokens;
        vision_load_params vp;
        vp.anyres_rule = params_.anyres_rule;
        vp.text_model  = needs_llm ? llm_->get() : nullptr;
        vp.mtmd        = &mv;
        vision_ = vision_encoder_load(params_.vision, weights_backend(), vp);
    });
}

// The model-level half of libllama's settings (the context-level half comes from pipeline_context_params).
static lmm_params llm_params_of(const pipeline_model_params & p) {
    lmm_params lp;
    lp.model        = p.llm;
    lp.lora         = p.lora;
    lp.lora_scale   = p.lora_scale;
    lp.n_threads    = p.n_threads;
    lp.n_gpu_layers = p.use_gpu ? p.n_gpu_layers : 0;
    lp.extra_bufts  = p.extra_bufts;
    return lp;
}

void pipeline_model::load_llm_only() {
    std::call_once(llm_once_, [&] { llm_ = std::make_unique<lmm_model>(llm_params_of(params_)); });
}

void pipeline_model::load_lmm() {
    load_vision();
    load_llm_only();
    std::call_once(lmm_once_, [&] {
        if (vision_->n_embd() != llm_->n_embd_inp()) {
            fail("mismatched model pair: %s outputs embeddings of width %d, the LLM %s expects %d",
                 params_.vision.c_str(), vision_->n_embd(), params_.llm.c_str(), llm_->n_embd_inp());
        }
    });
}

const lmm_model & pipeline_model::llm() {
    load_lmm();
    return *llm_;
}

const phrase_chunker & pipeline_model::chunker() {
    std::call_once(chunker_once_, [&] { chunker_ = std::make_unique<phrase_chunker>(); });
    return *chunker_;
}

std::shared_ptr<const sam_model> pipeline_model::sam() {
    if (refiner_ != "sam") {
        return nullptr;
    }
    std::call_once(sam_once_, [&] { sam_ = sam_model::load(params_.refiner.sam_path, weights_backend()); });
    return sam_;
}

std::string pipeline_model::vision_name() {
    load_vision();
    return vision_->name();
}

const cambrian_model * pipeline_model::cambrian() {
    load_vision();
    const auto * c = dynamic_cast<const cambrian_encoder *>(vision_.get());
    return c ? &c->model() : nullptr;
}

int pipeline_model::n_image_tokens() {
    load_vision();
    return vision_->grid_w() * vision_->grid_h();
}

vision_output pipeline_model::encode(const image_u8 & img, compute_backend & compute, uint64_t seed) {
    load_lmm();  // the pair is checked before the first image
    return static_cast<const vision_encoder &>(*vision_).encode(img, compute, seed);
}

void pipeline_model::preload() {
    load_lmm();
    chunker();
    sam();
}

json pipeline_model::info() {
    preload();
    return {
        { "llm", { { "path", params_.llm }, { "desc", llm_->desc() }, { "lora", params_.lora } } },
        { "vision", { { "path", params_.vision }, { "desc", vision_->name() } } },
        { "refiner", refiner_ },
        { "sam", params_.refiner.sam_path.empty() ? json(nullptr) : json(params_.refiner.sam_path) },
        { "backend", weights_backend().name() },
    };
}

// ---- pipeline ------------------------------------------------------------------------------------------------

pipeline::pipeline(std::shared_ptr<pipeline_model> model, const pipeline_context_params & params)
    : model_(std::move(model)), params_(params) {
    if (!model_) {
        fail("pipeline: no model");
    }
    backend_ = std::make_unique<compute_backend>(model_->backend());
}

pipeline::~pipeline() = default;

lmm_session & pipeline::session() {
    if (!session_) {
        lmm_params lp   = llm_params_of(model_->params());
        lp.n_ctx        = params_.n_ctx;
        lp.n_batch      = params_.n_batch;
        lp.kv_f32       = params_.kv_f32;
        lp.tap          = true;
        const lmm_model & llm = model_->llm();  // loads the vision model too
        lp.cambrian         = model_->cambrian();
        lp.cambrian_compute = lp.cambrian ? backend_.get() : nullptr;  // the blocks run on this pipeline's state
        session_        = std::make_unique<lmm_session>(llm, lp);
    }
    return *session_;
}

int pipeline::n_ctx() { return session().n_ctx(); }

void pipeline::clear_cache() {
    cached_img_    = image_u8();
    cached_vision_ = vision_output();
    if (refiner_) {
        refiner_->clear_cache();
    }
}

refiner * pipeline::get_refiner() {
    if (!refiner_) {
        const std::string & name = model_->refiner_name();
        if (name == "sam") {
            refiner_ = std::make_unique<sam_refiner>(model_->sam(), *backend_);
        } else if (name == "region") {
            refiner_ = std::make_unique<region_refiner>();
        }
    }
    return refiner_.get();
}

// The vision_encoder attend_run sees: the model's (serialised) encoder behind this pipeline's embedding cache.
class pipeline_vision : public vision_encoder {
public:
    explicit pipeline_vision(pipeline & p) : p_(p), name_(p.model().vision_name()) {}
    std::string   name() const override { return name_; }
    int           n_embd() const override { return p_.model().llm().n_embd_inp(); }
    int           grid_w() const override { return 0; }
    int           grid_h() const override { return 0; }
    void          set_seed(uint64_t seed) override { seed_ = seed; }
    vision_output encode(const image_u8 & img, compute_backend & compute, uint64_t seed) const override {
        return p_.model().encode(img, compute, seed);
    }
    vision_output encode(const image_u8 & img) override {
        const image_u8 & c = p_.cached_img_;
        if (!c.empty() && c.w == img.w && c.h == img.h && p_.cached_seed_ == seed_ && c.rgb == img.rgb) {
            return p_.cached_vision_;
        }
        p_.cached_img_    = image_u8();
        p_.cached_vision_ = p_.model().encode(img, p_.backend(), seed_);
        p_.cached_img_    = img;
        p_.cached_seed_   = seed_;
        return p_.cached_vision_;
    }

private:
    pipeline &  p_;
    std::string name_;
    uint64_t    seed_ = 0;
};

attend_result pipeline::attend(const image_u8 & img, const run_settings & s, const std::string & image_path) {
    if (progress_ && !progress_("vision", 0.0f)) {
        fail("aborted");
    }
    lmm_session & sess = session();
    sess.set_tap_dump(s.heads == attn_heads::dump);
    pipeline_vision enc(*this);
    gen_params    gp = s.gen;
    if (progress_) {
        const int                    n = gp.answer.empty() ? gp.n_predict : 0;
        const pipeline_progress_fn & p = progress_;
        auto                         user = gp.on_token;
        gp.on_token = [&p, n, user](const gen_token & t, int k) {
            if (user && !user(t, k)) {
                return false;
            }
            return p("generate", n > 0 ? std::min(1.0f, (float) (k + 1) / (float) n) : 0.0f);
        };
    }
    attend_result r = attend_run(enc, sess, img, gp, s.heads == attn_heads::set ? s.head_sel : head_set(s.heads));
    if (r.out.stop_reason == "aborted") {
        fail("aborted");
    }
    r.image_path  = image_path;
    r.vision_path = model_->params().vision;
    return r;
}

ground_result pipeline::ground(const attend_result & att, const image_u8 & img, const run_settings & s) {
    return ground(att, img, s, get_refiner());
}

ground_result pipeline::ground(const attend_result & att, const image_u8 & img, const run_settings & s, refiner * ref) {
    if (progress_ && !progress_("phrases", 0.0f)) {
        fail("aborted");
    }
    ground_params gp = s.ground;
    gp.heads         = s.heads;
    gp.head_sel      = s.head_sel;
    return glm::ground(att, img, model_->chunker(), ref, gp);
}

grounding pipeline::run(const image_u8 & img, const run_settings & s, const std::string & image_path) {
    grounding r;
    r.att = attend(img, s, image_path);
    r.g   = ground(r.att, img, s);
    return r;
}

}  // namespace glm
