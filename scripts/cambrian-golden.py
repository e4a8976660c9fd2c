#!/usr/bin/env python3
"""Cambrian-1 golden: the OFFICIAL Cambrian modelling code (cambrian-mllm/cambrian) run on a tiny random model
with all four tower types (SigLIP via timm, OpenAI CLIP via transformers, DINOv2 via transformers, OpenCLIP
ConvNeXt via timm) and writes tests/golden/cambrian-style folders:

  cases.json          every tensor of cases.safetensors: shape, meaning; the config, the sources and commits
  cases.safetensors   per case <c>.*: preprocessed pixels per tower, tower features, projected aux features,
                      global context, SVA windows / masks, SVA output, projector output, image tokens with newlines,
                      the windows / masks / context the in-LLM blocks receive
  cambrian-tiny.safetensors   the whole model state_dict with the official parameter names
  image_<c>.png       the input images

Usage (paths are the fetched sources, never committed):
  cambrian-golden.py --cambrian <cambrian repo root> --timm <dir holding timm/> --transformers <transformers/src>
                     --hf-hub <huggingface_hub/src> --out <folder> [--seed 0] [--variant default|alt]
                     [--check tests/golden/cambrian]   (regenerate and compare with a committed folder)

What runs officially (no official file is patched):
  cambrian/model/language_model/cambrian_llama.py  CambrianLlamaForCausalLM (construction, towers, connector)
  cambrian/model/cambrian_arch.py   CambrianMetaModel, prepare_inputs_labels_for_multimodal, rearrange_*, unpad
  cambrian/model/vision_sampler.py  VisionTokenSampler / VisionCrossAttentionLayer / MultiKVCrossAttention
  cambrian/model/multimodal_encoder/{siglip,clip,dino,clip_convnext}_encoder.py, base_encoder.py
  cambrian/mm_utils.py expand2square + the per-tower loop body of process_images (its final .half().cuda() is
                      left out: this golden is float32 on CPU)
Stand-ins (ours): scripts/cambrian_standins.py (import-time names, SDPA for torch 1.13) and, here, the model hub:
  `from_pretrained` / `create_model_from_pretrained` return tiny seeded models of the official classes (timm
  VisionTransformer / ConvNeXt trunks as open_clip wraps them, HF CLIPVisionModel / Dinov2Model and their image
  processors), and open_clip's eval transform (Resize/CenterCrop/ToTensor/Normalize, torchvision semantics on PIL).
The LLM prefill is CambrianLlamaForCausalLM.forward(inputs_embeds=...) after the attributes generate() stores
(official control flow, in-LLM SVA blocks included). Its decoder-layer calls use the transformers 4.37 convention;
install_layer_call_adapter() forwards them to 4.50's LlamaDecoderLayer with the rotary cos/sin (see there).
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cambrian_standins  # noqa: E402
import safetensors_io  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

VARIANTS = {
    # q: query grid side (24 real); tower resolutions chosen so that SigLIP/DINOv2 native grids (q+1) are
    # bilinearly resized to q like 27 -> 24, CLIP is q natively, ConvNeXt stages are resized to 4q (default: stem
    # 32 -> 24 down, stages 16, 8, 4 -> 24 up, as 256/128 -> 96 down and 64/32 -> 96 up at the real size).
    "default": dict(q=6, vision_hidden=32, llm_hidden=64, llm_heads=4, llm_kv=2, llm_layers=4, llm_inter=128,
                    vocab=320, n_sampler_layers=2, siglip=dict(res=98, dim=48, depth=2, heads=4, mlp_ratio=2.0),
                    clip=dict(res=84, dim=32, layers=3, heads=4, inter=64),
                    dino=dict(res=98, cfg_res=70, dim=48, layers=2, heads=4),
                    convnext=dict(res=128, dims=(8, 16, 24, 32), depths=(1, 1, 2, 1)),
                    images=[("square", 64, 64), ("landscape", 160, 90), ("portrait", 100, 170)]),
    "alt": dict(q=4, vision_hidden=32, llm_hidden=48, llm_heads=3, llm_kv=1, llm_layers=5, llm_inter=96,
                vocab=300, n_sampler_layers=2, siglip=dict(res=70, dim=40, depth=3, heads=5, mlp_ratio=3.0),
                clip=dict(res=56, dim=24, layers=4, heads=3, inter=40),
                dino=dict(res=70, cfg_res=56, dim=36, layers=3, heads=3),
                convnext=dict(res=64, dims=(8, 12, 16, 20), depths=(1, 2, 1, 1)),
                images=[("wide", 200, 70), ("tall", 60, 130)]),
}


def git_head(path):
    try:
        return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown (not a git checkout)"


# ----------------------------------------------------------------------------------------- model hub stand-in

class OpenClipEvalTransform:
    """open_clip image_transform(is_train=False): Resize(size, bicubic) -> CenterCrop(size) -> RGB -> ToTensor ->
    Normalize, with torchvision's PIL semantics. The Cambrian code sets transforms[0].size / [1].size."""

    class Resize:
        def __init__(self, size):
            self.size = size

        def __call__(self, img):
            w, h = img.size
            s = self.size if isinstance(self.size, int) else self.size[0]
            if isinstance(self.size, int):  # shortest side to s (torchvision: no-op when already s)
                if (w <= h and w == s) or (h <= w and h == s):
                    return img
                if w < h:
                    ow, oh = s, int(s * h / w)
                else:
                    oh, ow = s, int(s * w / h)
                return img.resize((ow, oh), Image.BICUBIC)
            return img.resize((self.size[1], self.size[0]), Image.BICUBIC)

    class CenterCrop:
        def __init__(self, size):
            self.size = (size, size) if isinstance(size, int) else tuple(size)

        def __call__(self, img):
            w, h = img.size
            th, tw = self.size
            if (w, h) == (tw, th):
                return img
            left, top = int(round((w - tw) / 2.0)), int(round((h - th) / 2.0))
            return img.crop((left, top, left + tw, top + th))

    def __init__(self, size, mean, std):
        self.mean, self.std = mean, std
        self.transforms = [self.Resize(size), self.CenterCrop(size), "rgb", "to_tensor", "normalize"]

    def __call__(self, img):
        img = self.transforms[0](img)
        img = self.transforms[1](img)
        img = img.convert("RGB")
        t = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous().float().div(255)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        return (t - mean) / std


def pin_dinov2_pos_interpolation(transformers):
    """Cambrian pins transformers 4.37.0, whose Dinov2Embeddings.interpolate_pos_encoding interpolates with
    scale_factor = (grid + 0.1) / sqrt(num_positions) (the DINO 'add 0.1' trick), bicubic, align_corners=False,
    in float32; transformers 4.50 (used here) passes size=(grid, grid) instead, which maps the coordinates with
    another scale (27/37 instead of 27.1/37 at the real size). This restores the 4.37 computation (same formula as
    the older HF copies of the method; no 4.37.0 file was available offline to diff against: docs/cambrian.md)."""
    import math
    from transformers.models.dinov2 import modeling_dinov2 as md

    def interpolate_pos_encoding(self, embeddings, height, width):
        num_patches = embeddings.shape[1] - 1
        num_positions = self.position_embeddings.shape[1] - 1
        if num_patches == num_positions and height == width:
            return self.position_embeddings
        class_pos_embed = self.position_embeddings[:, 0]
        patch_pos_embed = self.position_embeddings[:, 1:]
        dim = embeddings.shape[-1]
        height = height // self.config.patch_size
        width = width // self.config.patch_size
        height, width = height + 0.1, width + 0.1
        patch_pos_embed = patch_pos_embed.reshape(1, int(math.sqrt(num_positions)), int(math.sqrt(num_positions)), dim)
        patch_pos_embed = patch_pos_embed.permute(0, 3, 1, 2)
        target_dtype = patch_pos_embed.dtype
        patch_pos_embed = torch.nn.functional.interpolate(
            patch_pos_embed.to(dtype=torch.float32),
            scale_factor=(float(height / math.sqrt(num_positions)), float(width / math.sqrt(num_positions))),
            mode="bicubic", align_corners=False).to(dtype=target_dtype)
        if int(height) != patch_pos_embed.shape[-2] or int(width) != patch_pos_embed.shape[-1]:
            raise ValueError("Width or height does not match with the interpolated position embeddings")
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    md.Dinov2Embeddings.interpolate_pos_encoding = interpolate_pos_encoding


def install_hub(v, transformers, timm):
    """Names the Cambrian encoders load -> tiny seeded models of the same official classes."""
    from transformers import (AutoImageProcessor, BitImageProcessor, CLIPImageProcessor, CLIPVisionConfig,
                              CLIPVisionModel, Dinov2Config, Dinov2Model)

    c = v["clip"]
    clip_cfg = CLIPVisionConfig(hidden_size=c["dim"], intermediate_size=c["inter"], num_hidden_layers=c["layers"],
                                num_attention_heads=c["heads"], image_size=c["res"], patch_size=14,
                                hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=c["dim"])
    clip_cfg._attn_implementation = "eager"
    d = v["dino"]
    dino_cfg = Dinov2Config(hidden_size=d["dim"], num_hidden_layers=d["layers"], num_attention_heads=d["heads"],
                            mlp_ratio=4, image_size=d["cfg_res"], patch_size=14, use_swiglu_ffn=True,
                            layerscale_value=1.0, layer_norm_eps=1e-6)
    dino_cfg._attn_implementation = "eager"

    def clip_config(name, *a, **k):
        assert name.startswith("openai/clip-vit-large-patch14"), name
        return clip_cfg

    def clip_model(name, *a, **k):
        assert name.startswith("openai/clip-vit-large-patch14"), name
        return CLIPVisionModel(clip_cfg).eval()

    def clip_processor(name, *a, **k):
        return CLIPImageProcessor(size={"shortest_edge": c["res"]}, crop_size={"height": c["res"], "width": c["res"]},
                                  image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3, do_convert_rgb=True)

    def dino_config(name, *a, **k):
        assert name.startswith("facebook/dinov2-giant"), name
        return dino_cfg

    def dino_model(name, *a, **k):
        assert name.startswith("facebook/dinov2-giant"), name
        return Dinov2Model(dino_cfg).eval()

    def auto_processor(name, crop_size=None, size=None, **k):
        # facebook/dinov2-giant preprocessor_config.json: BitImageProcessor, resize shortest_edge 256 bicubic,
        # center crop 224, rescale 1/255, ImageNet mean/std; Cambrian overrides crop_size and size.
        assert name.startswith("facebook/dinov2"), name
        return BitImageProcessor(do_resize=True, size=size, resample=3, do_center_crop=True, crop_size=crop_size,
                                 do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                                 image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, do_convert_rgb=True)

    pin_dinov2_pos_interpolation(transformers)
    CLIPVisionConfig.from_pretrained = staticmethod(clip_config)
    CLIPVisionModel.from_pretrained = staticmethod(clip_model)
    CLIPImageProcessor.from_pretrained = staticmethod(clip_processor)
    Dinov2Config.from_pretrained = staticmethod(dino_config)
    Dinov2Model.from_pretrained = staticmethod(dino_model)
    AutoImageProcessor.from_pretrained = staticmethod(auto_processor)

    s, cn = v["siglip"], v["convnext"]

    def create_model_from_pretrained(name, *a, **k):
        visual = torch.nn.Module()
        if name == "hf-hub:timm/ViT-SO400M-14-SigLIP-384":
            # open_clip ViT-SO400M-14-SigLIP-384.json: TimmModel('vit_so400m_patch14_siglip_384', pool 'map',
            # proj 'none'); preprocess_cfg mean/std 0.5, bicubic.
            visual.trunk = timm.create_model("vit_so400m_patch14_siglip_384", pretrained=False, num_classes=0,
                                             img_size=s["res"], embed_dim=s["dim"], depth=s["depth"],
                                             num_heads=s["heads"], mlp_ratio=s["mlp_ratio"])
            pre = OpenClipEvalTransform(s["res"], [0.5] * 3, [0.5] * 3)
        elif name == "hf-hub:laion/CLIP-convnext_xxlarge-laion2B-s34B-b82K-augreg-soup":
            # open_clip convnext_xxlarge.json: TimmModel('convnext_xxlarge', pool '', proj 'linear'); OpenAI
            # mean/std, bicubic, image_size 256 (Cambrian sets the transform sizes to its resolution).
            visual.trunk = timm.create_model("convnext_xxlarge", pretrained=False, num_classes=0,
                                             dims=cn["dims"], depths=cn["depths"])
            pre = OpenClipEvalTransform(256, CLIP_MEAN, CLIP_STD)
        else:
            raise ValueError(f"hub stand-in: unknown open_clip model {name}")
        model = torch.nn.Module()
        model.visual = visual
        return model.eval(), pre

    oc = sys.modules.get("open_clip") or cambrian_standins._module("open_clip")
    oc.create_model_from_pretrained = create_model_from_pretrained
    oc.get_tokenizer = lambda *a, **k: None


# ---------------------------------------------------------------------------------------- official code import

def import_cambrian(root):
    """Imports the official modules the Cambrian-Llama model needs without executing cambrian/__init__.py's
    import of every model family and encoder (whose own dependencies this golden does not need): package
    modules get their real __path__; encoder files of unused towers are stand-in names."""
    root = Path(root)
    for pkg in ["cambrian", "cambrian.model", "cambrian.model.multimodal_encoder",
                "cambrian.model.multimodal_projector", "cambrian.model.language_model"]:
        m = types.ModuleType(pkg)
        m.__path__ = [str(root / pkg.replace(".", "/"))]
        sys.modules[pkg] = m
    enc = "cambrian.model.multimodal_encoder."
    for mod, cls in [("dfn_clip_encoder", "DfnClipVisionTower"), ("eva_clip_encoder", "EvaClipVisionTower"),
                     ("ijepa_encoder", "IJepaVisionTower"), ("mae_encoder", "MAEVisionTower"),
                     ("midas_encoder", "MiDaSVisionTower"), ("moco_encoder", "MoCoVisionTower"),
                     ("hybrid_encoder", "HybridVisionTower"), ("supervised_vit_encoder", "SupervisedViT_VisionTower"),
                     ("sam_encoder", "SAMVisionTower"), ("diffusion_encoder", "DiffusionVisionTower"),
                     ("maws_encoder", "MawsVisionTower")]:
        cambrian_standins._module(enc + mod, {cls: cambrian_standins._Absent})
    cl = importlib.import_module("cambrian.model.language_model.cambrian_llama")
    arch = importlib.import_module("cambrian.model.cambrian_arch")
    mm = importlib.import_module("cambrian.mm_utils")
    const = importlib.import_module("cambrian.constants")
    return cl, arch, mm, const


# ------------------------------------------------------------------------------------------------ the golden

def install_layer_call_adapter(model):
    """CambrianLlamaModel.forward (official) calls each decoder layer the transformers 4.37 way:
    layer(h, attention_mask=, position_ids=, past_key_value=, output_attentions=, use_cache=). A 4.50
    LlamaDecoderLayer wants the rotary (cos, sin) as position_embeddings (4.37 computed the same cos/sin inside the
    attention from position_ids with the same inv_freq). This adapter computes them with the model's own
    LlamaRotaryEmbedding and forwards the call; no cache is used (use_cache=False: prefill only)."""
    rotary = model.get_model().rotary_emb
    for layer in model.get_model().layers:
        real = layer.forward

        def call(hidden_states, attention_mask=None, position_ids=None, past_key_value=None,
                 output_attentions=False, use_cache=False, _real=real):
            assert not use_cache
            pe = rotary(hidden_states, position_ids)
            return _real(hidden_states, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_value=None, output_attentions=output_attentions, use_cache=False,
                         position_embeddings=pe)
        layer.forward = call


def randomise(model, seed):
    """Every parameter (and image_newline, created empty) gets seeded values: weights ~ N(0, 1/fan_in), norm
    gains 1 + N(0, 0.1^2), layer scales 0.5 + N(0, 0.2^2), biases N(0, 0.1^2), embeddings and queries N(0, 1),
    position embeddings N(0, 0.5^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            leaf = name.rsplit(".", 1)[-1]
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if p.dim() == 1 and leaf == "weight":  # every 1-D weight of these models is a norm gain
                p.copy_(1 + 0.1 * r)
            elif leaf in ("gamma", "lambda1"):  # layer scales (timm ConvNeXt / LayerScale, HF Dinov2LayerScale)
                p.copy_(0.5 + 0.2 * r)
            elif p.dim() == 1 and leaf == "bias":
                p.copy_(0.1 * r)
            elif leaf in ("vision_query", "image_newline", "cls_token", "mask_token", "class_embedding") \
                    or "pos_embed" in leaf or "position_embedding" in name or "position_embeddings" in name:
                p.copy_(r if "pos" not in name else 0.5 * r)
            elif p.dim() >= 2:
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(r / np.sqrt(fan_in))
            else:
                p.copy_(0.1 * r)


def make_image(w, h, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(xx / (5 + seed) + c) * np.cos(yy / (7 + c)) for c in range(3)], -1)
    base += rng.normal(0, 12, base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([w * 0.15, h * 0.2, w * 0.55, h * 0.7], fill=(220, 40, 30))
    d.rectangle([w * 0.6, h * 0.35, w * 0.9, h * 0.85], fill=(30, 60, 210))
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cambrian", required=True)
    ap.add_argument("--timm", required=True)
    ap.add_argument("--transformers", required=True)
    ap.add_argument("--hf-hub", required=True)
    ap.add_argument("--hf-hub-version", default="0.29.0")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variant", default="default", choices=sorted(VARIANTS))
    ap.add_argument("--check", metavar="FOLDER", help="regenerate into --out and compare every file with FOLDER "
                    "(tensors exactly, cases.json as JSON); exit 1 on any difference")
    a = ap.parse_args()
    v = VARIANTS[a.variant]

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = Path("/tmp") / f"cambrian-golden-meta-{os.getpid()}"
    cambrian_standins.install(str(meta), a.hf_hub_version)
    sys.path[:0] = [a.cambrian, a.timm, a.transformers, a.hf_hub]
    import timm
    import transformers
    install_hub(v, transformers, timm)
    cl, arch, mm, const = import_cambrian(a.cambrian)

    q = v["q"]
    n_tok = q * q
    s, c, d, cn = v["siglip"], v["clip"], v["dino"], v["convnext"]
    aux_names = ["siglip/CLIP-ViT-SO400M-14-384", "openai/clip-vit-large-patch14-336",
                 f"facebook/dinov2-giant-res{d['res']}", f"clip-convnext-XXL-multi-stage-res{cn['res']}"]
    aux_len = [n_tok, n_tok, n_tok, (4 * q) ** 2]
    cfg = cl.CambrianConfig(
        vocab_size=v["vocab"], hidden_size=v["llm_hidden"], intermediate_size=v["llm_inter"],
        num_hidden_layers=v["llm_layers"], num_attention_heads=v["llm_heads"], num_key_value_heads=v["llm_kv"],
        rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=512, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2, pad_token_id=0)
    cfg._attn_implementation = "eager"
    extra = dict(mm_projector_type="sva", image_aspect_ratio="pad", mm_vision_tower_aux_list=aux_names,
                 mm_vision_tower_aux_token_len_list=aux_len, image_token_len=n_tok, num_query_group=1,
                 query_num_list=[n_tok], connector_depth=3, vision_hidden_size=v["vision_hidden"],
                 connector_only=False, num_of_vision_sampler_layers=v["n_sampler_layers"],
                 start_of_vision_sampler_layers=0, stride_of_vision_sampler_layers=3, image_position=5,
                 mm_vision_select_layer=-2, mm_vision_select_feature="patch",
                 # True makes the towers load at construction so that their hidden sizes come from the (tiny)
                 # models; with delay_load the SigLIP / ConvNeXt wrappers hard-code the real widths 1152 / 5760.
                 # It only toggles requires_grad / set_grad_enabled; everything below runs under no_grad.
                 unfreeze_mm_vision_tower=True)
    for k, val in extra.items():
        setattr(cfg, k, val)

    torch.manual_seed(a.seed)
    model = cl.CambrianLlamaForCausalLM(cfg).eval()
    towers = model.get_model().get_vision_tower_aux_list()
    for t in towers:  # what cambrian/model/builder.py load_pretrained_model does for towers not yet loaded
        if not t.is_loaded:
            t.load_model()
    model = model.float().eval()
    randomise(model, a.seed + 1)
    # vision_tower_aux_list is a plain Python list in CambrianMetaModel, so the towers are not part of the
    # model's state_dict (as in the released checkpoint, which holds no tower weights): randomise and save each
    # tower's own module (timm trunk / HF model) under its own official names.
    tower_files = {}
    for i, (t, key) in enumerate(zip(towers, ["siglip", "clip", "dino", "convnext"])):
        t.vision_tower.float().eval()
        randomise(t.vision_tower, a.seed + 10 + i)
        tower_files[key] = f"tower-{key}.safetensors"
        # the heads the Cambrian features never reach (timm attention pool, classifier heads) are left out
        safetensors_io.save(out / tower_files[key],
                            {k: x.detach().float().contiguous() for k, x in t.vision_tower.state_dict().items()
                             if not k.startswith(("attn_pool.", "head.", "fc_norm."))})
    processors = [t.image_processor for t in towers]
    sd = {k: v_.detach().float().contiguous() for k, v_ in model.state_dict().items()}
    install_layer_call_adapter(model)
    tower_keys = ["siglip", "clip", "dino", "convnext"]

    tensors = {}
    desc = {}

    def put(name, t, meaning):
        arr = t.detach().float().cpu().contiguous().numpy() if hasattr(t, "detach") else np.asarray(t)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        tensors[name] = arr
        desc[name] = {"shape": list(arr.shape), "dtype": str(arr.dtype), "meaning": meaning}

    # capture official intermediate values
    cap = {}

    def hook(key):
        def f(mod, inp, outp):
            cap.setdefault(key, []).append(outp)
        return f

    for i, t in enumerate(towers):
        t.register_forward_hook(hook(f"tower{i}"))
        getattr(model.get_model(), f"mm_projector_aux_{i}").register_forward_hook(hook(f"aux{i}"))
    model.get_model().vision_sampler_0.register_forward_hook(hook("sva"))
    for li, layer in enumerate(model.get_model().vision_sampler_0.layers):
        layer.register_forward_hook(hook(f"sva_layer{li}"))
    model.get_model().mm_projector.register_forward_hook(hook("proj"))
    for k, layer in enumerate(model.get_model().vision_sampler_layers):
        layer.register_forward_hook(hook(f"llm_sva{k}"))
        layer.register_forward_pre_hook(lambda mod, args, k=k: cap.setdefault(f"llm_sva_in{k}", []).append(args[0]))
    orig_rearrange = model.rearrange_vision_tower_features_inference

    def rearrange(*args, **kw):
        r = orig_rearrange(*args, **kw)
        cap.setdefault("rearrange", []).append((kw.get("unpad", False), r))
        return r
    model.rearrange_vision_tower_features_inference = rearrange

    cases = []
    for ci, (cname, w, h) in enumerate(v["images"]):
        cap.clear()
        img = make_image(w, h, a.seed + ci)
        img.save(out / f"image_{cname}.png")
        # cambrian/mm_utils.py process_images, per-tower loop body (L190-197), float32 on CPU
        pix = []
        for p in processors:
            im = img
            if hasattr(p, "image_mean"):
                R = p.crop_size["height"]
                im = mm.expand2square(im, tuple(int(x * 255) for x in p.image_mean)).resize((R, R))
            pix.append(torch.as_tensor(np.asarray(p.preprocess(im, return_tensors="pt")["pixel_values"][0]))
                       .float().unsqueeze(0))
        # image_position (config) = 5. The last case puts a second BOS first, as the HF Llama-3 tokenizer does
        # through tokenizer_image_token: the image then starts at 6 and the official in-LLM blocks still read
        # and write hidden_states[5 : 5 + h'(w'+1)] (spec B6).
        ids = [1, 11, 12, 13, 14, const.IMAGE_TOKEN_INDEX, 21, 22, 23]
        if ci == len(v["images"]) - 1:
            ids = [1] + ids
        input_ids = torch.tensor([ids])
        with torch.no_grad():
            r = model.prepare_inputs_labels_for_multimodal(input_ids, None, None, None, None, pix,
                                                           image_sizes=[(w, h)])
        (_, _, _, _, embeds, _, aux_final, masks_final, final_size, ctx_final) = r
        hq, wq = final_size[0]
        pre = f"{cname}."
        for i, k in enumerate(tower_keys):
            put(pre + f"{k}.pixels", pix[i][0], f"{k} preprocessed CHW pixels (pad with int(255*image_mean), "
                f"PIL bicubic resize, tower transform)")
            put(pre + f"{k}.features", cap[f"tower{i}"][0][0],
                f"{k} tower output after Cambrian's interpolate: [tokens, C] row-major over the grid")
            put(pre + f"aux{i}", cap[f"aux{i}"][0][0], f"mm_projector_aux_{i}({k} features): [tokens, vision_hidden]")
        assert cap["rearrange"][0][0] is False and cap["rearrange"][1][0] is True
        win, msk = cap["rearrange"][0][1]
        for i, k in enumerate(tower_keys):  # (the windows themselves are aux{i} rows: not stored)
            put(pre + f"sva.mask{i}", msk[i], f"connector key mask of aux{i} (1 = attend): [q*q, r*r]")
        for li in range(len(model.get_model().vision_sampler_0.layers)):
            put(pre + f"sva.layer{li}", cap[f"sva_layer{li}"][0][:, 0, :],
                f"vision_sampler_0.layers[{li}] output: [q*q, vision_hidden]")
        put(pre + "sva.out", cap["sva"][0][:, 0, :], "vision_sampler_0 output (3 layers): [q*q, vision_hidden]")
        put(pre + "projector", cap["proj"][0][0], "mm_projector output: [q*q, llm_hidden]")
        n_img = hq * (wq + 1)
        img_start = ids.index(const.IMAGE_TOKEN_INDEX)
        put(pre + "image_tokens", embeds[0, img_start:img_start + n_img],
            "image tokens as placed in inputs_embeds: unpadded h' rows of (w' tokens + image_newline)")
        for i, k in enumerate(tower_keys):  # (windows: the aux{i} rows of the unpadded grid, not stored)
            put(pre + f"llm.mask{i}", masks_final[i], f"in-LLM key mask of aux{i}: [h'*w', r*r]")
        put(pre + "llm.context", ctx_final[:, 0, :], "in-LLM global context (projected SigLIP mean): [h'*w', vh]")
        # The prefill as CambrianLlamaForCausalLM.generate runs it (L437-475): the features it stores on the model,
        # then forward(inputs_embeds=...) (the first step of HF generate), eager attention, no cache.
        model.vision_tower_aux_feature_list = aux_final
        model.vision_tower_aux_attention_masks_list = masks_final
        model.final_vision_feature_size = final_size
        model.global_context_feature = ctx_final
        with torch.no_grad():
            o = model(inputs_embeds=embeds, output_attentions=True, output_hidden_states=True, use_cache=False,
                      return_dict=True)
        n_sva = len(model.get_model().vision_sampler_layers)
        for k in range(n_sva):
            put(pre + f"llm.sva{k}.in", cap[f"llm_sva_in{k}"][0][:, 0, :],
                f"vision_sampler_layers[{k}] input: the image rows (newline column dropped) of decoder layer "
                f"{3 * k}'s output at image_position: [h'*w', llm_hidden]")
            put(pre + f"llm.sva{k}", cap[f"llm_sva{k}"][0][:, 0, :],
                f"vision_sampler_layers[{k}] output (after decoder layer {3 * k}): [h'*w', llm_hidden]")
        for li, hs in enumerate(o.hidden_states):
            put(pre + f"llm.hidden{li}", hs[0], "hidden_states[%d]: %s" % (li, "inputs_embeds" if li == 0 else
                f"after decoder layer {li - 1}" + (" and its SVA block" if (li - 1) % 3 == 0 and
                                                    (li - 1) // 3 < n_sva else "") if li < len(o.hidden_states) - 1
                else "final RMSNorm output"))
        put(pre + "logits", o.logits[0], "logits: [tokens, vocab]")
        att = torch.stack([x[0] for x in o.attentions])
        put(pre + "attentions", att, "attention probabilities: [layer, head, query, key] (eager, causal)")
        # groundLMM aas/more_models/cambrian.py L113-125 on the prefill step (i == 0): the last row, head slice
        # [-2:-1] (and all heads), mean over layers and heads, the span from the real -200 index, [h', w'+1]
        # without the newline column.
        real_start = ids.index(const.IMAGE_TOKEN_INDEX)
        n_span = att.shape[-1] - len(ids) + 1
        assert n_span == n_img
        for tag, sl in [("head", slice(-2, -1)), ("all", slice(None))]:
            m = att[:, sl, -1, real_start:real_start + n_span].mean(dim=(0, 1)).reshape(hq, wq + 1)[:, :-1]
            put(pre + f"maps.{tag}", m, f"cambrian.py map, heads {'H-2' if tag == 'head' else 'all'}, mean over "
                f"layers: [h', w'] over the unpadded image")
        cases.append({"image_position": cfg.image_position, "name": cname, "width": w, "height": h, "unpad_h": hq, "unpad_w": wq,
                      "image_tokens": n_img, "input_ids": ids, "image_start": img_start})

    safetensors_io.save(out / "cambrian-tiny.safetensors", sd)
    safetensors_io.save(out / "cases.safetensors", tensors)
    info = {
        "description": "Tiny random Cambrian-1 (SVA connector, four towers): official cambrian-mllm/cambrian code "
                       "run in float32 on CPU; see scripts/cambrian-golden.py.",
        "generator": f"scripts/cambrian-golden.py --variant {a.variant} --seed {a.seed}",
        "variant": a.variant, "seed": a.seed, "config": {k: (list(x) if isinstance(x, tuple) else x)
                                                          for k, x in v.items() if k != "images"},
        "cambrian_config": {k: cfg.to_dict()[k] for k in sorted(extra) if k in cfg.to_dict()} | {
            "hidden_size": cfg.hidden_size, "num_hidden_layers": cfg.num_hidden_layers,
            "num_attention_heads": cfg.num_attention_heads, "num_key_value_heads": cfg.num_key_value_heads,
            "intermediate_size": cfg.intermediate_size, "vocab_size": cfg.vocab_size,
            "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": cfg.rope_theta},
        "towers": {
            "siglip": {"name": aux_names[0], "class": "timm VisionTransformer (vit_so400m_patch14_siglip_384 args)",
                       "feature": "trunk.forward_features (final LN), bilinear to q x q", "ln_eps": 1e-6,
                       "act": "gelu (erf): timm 0.9.16's nn.GELU default for this model", "mean": [0.5] * 3, "std": [0.5] * 3, "fill_mean": CLIP_MEAN},
            "clip": {"name": aux_names[1], "class": "transformers CLIPVisionModel",
                     "feature": "hidden_states[-2] without CLS", "ln_eps": 1e-5, "act": "quick_gelu",
                     "mean": CLIP_MEAN, "std": CLIP_STD, "fill_mean": CLIP_MEAN},
            "dino": {"name": aux_names[2], "class": "transformers Dinov2Model (SwiGLU FFN, layer scale)",
                     "feature": "last_hidden_state without CLS, bilinear to q x q; position embeddings bicubic "
                                "from the config grid with transformers 4.37's scale_factor (grid + 0.1) / sqrt(n)", "ln_eps": 1e-6, "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                     "fill_mean": IMAGENET_MEAN},
            "convnext": {"name": aux_names[3], "class": "timm ConvNeXt (convnext_xxlarge args)",
                         "feature": "the 4 stage outputs (after the stem) each bilinear to 4q x 4q, concatenated", "ln_eps": 1e-5,
                         "mean": CLIP_MEAN, "std": CLIP_STD, "fill_mean": CLIP_MEAN}},
        "reference": {
            "cambrian": {"repo": "cambrian-mllm/cambrian", "commit": git_head(a.cambrian)},
            "timm": {"version": timm.__version__, "commit": git_head(a.timm)},
            "transformers": {"version": transformers.__version__, "commit": git_head(a.transformers)},
            "huggingface_hub": {"version": a.hf_hub_version, "commit": git_head(a.hf_hub)},
            "torch": torch.__version__,
            "patched_official_files": "none",
            "runtime_replacements": "transformers Dinov2Embeddings.interpolate_pos_encoding -> the 4.37 formula "
                                    "(pin_dinov2_pos_interpolation); decoder-layer call adapter "
                                    "(install_layer_call_adapter)",
            "stand_ins": "scripts/cambrian_standins.py (import names; torch-2 SDPA math), the hub stand-in and "
                         "open_clip eval transform in scripts/cambrian-golden.py",
        },
        "weights": {"file": "cambrian-tiny.safetensors", "tower_files": tower_files,
                    "tower_names": "each tower's own state_dict: timm VisionTransformer / ConvNeXt trunk names "
                    "(open_clip visual.trunk.*, prefix dropped), HF CLIPVisionModel (vision_model.*), HF Dinov2Model",
                    "names": "the official CambrianLlamaForCausalLM state_dict names, towers excluded as in the "
                    "released checkpoint (model.mm_projector_aux_{i}.*, "
                    "model.vision_sampler_0.*, model.vision_sampler_layers.*, model.vision_query, "
                    "model.image_newline, model.mm_projector.*, model.layers.*, lm_head.weight)"},
        "cases": cases,
        "tensors": desc,
    }
    with open(out / "cases.json", "w") as f:
        json.dump(info, f, indent=1)
    print(f"wrote {out}: {len(tensors)} tensors, {len(sd)} weights")
    if a.check:
        sys.exit(check_folders(out, Path(a.check)))


def check_folders(new, old):
    """Every file of `new` against `old`: safetensors tensor by tensor (exact), JSON as data, others byte-equal."""
    bad = 0
    names = sorted(set(os.listdir(new)) | set(os.listdir(old)))
    for n in names:
        a, b = new / n, old / n
        if not a.exists() or not b.exists():
            print(f"DIFF {n}: only in {'the new folder' if a.exists() else old}")
            bad += 1
        elif n.endswith(".safetensors"):
            ta, tb = safetensors_io.load(a), safetensors_io.load(b)
            for k in sorted(set(ta) | set(tb)):
                if k not in ta or k not in tb or ta[k].shape != tb[k].shape or not np.array_equal(ta[k], tb[k]):
                    d = (float(np.abs(ta[k].astype(np.float64) - tb[k]).max())
                         if k in ta and k in tb and ta[k].shape == tb[k].shape else "shape/missing")
                    print(f"DIFF {n}:{k}: {d}")
                    bad += 1
        elif n.endswith(".json"):
            if json.load(open(a)) != json.load(open(b)):
                print(f"DIFF {n}: the JSON differs")
                bad += 1
        elif a.read_bytes() != b.read_bytes():
            print(f"DIFF {n}: bytes differ")
            bad += 1
    print(f"check against {old}: {'identical' if bad == 0 else f'{bad} differences'}")
    return 1 if bad else 0


if __name__ == "__main__":
    main()
