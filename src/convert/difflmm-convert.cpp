#include "difflmm-convert.h"

#include "common.h"
#include "gguf-loader.h"
#include "clip-text.h"
#include "safetensors.h"
#include "torch-checkpoint.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>

namespace glm {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One source tensor: its PyTorch shape and a way to read it as float32.
struct src_tensor {
    std::vector<int64_t>                 shape;
    std::function<std::vector<float>()> data;
};

// Named tensors of one model part, read from safetensors files kept open for the conversion.
class weight_set {
public:
    // <dir>/<base>.safetensors, its fp16 variant, a sharded <base>.safetensors.index.json, or PyTorch's
    // <base>.bin ("model" -> pytorch_model.bin, as transformers names it)
    void open_dir(const std::string & dir, const std::string & base) {
        const std::string index = dir + "/" + base + ".safetensors.index.json";
        const std::string bin   = dir + "/" + (base == "model" ? "pytorch_model" : base) + ".bin";
        if (file_exists(dir + "/" + base + ".safetensors")) {
            open_file(dir + "/" + base + ".safetensors");
        } else if (file_exists(dir + "/" + base + ".fp16.safetensors")) {
            open_file(dir + "/" + base + ".fp16.safetensors");
        } else if (file_exists(index)) {
            const json             j = parse_json(index);
            std::set<std::string> shards;
            for (const auto & kv : j.at("weight_map").items()) {
                shards.insert(kv.value().get<std::string>());
            }
            for (const std::string & s : shards) {
                open_file(dir + "/" + s);
            }
        } else if (file_exists(bin)) {
            open_file(bin);
        } else {
            fail("%s: no %s.safetensors or %s", dir.c_str(), base.c_str(), bin.c_str());
        }
    }

    // a .safetensors file, or anything else as a PyTorch checkpoint (torch.save zip)
    void open_file(const std::string & path) {
        if (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
            open_safetensors(path);
            return;
        }
        ckpts_.push_back(std::make_unique<torch_checkpoint>(path));
        const torch_checkpoint & ck = *ckpts_.back();
        for (const auto & kv : ck.tensors()) {
            const torch_tensor * t = &kv.second;
            map_[kv.first]         = src_tensor{ t->shape, [&ck, t] { return ck.to_f32(*t); } };
        }
    }

    void open_safetensors(const std::string & path) {
        files_.push_back(std::make_unique<safetensors_file>(path));
        const safetensors_file & f = *files_.back();
        for (const std::string & n : f.names()) {
            const st_tensor * t = &f.get(n);
            map_[n]             = src_tensor{ t->shape, [t] { return t->to_f32(); } };
        }
    }

    const std::map<std::string, src_tensor> & tensors() const { return map_; }

    static json parse_json(const std::string & path) {
        const std::vector<uint8_t> b = read_file(path);
        try {
            return json::parse(b.begin(), b.end());
        } catch (const std::exception & e) {
            fail("%s: invalid JSON (%s)", path.c_str(), e.what());
        }
    }

private:
    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::vector<std::unique_ptr<torch_checkpoint>> ckpts_;
    std::map<std::string, src_tensor>              map_;
};

// --- config helpers

template <typename T> T cfg(const json & j, const std::string & key, const T & def, const std::string & file) {
    if (!j.contains(key) || j.at(key).is_null()) {
        return def;
    }
    try {
        return j.at(key).get<T>();
    } catch (const std::exception &) {
        fail("%s: field '%s' has an unexpected type (%s)", file.c_str(), key.c_str(), j.at(key).dump().c_str());
    }
}

template <typename T> T cfg_req(const json & j, const std::string & key, const std::string & file) {
    if (!j.contains(key) || j.at(key).is_null()) {
        fail("%s: missing field '%s'", file.c_str(), key.c_str());
    }
    return cfg<T>(j, key, T(), file);
}

// an int or a list of ints -> one per block
std::vector<int> per_block(const json & j, const std::string & key, size_t n, int def, const std::string & file) {
    std::vector<int> out;
    if (!j.contains(key) || j.at(key).is_null()) {
        out.assign(n, def);
    } else if (j.at(key).is_number_integer()) {
        out.assign(n, j.at(key).get<int>());
    } else if (j.at(key).is_array()) {
        for (const auto & v : j.at(key)) {
            if (!v.is_number_integer()) {
                fail("%s: field '%s' must hold integers", file.c_str(), key.c_str());
            }
            out.push_back(v.get<int>());
        }
        if (out.size() != n) {
            fail("%s: field '%s' has %zu entries, expected %zu (one per block)", file.c_str(), key.c_str(), out.size(),
                 n);
        }
    } else {
        fail("%s: field '%s' must be an integer or a list", file.c_str(), key.c_str());
    }
    return out;
}

std::vector<int32_t> to_i32(const std::vector<int> & v) { return std::vector<int32_t>(v.begin(), v.end()); }

// --- the output file

struct out_file {
    gguf_writer           w;
    ggml_type             type;
    std::set<std::string> written;

    // src: PyTorch shape; ne_override: ggml shape to use instead of the reversed PyTorch shape
    void add(const std::string & name, const src_tensor & src, std::vector<int64_t> ne = {}) {
        if (name.size() >= GGML_MAX_NAME) {
            fail("internal: tensor name '%s' too long for GGUF", name.c_str());
        }
        if (!written.insert(name).second) {
            fail("two source tensors map to '%s'", name.c_str());
        }
        int64_t n = 1;
        for (int64_t d : src.shape) {
            n *= d;
        }
        if (ne.empty()) {
            ne.assign(src.shape.rbegin(), src.shape.rend());
        }
        if (ne.empty()) {
            ne = { 1 };
        }
        int64_t m = 1;
        for (int64_t d : ne) {
            m *= d;
        }
        GGML_ASSERT(m == n);
        // matrices and kernels in the chosen type; norms, biases, embeddings added to activations in F32
        const bool is_matrix = ne.size() >= 2 && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 &&
                               name != "v.position_embd.weight";
        const std::vector<float> d = src.data();
        w.add_tensor(name, is_matrix ? type : GGML_TYPE_F32, ne, d.data());
    }
};

// --- name maps (diffusers / transformers / official names -> ours); "" = not needed, throws on unknown names

std::string map_resnet_sub(const std::string & s) {
    static const std::map<std::string, std::string> m = {
        { "norm1", "norm1" }, { "conv1", "conv1" }, { "norm2", "norm2" }, { "conv2", "conv2" },
        { "time_emb_proj", "temb" }, { "conv_shortcut", "skip" },
    };
    const size_t dot = s.find('.');
    auto         it  = m.find(s.substr(0, dot));
    return it == m.end() || dot == std::string::npos ? std::string() : it->second + s.substr(dot);
}

std::string map_transformer_sub(const std::string & s) {
    static const std::regex direct(R"(^(norm|proj_in|proj_out)\.(weight|bias)$)");
    static const std::regex block(R"(^transformer_blocks\.(\d+)\.(.+)$)");
    std::smatch             mt;
    if (std::regex_match(s, mt, direct)) {
        return s;
    }
    if (!std::regex_match(s, mt, block)) {
        return "";
    }
    static const std::vector<std::pair<std::string, std::string>> rules = {
        { "norm1.", "norm1." },         { "norm2.", "norm2." },         { "norm3.", "norm3." },
        { "attn1.to_q.", "attn1.q." },  { "attn1.to_k.", "attn1.k." },  { "attn1.to_v.", "attn1.v." },
        { "attn1.to_out.0.", "attn1.out." }, { "attn2.to_q.", "attn2.q." }, { "attn2.to_k.", "attn2.k." },
        { "attn2.to_v.", "attn2.v." },  { "attn2.to_out.0.", "attn2.out." }, { "ff.net.0.proj.", "ff_in." },
        { "ff.net.2.", "ff_out." },
    };
    const std::string rest = mt[2].str();
    for (const auto & r : rules) {
        if (rest.compare(0, r.first.size(), r.first) == 0) {
            return "tb" + mt[1].str() + "." + r.second + rest.substr(r.first.size());
        }
    }
    return "";
}

// Returns the GGUF name, "" to skip; throws for a name it does not know.
std::string map_unet(const std::string & n, int n_up_keep) {
    static const std::regex res(R"(^(down|up)_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$)");
    static const std::regex att(R"(^(down|up)_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$)");
    static const std::regex smp(R"(^(down|up)_blocks\.(\d+)\.(downsamplers|upsamplers)\.0\.conv\.(weight|bias)$)");
    static const std::regex mres(R"(^mid_block\.resnets\.(\d+)\.(.+)$)");
    static const std::regex matt(R"(^mid_block\.attentions\.0\.(.+)$)");
    std::smatch             m;
    std::string             out;
    auto block = [&](const std::smatch & mm) {
        return std::string(mm[1].str() == "down" ? "unet.d" : "unet.u") + mm[2].str();
    };
    auto keep = [&](const std::smatch & mm) { return mm[1].str() == "down" || std::stoi(mm[2].str()) < n_up_keep; };
    if (n.rfind("time_embedding.linear_1.", 0) == 0) {
        out = "unet.time_l1." + n.substr(24);
    } else if (n.rfind("time_embedding.linear_2.", 0) == 0) {
        out = "unet.time_l2." + n.substr(24);
    } else if (n.rfind("conv_in.", 0) == 0) {
        out = "unet." + n;
    } else if (n.rfind("conv_norm_out.", 0) == 0 || n.rfind("conv_out.", 0) == 0) {
        return "";  // the noise prediction head: not a feature
    } else if (std::regex_match(n, m, res)) {
        if (!keep(m)) {
            return "";
        }
        const std::string s = map_resnet_sub(m[4].str());
        out                 = s.empty() ? s : block(m) + ".res" + m[3].str() + "." + s;
    } else if (std::regex_match(n, m, att)) {
        if (!keep(m)) {
            return "";
        }
        const std::string s = map_transformer_sub(m[4].str());
        out                 = s.empty() ? s : block(m) + ".attn" + m[3].str() + "." + s;
    } else if (std::regex_match(n, m, smp)) {
        if (!keep(m)) {
            return "";
        }
        out = block(m) + (m[1].str() == "down" ? ".down." : ".up.") + m[4].str();
    } else if (std::regex_match(n, m, mres)) {
        const std::string s = map_resnet_sub(m[2].str());
        out                 = s.empty() ? s : "unet.mid.res" + m[1].str() + "." + s;
    } else if (std::regex_match(n, m, matt)) {
        const std::string s = map_transformer_sub(m[1].str());
        out                 = s.empty() ? s : "unet.mid.attn." + s;
    }
    if (out.empty()) {
        fail("unet: unexpected tensor '%s' (not a diffusers UNet2DConditionModel name this converter knows)",
             n.c_str());
    }
    return out;
}

std::string map_vae(const std::string & n) {
    static const std::regex res(R"(^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$)");
    static const std::regex smp(R"(^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)$)");
    static const std::regex mres(R"(^encoder\.mid_block\.resnets\.(\d+)\.(.+)$)");
    static const std::regex matt(R"(^encoder\.mid_block\.attentions\.0\.([a-z_]+(\.0)?)\.(weight|bias)$)");
    std::smatch             m;
    std::string             out;
    if (n.rfind("decoder.", 0) == 0 || n.rfind("post_quant_conv.", 0) == 0) {
        return "";
    }
    if (n.rfind("encoder.conv_in.", 0) == 0) {
        out = "vae.conv_in." + n.substr(16);
    } else if (n.rfind("encoder.conv_norm_out.", 0) == 0) {
        out = "vae.norm_out." + n.substr(22);
    } else if (n.rfind("encoder.conv_out.", 0) == 0) {
        out = "vae.conv_out." + n.substr(17);
    } else if (n.rfind("quant_conv.", 0) == 0) {
        out = "vae." + n;
    } else if (std::regex_match(n, m, res)) {
        const std::string s = map_resnet_sub(m[3].str());
        out                 = s.empty() ? s : "vae.d" + m[1].str() + ".res" + m[2].str() + "." + s;
    } else if (std::regex_match(n, m, smp)) {
        out = "vae.d" + m[1].str() + ".down." + m[2].str();
    } else if (std::regex_match(n, m, mres)) {
        const std::string s = map_resnet_sub(m[2].str());
        out                 = s.empty() ? s : "vae.mid.res" + m[1].str() + "." + s;
    } else if (std::regex_match(n, m, matt)) {
        // current names (group_norm, to_q/k/v, to_out.0) and the deprecated ones (query/key/value/proj_attn)
        static const std::map<std::string, std::string> sub = {
            { "group_norm", "norm" }, { "to_q", "q" },   { "to_k", "k" },     { "to_v", "v" },
            { "to_out.0", "out" },    { "query", "q" },  { "key", "k" },      { "value", "v" },
            { "proj_attn", "out" },
        };
        auto it = sub.find(m[1].str());
        if (it != sub.end()) {
            out = "vae.mid.attn." + it->second + "." + m[3].str();
        }
    }
    if (out.empty()) {
        fail("vae: unexpected tensor '%s' (not a diffusers AutoencoderKL name this converter knows)", n.c_str());
    }
    return out;
}

// HF CLIPVisionModel names (after "vision_model.") -> llama.cpp mmproj names; layers >= n_keep are dropped
std::string map_clip(const std::string & n, int n_keep) {
    static const std::regex lay(R"(^encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$)");
    static const std::map<std::string, std::string> sub = {
        { "self_attn.q_proj", "attn_q" },     { "self_attn.k_proj", "attn_k" }, { "self_attn.v_proj", "attn_v" },
        { "self_attn.out_proj", "attn_out" }, { "layer_norm1", "ln1" },         { "layer_norm2", "ln2" },
        { "mlp.fc1", "ffn_down" },            { "mlp.fc2", "ffn_up" },  // llama.cpp's legacy LLaVA naming
    };
    std::smatch m;
    std::string out;
    if (n == "embeddings.class_embedding") {
        out = "v.class_embd";
    } else if (n == "embeddings.patch_embedding.weight") {
        out = "v.patch_embd.weight";
    } else if (n == "embeddings.position_embedding.weight") {
        out = "v.position_embd.weight";
    } else if (n == "embeddings.position_ids") {
        return "";
    } else if (n.rfind("pre_layrnorm.", 0) == 0) {
        out = "v.pre_ln." + n.substr(13);
    } else if (n.rfind("post_layernorm.", 0) == 0) {
        return "";  // hidden_states[-2] is taken before it
    } else if (std::regex_match(n, m, lay)) {
        if (std::stoi(m[1].str()) >= n_keep) {
            return "";
        }
        auto it = sub.find(m[2].str());
        if (it != sub.end()) {
            out = "v.blk." + m[1].str() + "." + it->second + "." + m[3].str();
        }
    }
    if (out.empty()) {
        fail("clip: unexpected tensor '%s' (not a transformers CLIPVisionModel name this converter knows)", n.c_str());
    }
    return out;
}

std::string map_projector(const std::string & n) {
    static const std::map<std::string, std::string> m = {
        { "clip_projector.0.weight", "mm.clip_proj.0.weight" }, { "clip_projector.0.bias", "mm.clip_proj.0.bias" },
        { "clip_projector.2.weight", "mm.clip_proj.2.weight" }, { "clip_projector.2.bias", "mm.clip_proj.2.bias" },
        { "sd_norm_layer.weight", "mm.sd_norm.weight" },         { "sd_norm_layer.bias", "mm.sd_norm.bias" },
        { "sd_proj_layer.0.weight", "mm.sd_proj.weight" },       { "sd_proj_layer.0.bias", "mm.sd_proj.bias" },
        { "linear.0.weight", "mm.linear.0.weight" },             { "linear.0.bias", "mm.linear.0.bias" },
        { "linear.2.weight", "mm.linear.2.weight" },             { "linear.2.bias", "mm.linear.2.bias" },
        { "clip_pe", "mm.clip_pe" },                             { "vt_pe", "mm.vt_pe" },
    };
    auto it = m.find(n);
    if (it == m.end()) {
        fail("projector: unexpected tensor 'mm_projector.%s' (not an SDCLIPBlock name)", n.c_str());
    }
    return it->second;
}

// 1x1 convolution kernels that act as linear maps in our graphs ([out, in, 1, 1] -> ne [in, out])
bool is_pointwise_as_linear(const std::string & gguf_name, const std::vector<int64_t> & shape) {
    if (shape.size() != 4 || shape[2] != 1 || shape[3] != 1) {
        return false;
    }
    static const std::regex r(R"(\.(proj_in|proj_out|mid\.attn\.(q|k|v|out))\.weight$)");
    return std::regex_search(gguf_name, r);
}

void write_part(out_file & out, const weight_set & ws, const std::function<std::string(const std::string &)> & map,
                const std::string & strip_prefix = "") {
    for (const auto & kv : ws.tensors()) {
        std::string n = kv.first;
        if (!strip_prefix.empty()) {
            if (n.rfind(strip_prefix, 0) != 0) {
                continue;  // another model's tensor in the same file (e.g. CLIPModel's text tower)
            }
            n = n.substr(strip_prefix.size());
        }
        const std::string g = map(n);
        if (g.empty()) {
            continue;
        }
        const std::vector<int64_t> & s = kv.second.shape;
        if (is_pointwise_as_linear(g, s)) {
            out.add(g, kv.second, { s[1], s[0] });
        } else {
            out.add(g, kv.second);
        }
    }
}

}  // namespace

std::vector<difflmm_named_tensor> difflmm_read_projector(const std::string & path) {
    weight_set ws;
    ws.open_file(path);  // .safetensors, or non_lora_trainables.bin / mm_projector.bin (torch.save)
    std::vector<difflmm_named_tensor> out;
    std::vector<std::string>          skipped;
    for (const auto & kv : ws.tensors()) {
        const size_t at = kv.first.find("mm_projector.");
        if (at == std::string::npos) {
            skipped.push_back(kv.first);
            continue;
        }
        out.push_back({ map_projector(kv.first.substr(at + 13)), kv.second.shape, kv.second.data() });
    }
    if (out.empty()) {
        fail("%s: no mm_projector.* tensors (is this DiffLMM's non_lora_trainables.bin?)", path.c_str());
    }
    if (!skipped.empty()) {
        GLM_LOG_INFO("convert-difflmm: %s: skipped %zu tensor(s) outside mm_projector (first: '%s')\n", path.c_str(),
                     skipped.size(), skipped[0].c_str());
    }
    return out;
}

void difflmm_convert(const difflmm_convert_params & p) {
    if (p.type != GGML_TYPE_F32 && p.type != GGML_TYPE_F16) {
        fail("convert-difflmm: --type must be f32 or f16");
    }
    out_file out;
    out.type = p.type;
    gguf_writer & w = out.w;
    w.set_str("general.architecture", "difflmm");
    w.set_str("general.name", "DiffLMM vision encoder");
    w.set_u32("general.file_type", p.type == GGML_TYPE_F16 ? 1 : 0);

    // --- DiffLMM (LLaVA) settings: the released model's training flags unless a config.json says otherwise
    int  select_layer = 1, timestep = 100, ensemble = 1, resolution = 384, pe = 576;
    bool concat_clip = true, implicit_caption = true;
    if (!p.llava_config.empty()) {
        const json        j = weight_set::parse_json(p.llava_config);
        const std::string f = p.llava_config;
        const std::string type = cfg<std::string>(j, "mm_projector_type", "SDCLIPBlock", f);
        if (type != "SDCLIPBlock") {
            fail("%s: mm_projector_type is '%s', expected 'SDCLIPBlock' (a DiffLMM config)", f.c_str(), type.c_str());
        }
        select_layer     = cfg<int>(j, "mm_vision_select_layer", select_layer, f);
        timestep         = cfg<int>(j, "mm_vision_sd_timestep", timestep, f);
        ensemble         = cfg<int>(j, "mm_vision_sd_ensemble_size", ensemble, f);
        resolution       = cfg<int>(j, "mm_vision_resolution", resolution, f);
        pe               = cfg<int>(j, "mm_vision_sd_pe", pe, f);
        concat_clip      = cfg<bool>(j, "mm_vision_sd_concat_clip", concat_clip, f);
        implicit_caption = cfg<bool>(j, "mm_vision_sd_implicit_caption", implicit_caption, f);
        const std::string ar = cfg<std::string>(j, "image_aspect_ratio", "pad", f);
        if (ar != "pad") {
            fail("%s: image_aspect_ratio '%s' is not supported (DiffLMM uses 'pad')", f.c_str(), ar.c_str());
        }
    }
    w.set_u32("difflmm.image_size", (uint32_t) resolution);
    w.set_arr_f32("difflmm.image_mean", { 0.5f, 0.5f, 0.5f });  // SDCLIPVisionTower's CLIPImageProcessor
    w.set_arr_f32("difflmm.image_std", { 0.5f, 0.5f, 0.5f });
    w.set_u32("difflmm.timestep", (uint32_t) timestep);
    w.set_u32("difflmm.ensemble_size", (uint32_t) ensemble);
    w.set_u32("difflmm.select_layer", (uint32_t) select_layer);
    w.set_bool("difflmm.concat_clip", concat_clip);
    w.set_bool("difflmm.implicit_caption", implicit_caption);

    // --- scheduler (DDIM training schedule)
    {
        const std::string f = p.sd_dir + "/scheduler/scheduler_config.json";
        json              j = json::object();
        if (file_exists(f)) {
            j = weight_set::parse_json(f);
        } else {
            GLM_LOG_WARN("convert-difflmm: %s not found; using SD-1.5's schedule (scaled_linear 0.00085..0.012, "
                         "1000 steps)\n", f.c_str());
            j = { { "num_train_timesteps", 1000 }, { "beta_start", 0.00085 }, { "beta_end", 0.012 },
                  { "beta_schedule", "scaled_linear" } };
        }
        if (j.contains("trained_betas") && !j.at("trained_betas").is_null()) {
            fail("%s: trained_betas are not supported", f.c_str());
        }
        const std::string bs = cfg<std::string>(j, "beta_schedule", "linear", f);
        if (bs != "scaled_linear" && bs != "linear") {
            fail("%s: beta_schedule '%s' is not supported (scaled_linear, linear)", f.c_str(), bs.c_str());
        }
        w.set_u32("difflmm.scheduler.num_train_timesteps", (uint32_t) cfg<int>(j, "num_train_timesteps", 1000, f));
        w.set_f32("difflmm.scheduler.beta_start", cfg<float>(j, "beta_start", 0.0001f, f));
        w.set_f32("difflmm.scheduler.beta_end", cfg<float>(j, "beta_end", 0.02f, f));
        w.set_str("difflmm.scheduler.beta_schedule", bs);
    }

    // --- UNet
    int cross_dim = 0;
    {
        const std::string dir = p.sd_dir + "/unet", f = dir + "/config.json";
        const json        j   = weight_set::parse_json(f);
        const std::vector<int> boc = cfg_req<std::vector<int>>(j, "block_out_channels", f);
        const size_t           nb  = boc.size();
        const auto down = cfg_req<std::vector<std::string>>(j, "down_block_types", f);
        const auto up   = cfg_req<std::vector<std::string>>(j, "up_block_types", f);
        if (down.size() != nb || up.size() != nb) {
            fail("%s: down/up_block_types must have %zu entries like block_out_channels", f.c_str(), nb);
        }
        std::vector<int> down_attn, up_attn;
        for (const auto & t : down) {
            if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D") {
                fail("%s: down block type '%s' is not supported", f.c_str(), t.c_str());
            }
            down_attn.push_back(t == "CrossAttnDownBlock2D");
        }
        for (const auto & t : up) {
            if (t != "CrossAttnUpBlock2D" && t != "UpBlock2D") {
                fail("%s: up block type '%s' is not supported", f.c_str(), t.c_str());
            }
            up_attn.push_back(t == "CrossAttnUpBlock2D");
        }
        const std::string mid = cfg<std::string>(j, "mid_block_type", "UNetMidBlock2DCrossAttn", f);
        if (mid != "UNetMidBlock2DCrossAttn") {
            fail("%s: mid_block_type '%s' is not supported", f.c_str(), mid.c_str());
        }
        // options of UNet2DConditionModel this graph does not implement must be at their SD defaults
        const std::vector<std::pair<std::string, std::string>> must = {
            { "class_embed_type", "null" },         { "addition_embed_type", "null" },
            { "encoder_hid_dim", "null" },          { "time_cond_proj_dim", "null" },
            { "timestep_post_act", "null" },        { "time_embedding_act_fn", "null" },
            { "num_class_embeds", "null" },         { "only_cross_attention", "false" },
            { "dual_cross_attention", "false" },    { "center_input_sample", "false" },
            { "resnet_time_scale_shift", "\"default\"" }, { "act_fn", "\"silu\"" },
            { "time_embedding_type", "\"positional\"" },  { "conv_in_kernel", "3" },
            { "attention_type", "\"default\"" },    { "resnet_skip_time_act", "false" },
            { "resnet_out_scale_factor", "1.0" },   { "reverse_transformer_layers_per_block", "null" },
            { "mid_block_scale_factor", "1.0" },    { "cross_attention_norm", "null" },
            { "class_embeddings_concat", "false" },
        };
        for (const auto & m : must) {
            if (j.contains(m.first) && j.at(m.first).dump() != m.second && !(m.second == "1.0" && j.at(m.first) == 1)) {
                fail("%s: %s = %s is not supported (expected %s)", f.c_str(), m.first.c_str(),
                     j.at(m.first).dump().c_str(), m.second.c_str());
            }
        }
        if (j.contains("cross_attention_dim") && j.at("cross_attention_dim").is_array()) {
            fail("%s: per-block cross_attention_dim is not supported", f.c_str());
        }
        const std::vector<int> lpb = per_block(j, "layers_per_block", nb, 2, f);
        // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (SD's historical naming)
        const std::string      hk  = j.contains("num_attention_heads") && !j.at("num_attention_heads").is_null()
                                         ? "num_attention_heads" : "attention_head_dim";
        const std::vector<int> heads = per_block(j, hk, nb, 8, f);
        const std::vector<int> tl    = per_block(j, "transformer_layers_per_block", nb, 1, f);
        int n_up = p.up_blocks > 0 ? p.up_blocks : select_layer + 1;
        if (n_up > (int) nb || select_layer >= (int) nb) {
            fail("%s: %d up blocks requested (select layer %d) but the UNet has %zu", f.c_str(), n_up, select_layer, nb);
        }
        const std::string k = "difflmm.unet.";
        w.set_u32(k + "in_channels", (uint32_t) cfg<int>(j, "in_channels", 4, f));
        w.set_arr_i32(k + "block_out_channels", to_i32(boc));
        w.set_arr_i32(k + "layers_per_block", to_i32(lpb));
        w.set_arr_i32(k + "down_block_attention", to_i32(down_attn));
        w.set_arr_i32(k + "up_block_attention", to_i32(up_attn));
        w.set_arr_i32(k + "attention.head_count", to_i32(heads));
        w.set_arr_i32(k + "transformer_layers_per_block", to_i32(tl));
        cross_dim = cfg<int>(j, "cross_attention_dim", 1280, f);
        w.set_u32(k + "cross_attention_dim", (uint32_t) cross_dim);
        w.set_u32(k + "norm_num_groups", (uint32_t) cfg<int>(j, "norm_num_groups", 32, f));
        w.set_f32(k + "norm_eps", cfg<float>(j, "norm_eps", 1e-5f, f));
        w.set_bool(k + "flip_sin_to_cos", cfg<bool>(j, "flip_sin_to_cos", true, f));
        w.set_f32(k + "freq_shift", cfg<float>(j, "freq_shift", 0.0f, f));
        w.set_u32(k + "downsample_padding", (uint32_t) cfg<int>(j, "downsample_padding", 1, f));
        w.set_bool(k + "mid_block_attention", true);
        w.set_bool(k + "use_linear_projection", cfg<bool>(j, "use_linear_projection", false, f));  // informational
        w.set_u32(k + "up_block_count", (uint32_t) n_up);
        weight_set ws;
        ws.open_dir(dir, "diffusion_pytorch_model");
        write_part(out, ws, [&](const std::string & n) { return map_unet(n, n_up); });
    }

    // --- VAE
    {
        const std::string dir = p.sd_dir + "/vae", f = dir + "/config.json";
        const json        j   = weight_set::parse_json(f);
        const std::vector<int> boc = cfg_req<std::vector<int>>(j, "block_out_channels", f);
        for (const auto & t : cfg<std::vector<std::string>>(j, "down_block_types", {}, f)) {
            if (t != "DownEncoderBlock2D") {
                fail("%s: VAE down block type '%s' is not supported", f.c_str(), t.c_str());
            }
        }
        const std::string act = cfg<std::string>(j, "act_fn", "silu", f);
        if (act != "silu") {
            fail("%s: act_fn '%s' is not supported", f.c_str(), act.c_str());
        }
        const std::string k = "difflmm.vae.";
        w.set_u32(k + "in_channels", (uint32_t) cfg<int>(j, "in_channels", 3, f));
        w.set_u32(k + "latent_channels", (uint32_t) cfg<int>(j, "latent_channels", 4, f));
        w.set_arr_i32(k + "block_out_channels", to_i32(boc));
        w.set_u32(k + "layers_per_block", (uint32_t) cfg<int>(j, "layers_per_block", 1, f));
        w.set_u32(k + "norm_num_groups", (uint32_t) cfg<int>(j, "norm_num_groups", 32, f));
        w.set_f32(k + "norm_eps", 1e-6f);  // diffusers' Encoder hard-codes it
        w.set_bool(k + "mid_block_add_attention", cfg<bool>(j, "mid_block_add_attention", true, f));
        w.set_bool(k + "use_quant_conv", cfg<bool>(j, "use_quant_conv", true, f));
        w.set_f32(k + "scaling_factor", cfg<float>(j, "scaling_factor", 0.18215f, f));
        weight_set ws;
        ws.open_dir(dir, "diffusion_pytorch_model");
        write_part(out, ws, map_vae);
    }

    // --- CLIP vision tower, up to hidden_states[-2]
    {
        const std::string f = p.clip_dir + "/config.json";
        const json        top = weight_set::parse_json(f);
        const json &      j   = top.contains("vision_config") ? top.at("vision_config") : top;
        const int         L   = cfg_req<int>(j, "num_hidden_layers", f);
        const std::string act = cfg<std::string>(j, "hidden_act", "quick_gelu", f);
        if (act != "quick_gelu" && act != "gelu") {
            fail("%s: hidden_act '%s' is not supported (quick_gelu, gelu)", f.c_str(), act.c_str());
        }
        const int keep = L - 1;  // hidden_states[-2] = the output of layer L-2 = L-1 layers
        w.set_bool("clip.has_vision_encoder", true);
        w.set_bool("clip.use_gelu", act == "gelu");
        w.set_u32("clip.vision.image_size", (uint32_t) cfg_req<int>(j, "image_size", f));
        w.set_u32("clip.vision.patch_size", (uint32_t) cfg_req<int>(j, "patch_size", f));
        w.set_u32("clip.vision.embedding_length", (uint32_t) cfg_req<int>(j, "hidden_size", f));
        w.set_u32("clip.vision.feed_forward_length", (uint32_t) cfg_req<int>(j, "intermediate_size", f));
        w.set_u32("clip.vision.attention.head_count", (uint32_t) cfg_req<int>(j, "num_attention_heads", f));
        w.set_f32("clip.vision.attention.layer_norm_epsilon", cfg<float>(j, "layer_norm_eps", 1e-5f, f));
        w.set_u32("clip.vision.block_count", (uint32_t) keep);
        // SDCLIPFeaturizer.sd_to_clip_img hard-codes OpenAI's CLIP statistics
        w.set_arr_f32("clip.vision.image_mean", { 0.48145466f, 0.4578275f, 0.40821073f });
        w.set_arr_f32("clip.vision.image_std", { 0.26862954f, 0.26130258f, 0.27577711f });
        weight_set ws;
        ws.open_dir(p.clip_dir, "model");
        const bool full = ws.tensors().count("vision_model.embeddings.class_embedding") > 0;
        write_part(out, ws, [&](const std::string & n) { return map_clip(n, keep); }, full ? "vision_model." : "");
        if (!out.written.count("v.class_embd")) {
            fail("%s: no CLIP vision weights found (expected vision_model.* or embeddings.* names)", p.clip_dir.c_str());
        }
    }

    // --- projector
    {
        int64_t n_embd = 0;
        for (const difflmm_named_tensor & t : difflmm_read_projector(p.projector)) {
            if (t.name == "mm.linear.2.weight") {
                n_embd = t.shape.at(0);
            }
            if (t.name == "mm.clip_pe" && t.shape.at(0) != pe) {
                GLM_LOG_WARN("convert-difflmm: clip_pe has %lld rows, config says mm_vision_sd_pe %d\n",
                             (long long) t.shape.at(0), pe);
            }
            out.add(t.name, src_tensor{ t.shape, [&t] { return t.data; } });
        }
        if (n_embd == 0) {
            fail("%s: no mm_projector.linear.2.weight (is this DiffLMM's non_lora_trainables?)", p.projector.c_str());
        }
        w.set_u32("difflmm.embedding_length", (uint32_t) n_embd);
    }

    // --- SD's text-encoder output for "" (SDCLIPFeaturizer.null_prompt_embeds; the implicit caption adds its
    // mean over the tokens)
    if (p.null_prompt) {
        const std::string td = p.sd_dir + "/text_encoder", kd = p.sd_dir + "/tokenizer";
        if (!file_exists(td + "/config.json") || !file_exists(kd + "/vocab.json")) {
            fail("%s: no text_encoder/ or tokenizer/ for the null-prompt embeddings that DiffLMM's implicit caption "
                 "adds (pass --no-null-prompt to leave them out)", p.sd_dir.c_str());
        }
        const clip_text_hparams    th  = clip_text_read_config(td + "/config.json");
        const std::vector<int32_t> ids = clip_text_empty_prompt_ids(kd, th.n_pos);
        weight_set                 ws;
        ws.open_dir(td, "model");
        auto weight = [&](const std::string & name, const std::vector<int64_t> & shape) {
            const auto & m  = ws.tensors();
            auto         it = m.find("text_model." + name);
            if (it == m.end()) {
                it = m.find(name);
            }
            if (it == m.end()) {
                fail("%s: missing text encoder tensor 'text_model.%s'", td.c_str(), name.c_str());
            }
            if (it->second.shape != shape) {
                fail("%s: text encoder tensor '%s' has another shape than its config says", td.c_str(), name.c_str());
            }
            return it->second.data();
        };
        const std::vector<float> emb = clip_text_encode(th, weight, ids);
        const int64_t            X   = th.n_embd, N = (int64_t) ids.size();
        if (!out.written.count("unet.d0.res0.conv1.weight") || X != cross_dim) {
            fail("%s: the text encoder's width %lld differs from the UNet's cross_attention_dim %d", td.c_str(),
                 (long long) X, cross_dim);
        }
        out.add("mm.null_prompt", src_tensor{ { N, X }, [&] { return emb; } });
        w.set_u32("difflmm.null_prompt_tokens", (uint32_t) N);
    }

    make_dirs(fs::path(p.output).parent_path().string());
    w.write(p.output);
    GLM_LOG_INFO("convert-difflmm: wrote %s (%zu tensors, %s)\n", p.output.c_str(), out.written.size(),
                 p.type == GGML_TYPE_F16 ? "f16" : "f32");
}

}  // namespace glm
