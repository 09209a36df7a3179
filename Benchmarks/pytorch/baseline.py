#!/usr/bin/env python3
"""PyTorch baseline for `sad bench`: the reference architectures rebuilt from the spec
(../shared/spec/reference-spec.md §2–4) with the reference state_dict names, so that the golden
fixtures (and our safetensors checkpoints) load into them, timed on the same steps as
`sad bench` (batch 1000, CPU, 2 threads by default).

Optional, never in CI (PyTorch is not a dependency). Usage:
    python3 Benchmarks/pytorch/baseline.py check Tests/Fixtures     # forward = the reference's
    python3 Benchmarks/pytorch/baseline.py time [--repetitions 5] [--threads 2] [--configs configs]
`Benchmarks/pytorch/side-by-side.sh` runs both engines alternately in one session.
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# safetensors without the package: 8-byte little-endian header length, JSON header, raw data.

def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(blob[8 + n + start:8 + n + end], dtype=dtypes[info["dtype"]])
        out[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return out


# ---------------------------------------------------------------------------------------------
# Noise schedule (§2.1): linear betas in float64, float32 buffers.

def schedule(timesteps=1000):
    betas = np.linspace(0.1 / timesteps, 20 / timesteps, timesteps, dtype=np.float64)
    alphas_cumprod = np.cumprod(1 - betas)
    return (torch.tensor(np.sqrt(alphas_cumprod), dtype=torch.float32),
            torch.tensor(np.sqrt(1 - alphas_cumprod), dtype=torch.float32))


# ---------------------------------------------------------------------------------------------
# iDDPM U-Net (§3), parameter names as the reference's `model.*`.

def sinusoidal(t, dim):
    """[cos(t f), sin(t f)], f_k = exp(−ln(10000)·k/half), cos first (§3.2, §4.2)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class GroupNorm32(nn.GroupNorm):
    def __init__(self, channels):
        super().__init__(32, channels, eps=1e-5)


class ResBlock(nn.Module):
    def __init__(self, c_in, c_out, emb):
        super().__init__()
        self.in_layers = nn.Sequential(GroupNorm32(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, c_out))
        self.out_layers = nn.Sequential(GroupNorm32(c_out), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip_connection = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x, emb):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class AttentionBlock(nn.Module):
    """Legacy head-major qkv layout: head h takes channels [h·3d, (h+1)·3d) as q, k, v (§3.2)."""

    def __init__(self, channels, heads):
        super().__init__()
        self.heads = heads
        self.norm = GroupNorm32(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        flat = x.reshape(b, c, h * w)
        qkv = self.qkv(self.norm(flat))
        d = c // self.heads
        q, k, v = qkv.reshape(b * self.heads, 3 * d, h * w).split(d, dim=1)
        scale = 1 / math.sqrt(math.sqrt(d))
        weight = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        a = torch.einsum("bts,bcs->bct", weight, v).reshape(b, c, h * w)
        return (flat + self.proj_out(a)).reshape(b, c, h, w)


class Downsample(nn.Module):
    def __init__(self, channels, interpolation):
        super().__init__()
        self.nearest = interpolation == "nearest"
        self.op = nn.Conv2d(channels, channels, 3, stride=2 if self.nearest else 1, padding=1)

    def forward(self, x):
        return self.op(x) if self.nearest else F.avg_pool2d(self.op(x), 2)


class Upsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Sequence(nn.ModuleList):
    """nn.Sequential with the time embedding passed to ResBlocks."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class UNet(nn.Module):
    def __init__(self, shape, model, interpolation="nearest"):
        super().__init__()
        c, base = shape[0], model["base_channels"]
        mults = [1] + model["channel_mults"]
        blocks, heads = model["num_res_attn_blocks"], model["num_heads"]
        attention = model.get("is_attn", [])
        emb = 4 * base
        self.base = base
        self.time_embed = nn.Sequential(nn.Linear(base, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.input_blocks = nn.ModuleList([Sequence([nn.Conv2d(c, base, 3, padding=1)])])
        skips, ch = [base], base
        for level, mult in enumerate(mults):
            for _ in range(blocks):
                layers = [ResBlock(ch, mult * base, emb)]
                ch = mult * base
                if level < len(attention) and attention[level]:
                    layers.append(AttentionBlock(ch, heads))
                self.input_blocks.append(Sequence(layers))
                skips.append(ch)
            if level != len(mults) - 1:
                self.input_blocks.append(Sequence([Downsample(ch, interpolation)]))
                skips.append(ch)
        self.middle_block = Sequence([ResBlock(ch, ch, emb), AttentionBlock(ch, heads), ResBlock(ch, ch, emb)])
        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for i in range(blocks + 1):
                layers = [ResBlock(ch + skips.pop(), mult * base, emb)]
                ch = mult * base
                if level < len(attention) and attention[level]:
                    layers.append(AttentionBlock(ch, heads))
                if level and i == blocks:
                    layers.append(Upsample(ch))
                self.output_blocks.append(Sequence(layers))
        self.out = nn.Sequential(GroupNorm32(ch), nn.SiLU(), nn.Conv2d(ch, c, 3, padding=1))

    def forward(self, x, t):
        emb = self.time_embed(sinusoidal(t, self.base))
        h, skips = x, []
        for block in self.input_blocks:
            h = block(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)


# ---------------------------------------------------------------------------------------------
# DiT (§4), names as the reference's `model.*` (timm-style blocks, adaLN-Zero).

def pos_embed_2d(dim, grid):
    """MAE sin-cos table: the first half encodes the column j, the second the row i."""
    omega = 1 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4))

    def encode(positions):
        out = np.einsum("m,d->md", positions.reshape(-1).astype(np.float64), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    rows, cols = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    table = np.concatenate([encode(cols), encode(rows)], axis=1)
    return torch.tensor(table, dtype=torch.float32)[None]


class TEmbedder(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(256, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t):
        return self.mlp(sinusoidal(t, 256))


class PatchEmbed(nn.Module):
    def __init__(self, c, hidden, p):
        super().__init__()
        self.proj = nn.Conv2d(c, hidden, p, stride=p)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v)
        return self.proj(a.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, hidden, inner):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(hidden, inner), nn.Linear(inner, hidden)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


def modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    def __init__(self, hidden, heads, ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, int(hidden * ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))

    def forward(self, x, c):
        s1, sc1, g1, s2, sc2, g2 = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + g1[:, None] * self.attn(modulate(self.norm1(x), s1, sc1))
        return x + g2[:, None] * self.mlp(modulate(self.norm2(x), s2, sc2))


class FinalLayer(nn.Module):
    def __init__(self, hidden, p, c):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden, p * p * c)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DiT(nn.Module):
    def __init__(self, shape, model, patch):
        super().__init__()
        c, side = shape[0], shape[1]
        hidden = model["hidden_size"]
        self.c, self.p, self.grid = c, patch, side // patch
        self.x_embedder = PatchEmbed(c, hidden, patch)
        self.t_embedder = TEmbedder(hidden)
        self.pos_embed = nn.Parameter(pos_embed_2d(hidden, self.grid), requires_grad=False)
        self.blocks = nn.ModuleList(
            [DiTBlock(hidden, model["num_heads"], model["mlp_ratio"]) for _ in range(model["depth"])])
        self.final_layer = FinalLayer(hidden, patch, c)

    def forward(self, x, t):
        h = self.x_embedder(x) + self.pos_embed
        cond = self.t_embedder(t)
        for block in self.blocks:
            h = block(h, cond)
        h = self.final_layer(h, cond)  # (N, T, p²C), feature order (a, b, channel)
        n, g, p, c = x.shape[0], self.grid, self.p, self.c
        return h.reshape(n, g, g, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(n, c, g * p, g * p)


class Diffuser(nn.Module):
    """Holds the network as `model` so that the state_dict names are `model.*`."""

    def __init__(self, config, patch=2, interpolation="nearest"):
        super().__init__()
        model = config["diffuser"]["model"]
        self.is_dit = "hidden_size" in model
        self.model = (DiT(config["shape"], model, model.get("patch_size", patch)) if self.is_dit
                      else UNet(config["shape"], model, model.get("interpolation", interpolation)))

    def forward(self, x, t):
        return self.model(x, t)


# ---------------------------------------------------------------------------------------------

def check(fixtures):
    """Every iDDPM/DiT fixture: load its state_dict, compare ε̂ with the reference's output."""
    ok = True
    for name in sorted(os.listdir(fixtures)):
        manifest_path = os.path.join(fixtures, name, "manifest.json")
        if not (name.startswith("iddpm") or name.startswith("dit")) or not os.path.exists(manifest_path):
            continue
        manifest = json.load(open(manifest_path))
        tensors = read_safetensors(os.path.join(fixtures, name, "tensors.safetensors"))
        net = Diffuser(manifest["config_after_mutation"])
        state = {k: v for k, v in tensors.items() if k.startswith("model.")}
        missing, unexpected = net.load_state_dict(state, strict=False)
        with torch.no_grad():
            eps = net(tensors["input.x_t"], tensors["input.t"])
        ref = tensors["output.eps"]
        error = (eps - ref).abs().max().item()
        bound = 1e-5 * max(1.0, ref.abs().max().item())
        good = not missing and not unexpected and error <= bound
        ok &= good
        print(f"{name}: max|ε̂ − ref| = {error:.2e} (bound {bound:.1e}), "
              f"missing {len(missing)}, unexpected {len(unexpected)}: {'ok' if good else 'FAIL'}")
    return ok


def median_time(fn, repetitions):
    fn()  # warm-up (allocator, kernels)
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def time_steps(configs, repetitions):
    """The steps `sad bench` times: one Adam step (MSE on ε, global-norm clip 1) at batch B and
    one sampling evaluation ε̂(x, t) without gradients."""
    sqrt_ab, sqrt_1mab = schedule()
    rows = []
    for label, path, patch, b in configs:
        config = json.load(open(path))
        torch.manual_seed(0)
        net = Diffuser(config, patch=patch)
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=config["learning_rate"])
        x0 = torch.randn([b] + config["shape"])

        def train():
            t = torch.randint(0, 1000, (b,))
            eps = torch.randn_like(x0)
            xt = sqrt_ab[t].view(-1, 1, 1, 1) * x0 + sqrt_1mab[t].view(-1, 1, 1, 1) * eps
            loss = F.mse_loss(net(xt, t.float()), eps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), config["grad_clip"])
            opt.step()

        def sample():
            with torch.no_grad():
                net(x0, torch.full((b,), 500.0))

        rows.append((f"train step, {label}, batch {b}", median_time(train, repetitions)))
        if label.startswith("U-Net 1x16x16"):
            rows.append((f"sampling step, {label}, batch {b}", median_time(sample, repetitions)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check")
    c.add_argument("fixtures")
    t = sub.add_parser("time")
    t.add_argument("--repetitions", type=int, default=5)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--configs", default="configs")
    t.add_argument("--only", default="", help="comma-separated labels to run (default: all)")
    args = parser.parse_args()
    if args.command == "check":
        sys.exit(0 if check(args.fixtures) else 1)
    torch.set_num_threads(args.threads)
    configs = [("U-Net 1x16x16", f"{args.configs}/1x16x16-iddpm.json", 2, 1000),
               ("DiT/2 1x16x16", f"{args.configs}/1x16x16-dit.json", 2, 1000),
               ("DiT/4 1x16x16", f"{args.configs}/1x16x16-dit.json", 4, 1000),
               ("U-Net 1x28x28", f"{args.configs}/1x28x28-iddpm.json", 2, 500),
               ("U-Net 3x32x32", f"{args.configs}/3x32x32-iddpm.json", 2, 500)]
    if args.only:
        wanted = set(args.only.split(","))
        configs = [c for c in configs if c[0] in wanted]
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, {args.repetitions} repetitions "
          f"(median, min–max)")
    for label, (median, low, high) in time_steps(configs, args.repetitions):
        print(f"{label}: {median:.3f} s ({low:.3f}–{high:.3f})")


if __name__ == "__main__":
    main()
