#!/usr/bin/env python3
"""Trains quamba's own small byte-level Mamba models on ../shared/corpora.

Runs on the GPU machine (PyTorch + transformers 5.17 there; no mamba_ssm, so
the models are transformers' Mamba2ForCausalLM / MambaForCausalLM and train
through their pure-PyTorch paths). Tokens are UTF-8 bytes (vocab 256, no BOS).
The last 3 % of every corpus is held out; the held-out bits/byte is measured
the way `quamba-run --ppl` measures it (non-overlapping windows of 1024 bytes,
the first byte of each window unscored).

Saved in the Hugging Face format with save_pretrained: weights in bf16 except
A_log, D and dt_bias (fp32, as mamba_ssm keeps them), so each model stays
under 12 MB. Mamba2 uses n_groups = 1: transformers' gated RMSNorm ignores
n_groups (formats.md §4), and with one group both semantics agree.

  python3 scripts/train_tiny.py --arch mamba2 --corpora DIR --out models/mamba2-bytes-5m --minutes 6
"""
import argparse
import json
import lzma
import math
import os
import time

import torch

CORPORA = ["kjv", "austen", "brown", "web", "sotu"]
HELD_OUT = 0.03


def load_corpora(directory):
    train, held = [], {}
    for name in CORPORA:
        with lzma.open(os.path.join(directory, name + ".txt.xz")) as f:
            data = f.read()
        cut = int(len(data) * (1 - HELD_OUT))
        train.append(data[:cut])
        held[name] = data[cut:]
    return b"".join(train), held


def make_model(arch):
    from transformers import Mamba2Config, Mamba2ForCausalLM, MambaConfig, MambaForCausalLM
    if arch == "mamba2":
        config = Mamba2Config(vocab_size=256, hidden_size=384, num_hidden_layers=6, state_size=64,
                              head_dim=64, num_heads=12, n_groups=1, expand=2, conv_kernel=4,
                              chunk_size=128, tie_word_embeddings=True, use_bias=False,
                              use_conv_bias=True, residual_in_fp32=True, layer_norm_epsilon=1e-5,
                              bos_token_id=None, eos_token_id=None, pad_token_id=None)
        return Mamba2ForCausalLM(config)
    config = MambaConfig(vocab_size=256, hidden_size=320, num_hidden_layers=4, state_size=16,
                         expand=2, conv_kernel=4, time_step_rank=20, tie_word_embeddings=True,
                         use_bias=False, use_conv_bias=True, residual_in_fp32=True,
                         layer_norm_epsilon=1e-5, bos_token_id=None, eos_token_id=None,
                         pad_token_id=None)
    return MambaForCausalLM(config)


# --- Fast training forwards -------------------------------------------------
# transformers' pure-PyTorch fallbacks are very slow to train through: the
# Mamba2 one materialises (batch, chunk, l, s, heads, state) products and the
# Mamba1 scan writes into a tensor slice per position under autograd (1.9 and
# 0.6 steps/s on an H200). These compute the same mixer on the same parameters
# (so the saved checkpoint is unchanged): Mamba2 with the chunked SSD
# algorithm as batched matmuls, Mamba1 with a per-position loop that autograd
# handles in linear time. They run only in training mode; evaluation and
# generation use transformers' own code. check_fast_path compares both on one
# batch before training and falls back to transformers' path on a mismatch.

def _segsum(x):
    """segsum[..., l, s] = x[s+1] + ... + x[l] for l >= s, -inf above the diagonal."""
    T = x.size(-1)
    x = x[..., None].expand(*x.size(), T)
    mask = torch.tril(torch.ones(T, T, device=x.device, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    x = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(T, T, device=x.device, dtype=torch.bool), diagonal=0)
    return x.masked_fill(~mask, -torch.inf)


def _ssd(X, A, B, C, chunk):
    """Chunked SSD, zero initial state. X (b,L,h,p), A (b,L,h), B and C (b,L,g,n); fp32."""
    b, L, h, p = X.shape
    g, n = B.shape[2], B.shape[3]
    r = h // g
    pad = (-L) % chunk
    if pad:
        X, A, B, C = [torch.nn.functional.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (X, A, B, C)]
    c = (L + pad) // chunk
    X = X.reshape(b, c, chunk, g, r, p)
    A = A.reshape(b, c, chunk, g, r).permute(0, 3, 4, 1, 2)            # b g r c l
    B = B.reshape(b, c, chunk, g, n)
    C = C.reshape(b, c, chunk, g, n)
    A_cum = torch.cumsum(A, dim=-1)                                     # b g r c l
    # 1. within chunks
    CB = torch.einsum("bclgn,bcsgn->bgcls", C, B)                       # b g c l s
    M = torch.exp(_segsum(A)) * CB[:, :, None]                          # b g r c l s
    Y_diag = torch.einsum("bgrcls,bcsgrp->bclgrp", M, X)
    # 2. state at the end of each chunk
    decay_states = torch.exp(A_cum[..., -1:] - A_cum).permute(0, 3, 4, 1, 2)   # b c l g r
    states = torch.einsum("bclgn,bclgrp->bcgrpn", B, X * decay_states[..., None])
    # 3. across chunks
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(_segsum(torch.nn.functional.pad(A_cum[..., -1], (1, 0))))  # b g r z c
    states = torch.einsum("bgrzc,bcgrpn->bzgrpn", decay_chunk, states)[:, :-1]
    # 4. states to outputs
    Y_off = torch.einsum("bclgn,bcgrpn->bclgrp", C, states)
    Y_off = Y_off * torch.exp(A_cum).permute(0, 3, 4, 1, 2)[..., None]
    return (Y_diag + Y_off).reshape(b, c * chunk, h, p)[:, :L]


def _mamba2_mixer_train(self, hidden_states):
    b, L, _ = hidden_states.shape
    dtype = hidden_states.dtype
    projected = self.in_proj(hidden_states)
    gn = self.n_groups * self.ssm_state_size
    d_mlp = (projected.shape[-1] - 2 * self.intermediate_size - 2 * gn - self.num_heads) // 2
    _, _, gate, xBC, dt = projected.split(
        [d_mlp, d_mlp, self.intermediate_size, self.conv_dim, self.num_heads], dim=-1)
    xBC = self.act(self.conv1d(xBC.transpose(1, 2))[..., :L].transpose(1, 2))
    x, B, C = torch.split(xBC, [self.intermediate_size, gn, gn], dim=-1)
    with torch.autocast("cuda", enabled=False):
        dt = torch.nn.functional.softplus(dt.float() + self.dt_bias.float())
        dt = torch.clamp(dt, self.time_step_limit[0], self.time_step_limit[1])
        A = -torch.exp(self.A_log.float())
        x = x.float().reshape(b, L, self.num_heads, self.head_dim)
        y = _ssd(x * dt[..., None], A * dt,
                 B.float().reshape(b, L, self.n_groups, self.ssm_state_size),
                 C.float().reshape(b, L, self.n_groups, self.ssm_state_size), self.chunk_size)
        y = (y + self.D.float()[:, None] * x).reshape(b, L, -1)
    y = self.norm(y, gate)
    return self.out_proj(y.to(dtype))


def _mamba1_mixer_train(self, hidden_states):
    b, L, _ = hidden_states.shape
    dtype = hidden_states.dtype
    projected = self.in_proj(hidden_states).transpose(1, 2)            # b 2I L
    x, gate = projected.chunk(2, dim=1)
    x = self.act(self.conv1d(x)[..., :L])                               # b I L
    ssm = self.x_proj(x.transpose(1, 2))                                # b L R+2N
    dt, B, C = torch.split(ssm, [self.time_step_rank, self.ssm_state_size, self.ssm_state_size], dim=-1)
    dt = self.dt_proj(dt)                                               # b L I
    with torch.autocast("cuda", enabled=False):
        # Position-major layout so that each step reads contiguous slices.
        dt = torch.nn.functional.softplus(dt.float()).transpose(0, 1).contiguous()   # L b I
        u = x.float().permute(2, 0, 1).contiguous()                                  # L b I
        B = B.float().transpose(0, 1).contiguous()                                   # L b N
        C = C.float().transpose(0, 1).contiguous()                                   # L b N
        A = -torch.exp(self.A_log.float())                                           # I N
        dA = torch.exp(dt[..., None] * A)                                            # L b I N
        dBu = (dt * u)[..., None] * B[:, :, None, :]                                 # L b I N
        state = torch.zeros_like(dA[0])
        ys = []
        # unbind (not indexing) keeps the backward linear in L.
        for dA_t, dBu_t, C_t in zip(dA.unbind(0), dBu.unbind(0), C.unbind(0)):
            state = torch.addcmul(dBu_t, dA_t, state)
            ys.append(torch.bmm(state, C_t.unsqueeze(-1)))
        y = torch.stack(ys, 0).squeeze(-1)                                           # L b I
        y = (y + u * self.D.float()).permute(1, 2, 0)                                # b I L
        y = y * self.act(gate.float())
    return self.out_proj(y.transpose(1, 2).to(dtype))


def install_fast_path(model, arch):
    fast = _mamba2_mixer_train if arch == "mamba2" else _mamba1_mixer_train
    for layer in model.backbone.layers:
        mixer = layer.mixer
        original = mixer.forward
        mixer.fast_training = True

        def forward(hidden_states, *args, _m=mixer, _orig=original, **kwargs):
            if _m.training and _m.fast_training and kwargs.get("cache_params") is None:
                return fast(_m, hidden_states)
            return _orig(hidden_states, *args, **kwargs)

        mixer.forward = forward


def set_fast_path(model, on):
    for layer in model.backbone.layers:
        layer.mixer.fast_training = on


def check_fast_path(model, seqlen):
    """Max |logit difference| between the fast and transformers' training forward, and max |logit|."""
    model.train()
    ids = torch.randint(0, 256, (2, seqlen), device="cuda")
    with torch.no_grad():
        set_fast_path(model, False)
        ref = model(ids, use_cache=False).logits.float()
        set_fast_path(model, True)
        got = model(ids, use_cache=False).logits.float()
    return (ref - got).abs().max().item(), ref.abs().max().item()


@torch.no_grad()
def bits_per_byte(model, data, window=1024, max_bytes=None, batch=16):
    """Non-overlapping windows; each window's first byte is unscored.

    The full windows run batched (same windows, same scoring, as one at a time);
    the pure-PyTorch Mamba1 scan is a Python loop over positions, so one window
    per call would take minutes."""
    if max_bytes:
        data = data[:max_bytes]
    ids = torch.tensor(list(data), dtype=torch.long, device="cuda")
    nll, count = 0.0, 0
    full = (len(ids) // window) * window
    windows = ids[:full].view(-1, window)
    chunks = [windows[i:i + batch] for i in range(0, windows.shape[0], batch)]
    if len(ids) - full >= 2:
        chunks.append(ids[full:].unsqueeze(0))
    for chunk in chunks:
        logits = model(chunk, use_cache=False).logits.float()
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                 chunk[:, 1:].reshape(-1), reduction="sum")
        nll += loss.item()
        count += chunk.shape[0] * (chunk.shape[1] - 1)
    return nll / count / math.log(2)


def save(model, out):
    # bf16 weights; A_log, D and dt_bias stay fp32.
    keep_fp32 = ("A_log", "D", "dt_bias")
    for name, param in model.named_parameters():
        if not name.endswith(keep_fp32):
            param.data = param.data.to(torch.bfloat16)
    model.config.dtype = "bfloat16"
    model.save_pretrained(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", choices=["mamba1", "mamba2"], required=True)
    p.add_argument("--corpora", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=6.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seqlen", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-fast", action="store_true",
                   help="train through transformers' own (slow) pure-PyTorch forward")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    train, held = load_corpora(args.corpora)
    data = torch.tensor(list(train), dtype=torch.uint8)
    model = make_model(args.arch).cuda()
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.arch}: {params / 1e6:.2f} M parameters, {len(train) / 1e6:.1f} MB of training text",
          flush=True)

    fast_check = None
    if not args.no_fast:
        install_fast_path(model, args.arch)
        try:
            diff, scale = check_fast_path(model, args.seqlen)
            fast_check = {"max_abs_logit_diff": diff, "max_abs_logit": scale}
            ok = diff <= 1e-3 * max(scale, 1.0)
        except Exception as e:  # noqa: BLE001 - fall back to transformers' path
            import traceback
            traceback.print_exc()
            fast_check, ok = {"error": repr(e)}, False
        print(f"fast training path check: {fast_check} -> {'using it' if ok else 'FALLING BACK'}", flush=True)
        set_fast_path(model, ok)
        args.no_fast = not ok
    model.train()

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    budget = args.minutes * 60
    start = time.time()
    step = 0
    g = torch.Generator().manual_seed(args.seed)
    while True:
        elapsed = time.time() - start
        if elapsed > budget:
            break
        # Warm-up over the first 3 % of the time, then cosine decay to 10 %.
        frac = elapsed / budget
        lr = args.lr * (frac / 0.03 if frac < 0.03 else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(data) - args.seqlen - 1, (args.batch,), generator=g)
        batch = torch.stack([data[s:s + args.seqlen + 1] for s in starts]).long().cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(batch[:, :-1], use_cache=False).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 256), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 200 == 0:
            print(f"step {step} {elapsed:.0f}s loss {loss.item() / math.log(2):.3f} bits/byte lr {lr:.2e}",
                  flush=True)
    train_seconds = time.time() - start
    peak_gb = torch.cuda.max_memory_allocated() / 2**30

    model.eval()
    save(model, args.out)
    model = model.float()
    results = {"arch": args.arch, "parameters": params, "steps": step,
               "train_seconds": round(train_seconds, 1),
               "peak_train_memory_gib": round(peak_gb, 2), "batch": args.batch, "seqlen": args.seqlen,
               "lr": args.lr, "fast_training_path": not args.no_fast, "fast_path_check": fast_check,
               "corpora": CORPORA, "held_out_fraction": HELD_OUT,
               "gpu": torch.cuda.get_device_name(), "held_out_bits_per_byte": {}}
    for name, text in held.items():
        results["held_out_bits_per_byte"][name] = round(bits_per_byte(model, text, max_bytes=200_000), 4)
    prompt = "The whale"
    ids = torch.tensor([list(prompt.encode())], device="cuda")
    out = model.generate(ids, max_new_tokens=200, do_sample=False)
    results["greedy_sample"] = bytes(out[0].tolist()).decode("utf-8", errors="replace")
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1), flush=True)


if __name__ == "__main__":
    main()
