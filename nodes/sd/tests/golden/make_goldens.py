#!/usr/bin/env python3
"""Goldens for the sd family (nodes/sd), made with the reference implementations from PyPI.

Reproduce (any folder outside the repository for the venv):
    python3 -m venv /work/helpers/venv-sd
    /work/helpers/venv-sd/bin/pip install torch diffusers transformers safetensors peft
    /work/helpers/venv-sd/bin/pip install --no-deps open_clip_torch   # only for its CLIP merges file
    /work/helpers/venv-sd/bin/python nodes/sd/tests/golden/make_goldens.py

Writes into this folder (all small):
  tokenizer/vocab.json, tokenizer/merges.txt   a synthetic CLIP-style BPE (byte symbols + 40 merges)
  tokenizer_golden.json                         ids from transformers' CLIPTokenizer for both the
                                                synthetic files and (when open_clip is installed)
                                                the real CLIP ViT-L/14 merges (bpe_simple_vocab_16e6)
  text_encoder/ldm.safetensors               tiny CLIPTextModel (hidden 64, 2 heads, 3 layers,
                                                quick_gelu) in the single-file LDM layout
                                                (cond_stage_model.transformer.text_model.*), F16
  text_encoder/ldm.ckpt                         the same, torch.save({"state_dict": ..., "global_step"})
  text_encoder/diffusers/{config.json,model.safetensors}  the same weights, diffusers layout, BF16
  text_encoder_golden.safetensors               token ids and outputs: last layer + final norm,
                                                clip-skip 2 (penultimate layer + final norm)
  sampler_golden.safetensors                    DDIM, Euler a (its noise included) and DPM++ 2M
                                                Karras from diffusers' schedulers set up as SD 1.5
                                                (scaled-linear betas 0.00085..0.012), run on the
                                                analytic toy_eps denoiser: timesteps, sigmas, samples
  lora/te_kohya.safetensors, lora/te_peft.safetensors   two LoRAs on the tiny text encoder's q, v
                                                and fc1 (kohya keys with alpha, F16; diffusers/PEFT
                                                lora_A/lora_B keys, F32)
  lora_golden.safetensors                       text encoder outputs after PEFT's own LoRA layers
                                                merged them (kohya 0.8, PEFT 1.0, both at once)
  vae/decoder.safetensors, vae_golden.safetensors   tiny AutoencoderKL decoder (diffusers keys, F16)
  vae/decoder_ldm.safetensors                   the same in LDM keys (first_stage_model.decoder.up.N
                                                .block.M ...), verified with diffusers' converter
                                                and decode(z / 0.18215) of an 8x8 latent
  unet/diffusion_pytorch_model.safetensors.gz, unet/config.json   tiny UNet2DConditionModel of SD
                                                1.5's block types (2/4/4/4 channels, 2 resnets per
                                                level, 2 heads, context 12, GroupNorm 2), diffusers
                                                keys, F16, gzipped (31 KB instead of 106 KB)
  unet/ldm_keys.json.gz                         diffusers -> LDM (model.diffusion_model.*) key table,
                                                verified with diffusers' convert_ldm_unet_checkpoint;
                                                the C++ test writes the LDM single file from it
  unet_golden.safetensors                       inputs and UNet outputs (8x8 batch of 2, odd 6x10),
                                                and outputs with the UNet LoRAs loaded by diffusers
  lora/unet_kohya.safetensors, lora/unet_peft.safetensors   UNet LoRAs (kohya lora_unet_* incl. LoCon
                                                convs, F16, alpha 2; PEFT unet.*.lora_A/B, F32)
Run one part only with its name: make_goldens.py unet (tokenizer, text_encoder, sampler, lora, vae,
vae_encoder, unet).
Weights are drawn with torch.manual_seed(SEED) and rounded to bfloat16 first, so the F16 and BF16
files hold exactly the same values and the reference runs on them in float32.
"""
import gzip
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

PROMPTS = [
    "a photo of a cat",
    "A Photo   of a CAT!!",
    "an astronaut riding a horse on mars, highly detailed, 8k, trending on artstation",
    "it's a dog's life; they're here, we'll see, I'd go, you've been, I'm ok",
    "café déjà vu naïve",
    "cafe\u0301 nai\u0308ve (decomposed accents)",
    "東京 tower at night",
    "x=3.14, y=-2; <|endoftext|> after",
    "(masterpiece:1.2), best quality, [blurry], \\(escaped\\)",
    "",
]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def vocab_from_merges(merges):
    """CLIP's own construction of the vocabulary from the merges (simple_tokenizer.py)."""
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    for m in merges:
        vocab.append("".join(m))
    vocab.extend(["<|startoftext|>", "<|endoftext|>"])
    return dict(zip(vocab, range(len(vocab))))


def synthetic_merges():
    # Merges whose symbols exist at each step (left to right); enough to form several words.
    merges = []
    def word(w):
        syms = list(w[:-1]) + [w[-1] + "</w>"]
        while len(syms) > 1:
            pair = (syms[0], syms[1])
            if pair not in merges:
                merges.append(pair)
            syms = [syms[0] + syms[1]] + syms[2:]
    for w in ["cat", "photo", "of", "the", "dog", "ca", "phot", "on", "sky", "blue"]:
        word(w)
    return merges


def tokenize_all(tok, prompts):
    out = []
    for p in prompts:
        ids = tok(p, add_special_tokens=True)["input_ids"]
        out.append({"prompt": p, "ids": ids})
    return out


def make_tokenizer_goldens():
    from transformers import CLIPTokenizer
    tdir = os.path.join(HERE, "tokenizer")
    os.makedirs(tdir, exist_ok=True)
    merges = synthetic_merges()
    with open(os.path.join(tdir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    with open(os.path.join(tdir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab_from_merges(merges), f, ensure_ascii=False)
    import transformers
    golden = {"reference": "transformers " + transformers.__version__ + " CLIPTokenizer"}
    golden["synthetic"] = tokenize_all(CLIPTokenizer(os.path.join(tdir, "vocab.json"), os.path.join(tdir, "merges.txt")), PROMPTS)

    import importlib.util
    spec = importlib.util.find_spec("open_clip")  # located, not imported: only its data file is used
    gz = os.path.join(list(spec.submodule_search_locations)[0], "bpe_simple_vocab_16e6.txt.gz") if spec else None
    if gz and os.path.exists(gz):
        lines = gzip.open(gz).read().decode("utf-8").split("\n")
        merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
                json.dump(vocab_from_merges(merges), f, ensure_ascii=False)
            with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
                f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
            tok = CLIPTokenizer(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"))
            golden["clip_vit_l14"] = tokenize_all(tok, PROMPTS)
    else:
        print("open_clip not installed: real-vocabulary goldens not written", file=sys.stderr)
    with open(os.path.join(HERE, "tokenizer_golden.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(golden, ensure_ascii=False).replace("}, {", "},\n{"))


SEED = 1234
TE_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
                 max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5)
TE_PROMPTS = ["a photo of a cat", "the blue sky, (dog:1.3) on a photo"]


def round_bf16(sd):
    import torch
    return {k: v.to(torch.bfloat16).to(torch.float32) for k, v in sd.items()}


def make_text_encoder_goldens():
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    tdir = os.path.join(HERE, "tokenizer")
    tok = CLIPTokenizer(os.path.join(tdir, "vocab.json"), os.path.join(tdir, "merges.txt"))
    cfg = CLIPTextConfig(vocab_size=len(tok.get_vocab()), bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TE_CONFIG)
    torch.manual_seed(SEED)
    model = CLIPTextModel(cfg).eval()
    with torch.no_grad():  # random layer norms too, so a missing affine would be caught
        for name, p in model.named_parameters():
            if "layer_norm" in name or "final_layer_norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    sd = round_bf16(model.state_dict())
    model.load_state_dict(sd)
    # Files carry "text_model." as every published SD 1.5 text encoder does.
    full = {(k if k.startswith("text_model.") else "text_model." + k): v for k, v in sd.items()}
    full = {k: v for k, v in full.items() if "position_ids" not in k}
    out = os.path.join(HERE, "text_encoder")
    os.makedirs(os.path.join(out, "diffusers"), exist_ok=True)
    save_file({"cond_stage_model.transformer." + k: v.half().contiguous() for k, v in full.items()},
              os.path.join(out, "ldm.safetensors"))
    # The same LDM weights as a torch.save checkpoint, as .ckpt files are laid out.
    torch.save({"state_dict": {"cond_stage_model.transformer." + k: v.half().contiguous() for k, v in full.items()},
                "global_step": 7}, os.path.join(out, "ldm.ckpt"))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in full.items()},
              os.path.join(out, "diffusers", "model.safetensors"))
    with open(os.path.join(out, "diffusers", "config.json"), "w") as f:
        json.dump({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
                   "vocab_size": cfg.vocab_size, **TE_CONFIG}, f, indent=1)
    ids = tok(TE_PROMPTS, padding="max_length", max_length=77, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        o = model(input_ids=ids, output_hidden_states=True)
        last = o.last_hidden_state
        final_norm = model.text_model.final_layer_norm if hasattr(model, "text_model") else model.final_layer_norm
        skip2 = final_norm(o.hidden_states[-2])
    save_file({"ids": ids.to(torch.int64).contiguous(), "last": last.contiguous(), "skip2": skip2.contiguous()},
              os.path.join(HERE, "text_encoder_golden.safetensors"))


SAMPLER_STEPS = {"ddim": 2, "euler_a": 2, "dpmpp_2m_karras": 4}  # 4: DPM++ 2M's second-order update runs


def toy_eps(x, t):
    """A smooth stand-in for the UNet (eps prediction), written identically in the C++ test."""
    import torch
    t = float(t)
    return 0.3 * x * torch.cos(torch.tensor(t / 300.0)) + 0.05 * torch.sin(x * 2.0 + t / 100.0)


def make_sampler_goldens():
    """Schedules and full samples of diffusers' schedulers, configured as SD 1.5's, on toy_eps."""
    import torch
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler
    from safetensors.torch import save_file
    base = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    makers = {
        "ddim": lambda: DDIMScheduler(**base, clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                                      timestep_spacing="leading"),
        "euler_a": lambda: EulerAncestralDiscreteScheduler(**base, timestep_spacing="linspace"),
        "dpmpp_2m_karras": lambda: DPMSolverMultistepScheduler(**base, algorithm_type="dpmsolver++", solver_order=2,
                                                               use_karras_sigmas=True),
    }
    out = {}
    torch.manual_seed(SEED)
    x_T = torch.randn(1, 4, 8, 8)
    out["x_T"] = x_T
    for name, make in makers.items():
        sch = make()
        steps = SAMPLER_STEPS[name]
        sch.set_timesteps(steps)
        g = torch.Generator().manual_seed(SEED + 1)
        noises = []
        if name == "euler_a":  # the noise the scheduler will draw, drawn the same way beforehand
            g2 = torch.Generator().manual_seed(SEED + 1)
            noises = [torch.randn(x_T.shape, generator=g2) for _ in range(steps)]
        x = x_T * sch.init_noise_sigma
        for t in sch.timesteps:
            inp = sch.scale_model_input(x, t)
            x = sch.step(toy_eps(inp, t), t, x, generator=g).prev_sample
        out[name + ".timesteps"] = torch.as_tensor(sch.timesteps, dtype=torch.float64).contiguous()
        out[name + ".sample"] = x.contiguous()
        if noises:
            out[name + ".noise"] = torch.stack(noises).contiguous()
        if hasattr(sch, "sigmas"):
            out[name + ".sigmas"] = torch.as_tensor(sch.sigmas, dtype=torch.float64).contiguous()
    out["alphas_cumprod"] = makers["ddim"]().alphas_cumprod.to(torch.float64).contiguous()
    save_file(out, os.path.join(HERE, "sampler_golden.safetensors"))


LORA_MODULES = {"self_attn_q_proj": "self_attn.q_proj", "self_attn_v_proj": "self_attn.v_proj", "mlp_fc1": "mlp.fc1"}


def load_tiny_text_encoder():
    """The committed tiny text encoder, loaded into transformers' CLIPTextModel."""
    import torch
    from safetensors.torch import load_file
    from transformers import CLIPTextConfig, CLIPTextModel
    with open(os.path.join(HERE, "text_encoder/diffusers/config.json")) as f:
        cfg = json.load(f)
    m = CLIPTextModel(CLIPTextConfig(**{k: v for k, v in cfg.items() if k != "architectures"}))
    w = {k: v.float() for k, v in load_file(os.path.join(HERE, "text_encoder/diffusers/model.safetensors")).items()}
    if not any(k.startswith("text_model.") for k in m.state_dict()):  # transformers 5 drops the prefix
        w = {k[len("text_model."):]: v for k, v in w.items()}
    missing, _ = m.load_state_dict(w, strict=False)
    assert not [k for k in missing if "position_ids" not in k], missing
    return m.eval()


def peft_merge(model, down_up, alpha, rank):
    """Merges one LoRA into `model` through PEFT's own LoRA layers (scale = alpha / rank)."""
    import torch
    from peft import LoraConfig, get_peft_model
    base = "text_model." if hasattr(model, "text_model") else ""
    cfg = LoraConfig(r=rank, lora_alpha=alpha, target_modules=sorted(set(LORA_MODULES.values())), lora_dropout=0.0,
                     init_lora_weights=False)
    pm = get_peft_model(model, cfg)
    with torch.no_grad():
        for name, mod in pm.named_modules():
            if hasattr(mod, "lora_A") and "default" in mod.lora_A:
                key = name.split("encoder.layers.", 1)[1]  # "0.self_attn.q_proj"
                down, up = down_up[key]
                mod.lora_A["default"].weight.copy_(down)
                mod.lora_B["default"].weight.copy_(up)
    return pm.merge_and_unload().eval()


def make_lora_goldens():
    """Two LoRAs for the tiny text encoder, one in kohya keys (alpha 2, rank 4) and one in
    diffusers/PEFT keys (no alpha: scale 1), and the encoder outputs after PEFT merged them."""
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(SEED + 7)
    layers, rank = TE_CONFIG["num_hidden_layers"], 4
    dims = {"self_attn_q_proj": (64, 64), "self_attn_v_proj": (64, 64), "mlp_fc1": (128, 64)}
    loras = []
    for _ in range(2):
        d = {}
        for i in range(layers):
            for flat, path in LORA_MODULES.items():
                o, n = dims[flat]
                d[f"{i}.{path}"] = (torch.randn(rank, n) * 0.2, torch.randn(o, rank) * 0.2)
        loras.append(d)
    kohya = {}
    for key, (down, up) in loras[0].items():
        i, path = key.split(".", 1)
        flat = f"lora_te_text_model_encoder_layers_{i}_{path.replace('.', '_')}"
        kohya[flat + ".lora_down.weight"] = down.half().contiguous()
        kohya[flat + ".lora_up.weight"] = up.half().contiguous()
        kohya[flat + ".alpha"] = torch.tensor(2.0, dtype=torch.float16)
    peft = {}
    for key, (down, up) in loras[1].items():
        peft[f"text_encoder.text_model.encoder.layers.{key}.lora_A.weight"] = down.contiguous()
        peft[f"text_encoder.text_model.encoder.layers.{key}.lora_B.weight"] = up.contiguous()
    out = os.path.join(HERE, "lora")
    os.makedirs(out, exist_ok=True)
    save_file(kohya, os.path.join(out, "te_kohya.safetensors"), metadata={"ss_network_dim": "4", "ss_network_alpha": "2"})
    save_file(peft, os.path.join(out, "te_peft.safetensors"))
    # The stored (fp16-rounded) kohya values are what both sides merge.
    kohya_du = {k: (kohya_down.float(), kohya_up.float()) for k, (kohya_down, kohya_up) in
                {k: (v[0].half(), v[1].half()) for k, v in loras[0].items()}.items()}
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer(os.path.join(HERE, "tokenizer/vocab.json"), os.path.join(HERE, "tokenizer/merges.txt"))
    ids = tok(TE_PROMPTS, padding="max_length", max_length=77, return_tensors="pt")["input_ids"]
    g = {"ids": ids.to(torch.int64).contiguous()}
    with torch.no_grad():
        # kohya at strength 0.8: scale alpha/rank * strength = 2/4 * 0.8 (PEFT lora_alpha 1.6 on rank 4).
        g["kohya_0.8"] = peft_merge(load_tiny_text_encoder(), kohya_du, 2.0 * 0.8, rank)(ids).last_hidden_state.contiguous()
        g["peft_1.0"] = peft_merge(load_tiny_text_encoder(), loras[1], rank, rank)(ids).last_hidden_state.contiguous()
        both = peft_merge(peft_merge(load_tiny_text_encoder(), kohya_du, 2.0 * 0.8, rank), loras[1], rank * 0.5, rank)
        g["kohya_0.8+peft_0.5"] = both(ids).last_hidden_state.contiguous()
    save_file(g, os.path.join(HERE, "lora_golden.safetensors"))


VAE_CONFIG = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 32), layers_per_block=1,
                  down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                  norm_num_groups=32)


def ldm_vae_decoder_keys(sd, n_up):
    """diffusers AutoencoderKL decoder keys -> LDM single-file keys (first_stage_model.*)."""
    import re
    out = {}
    for k, v in sd.items():
        n = k
        n = n.replace("decoder.mid_block.resnets.0.", "decoder.mid.block_1.").replace("decoder.mid_block.resnets.1.", "decoder.mid.block_2.")
        if "mid_block.attentions.0." in n:
            n = n.replace("decoder.mid_block.attentions.0.", "decoder.mid.attn_1.")
            n = n.replace("group_norm.", "norm.").replace("to_q.", "q.").replace("to_k.", "k.").replace("to_v.", "v.").replace("to_out.0.", "proj_out.")
            if v.dim() == 2:
                v = v[:, :, None, None]  # LDM keeps attention as 1x1 convs
        m = re.match(r"decoder\.up_blocks\.(\d+)\.(.*)", n)
        if m:
            i, rest = int(m.group(1)), m.group(2)
            rest = re.sub(r"^resnets\.(\d+)\.", r"block.\1.", rest).replace("upsamplers.0.", "upsample.")
            n = f"decoder.up.{n_up - 1 - i}.{rest}"
        n = n.replace("conv_shortcut.", "nin_shortcut.").replace("decoder.conv_norm_out.", "decoder.norm_out.")
        out["first_stage_model." + n] = v.contiguous()
    return out


def make_vae_goldens():
    """Tiny AutoencoderKL (2 levels of 32 channels, mid attention): decoder weights in the
    diffusers layout (F16) and decode(z / 0.18215) of an 8x8 latent."""
    import torch
    from diffusers import AutoencoderKL
    from safetensors.torch import save_file
    torch.manual_seed(SEED + 11)
    vae = AutoencoderKL(**VAE_CONFIG).eval()
    with torch.no_grad():
        for name, p in vae.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    sd = round_bf16(vae.state_dict())
    vae.load_state_dict(sd)
    out = os.path.join(HERE, "vae")
    os.makedirs(out, exist_ok=True)
    keep = {k: v.half().contiguous() for k, v in sd.items() if k.startswith(("decoder.", "post_quant_conv."))}
    save_file(keep, os.path.join(out, "decoder.safetensors"))
    # The same decoder in the LDM single-file layout, checked against diffusers' own converter.
    ldm = ldm_vae_decoder_keys(keep, len(VAE_CONFIG["up_block_types"]))
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint
    back = convert_ldm_vae_checkpoint(dict(ldm), {**VAE_CONFIG, "down_block_types": VAE_CONFIG["down_block_types"]})
    assert set(back) == set(keep), sorted(set(back) ^ set(keep))[:5]
    for k, v in keep.items():
        assert torch.equal(back[k].reshape(v.shape), v), k
    save_file(ldm, os.path.join(out, "decoder_ldm.safetensors"))
    torch.manual_seed(SEED + 12)
    z = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        img = vae.decode(z / 0.18215).sample
    save_file({"z": z.contiguous(), "image": img.contiguous()}, os.path.join(HERE, "vae_golden.safetensors"))


UNET_CONFIG = dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(2, 4, 4, 4), layers_per_block=2,
                   down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                   up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                   cross_attention_dim=12, attention_head_dim=2, norm_num_groups=2)


def ldm_unet_key(k, cfg):
    """diffusers UNet2DConditionModel key -> LDM single-file key (model.diffusion_model.*), written
    from LDM's openaimodel.py layout: input_blocks.0 = conv_in, then per level layers_per_block
    [resnet, transformer] entries and a downsampler `op`; output_blocks per level layers_per_block+1
    entries with the upsampler last; resnets' norm1/conv1/time_emb_proj/norm2/conv2/conv_shortcut
    are in_layers.0/in_layers.2/emb_layers.1/out_layers.0/out_layers.3/skip_connection."""
    import re
    per, n = cfg["layers_per_block"] + 1, len(cfg["block_out_channels"])
    attn = [t.startswith("CrossAttn") for t in cfg["down_block_types"]]
    res = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
           ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]

    def resnet(rest):
        for d, l in res:
            if rest == d or rest.startswith(d + "."):
                return l + rest[len(d):]
        return rest
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    mod, _, leaf = k.rpartition(".")
    if mod in fixed:
        return f"model.diffusion_model.{fixed[mod]}.{leaf}"
    m = re.match(r"(down|up)_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        side, i, kind, j, rest = m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), m.group(5)
        idx = (1 + i * per + j) if side == "down" else (i * per + j)
        blocks = "input_blocks" if side == "down" else "output_blocks"
        inner = f"0.{resnet(rest)}" if kind == "resnets" else f"1.{rest}"
        return f"model.diffusion_model.{blocks}.{idx}.{inner}"
    m = re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", k)
    if m:
        return f"model.diffusion_model.input_blocks.{1 + int(m.group(1)) * per + per - 1}.0.op.{m.group(2)}"
    m = re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", k)
    if m:
        i = int(m.group(1))
        return f"model.diffusion_model.output_blocks.{i * per + per - 1}.{2 if attn[n - 1 - i] else 1}.conv.{m.group(2)}"
    m = re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", k)
    if m:
        if m.group(1) == "resnets":
            return f"model.diffusion_model.middle_block.{2 * int(m.group(2))}.{resnet(m.group(3))}"
        return f"model.diffusion_model.middle_block.1.{m.group(3)}"
    raise KeyError(k)


def load_tiny_unet():
    """The committed tiny UNet, loaded into diffusers' UNet2DConditionModel (float32)."""
    import gzip as gz
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load
    unet = UNet2DConditionModel(**UNET_CONFIG)
    with gz.open(os.path.join(HERE, "unet/diffusion_pytorch_model.safetensors.gz"), "rb") as f:
        w = load(f.read())
    unet.load_state_dict({k: v.float() for k, v in w.items()})
    return unet.eval()


def unet_inputs():
    import torch
    torch.manual_seed(SEED + 21)
    return {"x": torch.randn(2, 4, 8, 8), "t": torch.tensor([999.0, 37.5]), "ctx": torch.randn(2, 5, 12),
            "x_odd": torch.randn(1, 4, 6, 10), "t_odd": torch.tensor([500.0]), "ctx_odd": torch.randn(1, 3, 12)}


# The UNet LoRAs: module path -> (down, up) shapes come from the model; kohya (diffusers-style
# names, LoCon convs included) and PEFT sets.
UNET_LORA_KOHYA = ["down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
                   "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k",
                   "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v",
                   "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0",
                   "down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k",
                   "mid_block.attentions.0.proj_in", "up_blocks.1.attentions.2.proj_out",
                   "up_blocks.2.attentions.0.transformer_blocks.0.ff.net.0.proj",
                   "up_blocks.2.attentions.0.transformer_blocks.0.ff.net.2",
                   "down_blocks.0.resnets.0.conv1", "up_blocks.0.resnets.2.conv_shortcut",
                   "down_blocks.3.resnets.1.time_emb_proj", "up_blocks.3.resnets.1.conv2"]
UNET_LORA_PEFT = ["down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q",
                  "down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_v",
                  "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_out.0",
                  "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj",
                  "mid_block.resnets.1.conv1", "down_blocks.1.resnets.0.conv_shortcut"]


def unet_lora_pairs(unet, modules, rank, gen):
    """Random (down, up) per module; conv LoRAs as LoCon: down [r, in, kh, kw], up [out, r, 1, 1]."""
    import torch
    mods = dict(unet.named_modules())
    out = {}
    for path in modules:
        w = mods[path].weight
        if w.dim() == 4:
            down = torch.randn(rank, w.shape[1], w.shape[2], w.shape[3], generator=gen) * 0.3
            up = torch.randn(w.shape[0], rank, 1, 1, generator=gen) * 0.3
        else:
            down = torch.randn(rank, w.shape[1], generator=gen) * 0.3
            up = torch.randn(w.shape[0], rank, generator=gen) * 0.3
        out[path] = (down.half().float(), up.half().float())  # the values both files hold exactly
    return out


def make_unet_goldens():
    """Tiny UNet2DConditionModel of SD 1.5's block types (2/4/4/4 channels, 2 resnets per level,
    2 heads, context 12), diffusers layout F16 (gzipped: the golden budget is small; bf16-rounded
    F16 halves) + config.json, the LDM key table (verified with diffusers'
    convert_ldm_unet_checkpoint), one evaluation, and two UNet LoRAs merged by diffusers."""
    import gzip as gz
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint
    from safetensors.torch import save, save_file
    torch.manual_seed(SEED + 20)
    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    sd = round_bf16(unet.state_dict())
    out = os.path.join(HERE, "unet")
    os.makedirs(out, exist_ok=True)
    with gz.GzipFile(os.path.join(out, "diffusion_pytorch_model.safetensors.gz"), "wb", mtime=0) as f:
        f.write(save({k: v.half().contiguous() for k, v in sd.items()}))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({k: v for k, v in dict(unet.config).items() if not k.startswith("_")}, f, indent=1, sort_keys=True)
    # LDM layout: own table, checked by diffusers' converter (exact round trip of every tensor).
    ldm_keys = {k: ldm_unet_key(k, UNET_CONFIG) for k in sd}
    assert len(set(ldm_keys.values())) == len(ldm_keys)
    back = convert_ldm_unet_checkpoint({ldm_keys[k]: v for k, v in sd.items()}, dict(unet.config))
    assert set(back) == set(sd), sorted(set(back) ^ set(sd))[:5]
    for k, v in sd.items():
        assert torch.equal(back[k].reshape(v.shape), v), k
    # The LDM single file would repeat the weights (the golden budget is small): the table, gzipped,
    # from which the C++ test writes the LDM file itself.
    with gz.GzipFile(os.path.join(out, "ldm_keys.json.gz"), "wb", mtime=0) as f:
        f.write(json.dumps(ldm_keys, sort_keys=True, indent=0).encode())
    unet = load_tiny_unet()
    inp = unet_inputs()
    g = dict(inp)
    with torch.no_grad():
        g["eps"] = unet(inp["x"], inp["t"], encoder_hidden_states=inp["ctx"]).sample
        g["eps_odd"] = unet(inp["x_odd"], inp["t_odd"], encoder_hidden_states=inp["ctx_odd"]).sample
    # UNet LoRAs. kohya: lora_unet_<path with _>, rank 4, alpha 2, F16; PEFT: unet.<path>.lora_A/B, rank 2, F32.
    gen = torch.Generator().manual_seed(SEED + 22)
    kp = unet_lora_pairs(unet, UNET_LORA_KOHYA, 4, gen)
    pp = unet_lora_pairs(unet, UNET_LORA_PEFT, 2, gen)
    kohya, peft = {}, {}
    for path, (down, up) in kp.items():
        flat = "lora_unet_" + path.replace(".", "_")
        kohya[flat + ".lora_down.weight"] = down.half().contiguous()
        kohya[flat + ".lora_up.weight"] = up.half().contiguous()
        kohya[flat + ".alpha"] = torch.tensor(2.0, dtype=torch.float16)
    for path, (down, up) in pp.items():
        peft[f"unet.{path}.lora_A.weight"] = down.contiguous()
        peft[f"unet.{path}.lora_B.weight"] = up.contiguous()
    lora_dir = os.path.join(HERE, "lora")
    os.makedirs(lora_dir, exist_ok=True)
    save_file(kohya, os.path.join(lora_dir, "unet_kohya.safetensors"), metadata={"ss_network_dim": "4", "ss_network_alpha": "2"})
    save_file(peft, os.path.join(lora_dir, "unet_peft.safetensors"))

    # The reference: diffusers' own LoRA loading (kohya conversion of StableDiffusionPipeline's
    # lora_state_dict, then the UNet's PEFT adapters at the given strengths).
    def with_loras(specs):
        m = load_tiny_unet()
        names, weights = [], []
        for i, (path, strength) in enumerate(specs):
            state, alphas = StableDiffusionPipeline.lora_state_dict(path)
            m.load_lora_adapter(state, network_alphas=alphas, prefix="unet", adapter_name=f"l{i}")
            names.append(f"l{i}")
            weights.append(strength)
        m.set_adapters(names, weights)
        with torch.no_grad():
            return m(inp["x"], inp["t"], encoder_hidden_states=inp["ctx"]).sample
    kf, pf = os.path.join(lora_dir, "unet_kohya.safetensors"), os.path.join(lora_dir, "unet_peft.safetensors")
    g["eps_kohya_0.8"] = with_loras([(kf, 0.8)])
    g["eps_peft_1.0"] = with_loras([(pf, 1.0)])
    g["eps_kohya_0.8+peft_0.5"] = with_loras([(kf, 0.8), (pf, 0.5)])
    # The same kohya LoRA merged by hand (W += 0.8 * 2/4 * up @ down) must agree with diffusers.
    m = load_tiny_unet()
    with torch.no_grad():
        mods = dict(m.named_modules())
        for path, (down, up) in kp.items():
            w = mods[path].weight
            w += 0.8 * 0.5 * (up.flatten(1) @ down.flatten(1)).reshape(w.shape)
        hand = m(inp["x"], inp["t"], encoder_hidden_states=inp["ctx"]).sample
    rel = ((hand - g["eps_kohya_0.8"]).abs().max() / g["eps_kohya_0.8"].abs().max()).item()
    assert rel < 1e-5, rel
    assert (g["eps_kohya_0.8"] - g["eps"]).abs().max() > 1e-3  # the LoRA changes the output
    save_file({k: v.contiguous() for k, v in g.items()}, os.path.join(HERE, "unet_golden.safetensors"))


def ldm_vae_encoder_key(k):
    """diffusers AutoencoderKL encoder key -> LDM single-file key (first_stage_model.*); the same
    table as vae_encoder_ldm_key in nodes/sd/vae_encoder.cpp."""
    import re
    n = k.replace("encoder.mid_block.resnets.0.", "encoder.mid.block_1.").replace("encoder.mid_block.resnets.1.", "encoder.mid.block_2.")
    if "encoder.mid_block.attentions.0." in n:
        n = n.replace("encoder.mid_block.attentions.0.", "encoder.mid.attn_1.")
        n = n.replace("group_norm.", "norm.").replace("to_q.", "q.").replace("to_k.", "k.").replace("to_v.", "v.").replace("to_out.0.", "proj_out.")
    n = re.sub(r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.", r"encoder.down.\1.block.\2.", n)
    n = re.sub(r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", n)
    n = n.replace("conv_shortcut.", "nin_shortcut.").replace("encoder.conv_norm_out.", "encoder.norm_out.")
    return "first_stage_model." + n


def tiny_vae():
    """The tiny AutoencoderKL of make_vae_goldens (same seed and perturbation, bf16-rounded)."""
    import torch
    from diffusers import AutoencoderKL
    torch.manual_seed(SEED + 11)
    vae = AutoencoderKL(**VAE_CONFIG).eval()
    with torch.no_grad():
        for name, p in vae.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    vae.load_state_dict(round_bf16(vae.state_dict()))
    return vae


def make_vae_encoder_goldens():
    """The encoder half of the tiny VAE (diffusers keys, F16; same weights as vae/decoder.safetensors),
    the diffusers -> LDM key table checked against diffusers' converter, and encode() of a 16x16
    image: latent_dist mean and std, and mean * 0.18215."""
    import torch
    from safetensors.torch import save_file
    vae = tiny_vae()
    sd = vae.state_dict()
    from safetensors.torch import load_file
    assert all(torch.equal(sd[k].half(), v) for k, v in load_file(os.path.join(HERE, "vae/decoder.safetensors")).items()), \
        "tiny_vae() no longer matches vae/decoder.safetensors"
    keep = {k: v.half().contiguous() for k, v in sd.items() if k.startswith(("encoder.", "quant_conv."))}
    out = os.path.join(HERE, "vae")
    save_file(keep, os.path.join(out, "encoder.safetensors"))
    # Key table: LDM names for every encoder key, verified by converting a whole LDM VAE back.
    table = {k: ldm_vae_encoder_key(k) for k in keep}
    ldm = {table[k]: (v[:, :, None, None] if v.dim() == 2 and ".attn_1." in table[k] else v) for k, v in keep.items()}
    dec_keep = {k: v.half() for k, v in sd.items() if k.startswith(("decoder.", "post_quant_conv."))}
    ldm.update(ldm_vae_decoder_keys(dec_keep, len(VAE_CONFIG["up_block_types"])))
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint
    back = convert_ldm_vae_checkpoint(dict(ldm), dict(VAE_CONFIG))
    for k, v in keep.items():
        assert k in back, k
        assert torch.equal(back[k].reshape(v.shape), v), k
    with open(os.path.join(out, "encoder_ldm_keys.json"), "w") as f:
        json.dump(table, f, indent=0, sort_keys=True)
    torch.manual_seed(SEED + 13)
    image = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        dist = vae.encode(image).latent_dist
    save_file({"image": image.contiguous(), "mean": dist.mean.contiguous(), "std": dist.std.contiguous(),
               "latent": (dist.mean * 0.18215).contiguous()}, os.path.join(HERE, "vae_encoder_golden.safetensors"))


PIPE_UNET_CONFIG = dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(4, 8), layers_per_block=1,
                        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                        cross_attention_dim=TE_CONFIG["hidden_size"], attention_head_dim=2, norm_num_groups=4)
PIPE_PROMPT, PIPE_NEGATIVE, PIPE_CFG = "a photo of a cat", "blue sky", 7.5
PIPE_STEPS = {"ddim": 2, "euler_a": 2, "dpmpp_2m_karras": 3}  # 3: DPM++ 2M's second-order update runs once


def make_pipeline_goldens():
    """Full samples of diffusers' StableDiffusionPipeline / StableDiffusionImg2ImgPipeline on the tiny
    text encoder, the tiny VAE and a tiny UNet with a 64-wide context (pipeline/unet/, diffusers
    layout, F16): 16x16 images (8x8 latents; the tiny VAE scales by 2), CFG 7.5 with a negative
    prompt. The initial latents are passed in (x_T) and every noise the pipeline draws is recorded
    (drawn again from a generator with the same seed), so the C++ test feeds the same noise."""
    import torch
    from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           StableDiffusionImg2ImgPipeline, StableDiffusionPipeline, UNet2DConditionModel)
    from safetensors.torch import save_file
    from transformers import CLIPTokenizer
    torch.manual_seed(SEED + 31)
    unet = UNet2DConditionModel(**PIPE_UNET_CONFIG).eval()
    with torch.no_grad():  # random norms and non-zero output convs (diffusers zero-initialises some)
        for name, p in unet.named_parameters():
            p.copy_(torch.randn_like(p) * (0.1 if "norm" in name else 0.3) + (1.0 if "norm" in name and name.endswith("weight") else 0.0))
    sd = round_bf16(unet.state_dict())
    unet.load_state_dict(sd)
    out = os.path.join(HERE, "pipeline", "unet")
    os.makedirs(out, exist_ok=True)
    with gz.GzipFile(os.path.join(out, "diffusion_pytorch_model.safetensors.gz"), "wb", mtime=0) as f:
        f.write(save({k: v.half().contiguous() for k, v in sd.items()}))
    cfg = dict(unet.config)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items() if not k.startswith("_")}, f, indent=1)
    te = load_tiny_text_encoder()
    tok = CLIPTokenizer(os.path.join(HERE, "tokenizer/vocab.json"), os.path.join(HERE, "tokenizer/merges.txt"),
                        model_max_length=77)
    vae = tiny_vae()
    base = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    makers = {
        "ddim": lambda: DDIMScheduler(**base, clip_sample=False, set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading"),
        "euler_a": lambda: EulerAncestralDiscreteScheduler(**base, timestep_spacing="linspace"),
        "dpmpp_2m_karras": lambda: DPMSolverMultistepScheduler(**base, algorithm_type="dpmsolver++", solver_order=2,
                                                               use_karras_sigmas=True),
    }
    g = {}
    for name, make in makers.items():
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, scheduler=make(),
                                       safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        steps = PIPE_STEPS[name]
        torch.manual_seed(SEED + 32)
        x_T = torch.randn(1, 4, 8, 8)
        sched = make()
        sched.set_timesteps(steps)
        # the pipeline scales x_T by init_noise_sigma itself
        noises = []
        if name == "euler_a":
            g2 = torch.Generator().manual_seed(SEED + 33)
            noises = [torch.randn(x_T.shape, generator=g2) for _ in range(steps)]
        res = {}
        for kind in ("latent", "pt"):
            gen = torch.Generator().manual_seed(SEED + 33)
            with torch.no_grad():
                res[kind] = pipe(PIPE_PROMPT, negative_prompt=PIPE_NEGATIVE, height=16, width=16, num_inference_steps=steps,
                                 guidance_scale=PIPE_CFG, latents=x_T.clone(), generator=gen, output_type=kind).images
        g[name + ".x_T"] = x_T.contiguous()
        g[name + ".latents"] = res["latent"].contiguous()
        g[name + ".image"] = res["pt"].contiguous()  # [1, 3, 16, 16] in [0, 1]
        if noises:
            g[name + ".noise"] = torch.stack(noises).contiguous()
    # img2img: DPM++ 2M Karras, 4 steps at strength 0.5 (2 run), from the encoder's mean latents.
    torch.manual_seed(SEED + 34)
    init = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        init_latents = vae.encode(init * 2 - 1).latent_dist.mean * 0.18215
    pipe = StableDiffusionImg2ImgPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, scheduler=makers["dpmpp_2m_karras"](),
                                          safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    g2 = torch.Generator().manual_seed(SEED + 35)
    g["img2img.noise"] = torch.randn(init_latents.shape, generator=g2).contiguous()
    for kind in ("latent", "pt"):
        gen = torch.Generator().manual_seed(SEED + 35)
        with torch.no_grad():  # 4-channel "image": taken as the init latents (no second encode)
            r = pipe(PIPE_PROMPT, image=init_latents, negative_prompt=PIPE_NEGATIVE, strength=0.5, num_inference_steps=4,
                     guidance_scale=PIPE_CFG, generator=gen, output_type=kind).images
        g["img2img." + ("latents" if kind == "latent" else "image")] = r.contiguous()
    g["img2img.init"] = init.contiguous()
    save_file(g, os.path.join(HERE, "pipeline_golden.safetensors"))


if __name__ == "__main__":
    parts = {"tokenizer": make_tokenizer_goldens, "text_encoder": make_text_encoder_goldens,
             "sampler": make_sampler_goldens, "lora": make_lora_goldens, "vae": make_vae_goldens,
             "vae_encoder": make_vae_encoder_goldens, "unet": make_unet_goldens, "pipeline": make_pipeline_goldens}
    for name in sys.argv[1:] or list(parts):  # e.g. `make_goldens.py unet` for one part
        parts[name]()
