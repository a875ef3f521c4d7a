"""DeepSeek-V3 in miniature: Multi-head Latent Attention and DeepSeekMoE.

Two attention paths compute the same function:
  - `naive`: expands the latent to per-head K/V (used for training);
  - `absorbed`: keeps the cache as the latent plus the RoPE key and folds the up-projections
    into the query and output (used for inference and the ONNX export, as DeepSeek serves it).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    vocab_size: int = 512
    hidden_size: int = 192
    num_hidden_layers: int = 5
    num_attention_heads: int = 4
    qk_nope_head_dim: int = 32
    qk_rope_head_dim: int = 16
    v_head_dim: int = 32
    kv_lora_rank: int = 48
    intermediate_size: int = 512
    moe_intermediate_size: int = 64
    n_routed_experts: int = 16
    n_shared_experts: int = 1
    num_experts_per_tok: int = 4
    first_k_dense_replace: int = 1
    routed_scaling_factor: float = 1.0
    max_position_embeddings: int = 512
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    bos_token_id: int = 0
    eos_token_id: int = 1
    pad_token_id: int = 2

    def to_hf(self) -> dict:
        """config.json in Hugging Face DeepSeek-V3 style."""
        d = asdict(self)
        d.update(
            model_type="deepseek_v3",
            architectures=["DeepseekV3ForCausalLM"],
            q_lora_rank=None,
            scoring_func="sigmoid",
            topk_method="noaux_tc",
            norm_topk_prob=True,
            n_group=1,
            topk_group=1,
            moe_layer_freq=1,
            hidden_act="silu",
            tie_word_embeddings=False,
            torch_dtype="float32",
        )
        return d

    def is_moe(self, layer: int) -> bool:
        return layer >= self.first_k_dense_replace


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Rope(nn.Module):
    def __init__(self, dim: int, max_pos: int, theta: float):
        super().__init__()
        inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        freqs = torch.outer(torch.arange(max_pos, dtype=torch.float32), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        """x [B, T, ..., dim]; position_ids [B, T]."""
        cos = self.cos[position_ids].to(x.dtype)
        sin = self.sin[position_ids].to(x.dtype)
        while cos.dim() < x.dim():
            cos, sin = cos.unsqueeze(-2), sin.unsqueeze(-2)
        return x * cos + rotate_half(x) * sin


class MLA(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        h, nope, rope, v, r = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim,
                               cfg.v_head_dim, cfg.kv_lora_rank)
        self.q_proj = nn.Linear(cfg.hidden_size, h * (nope + rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(cfg.hidden_size, r + rope, bias=False)
        self.kv_a_layernorm = RMSNorm(r, cfg.rms_norm_eps)
        self.kv_b_proj = nn.Linear(r, h * (nope + v), bias=False)
        self.o_proj = nn.Linear(h * v, cfg.hidden_size, bias=False)
        self.scale = 1.0 / math.sqrt(nope + rope)

    def _project(self, x: torch.Tensor, position_ids: torch.Tensor, rope: Rope):
        c = self.cfg
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, c.num_attention_heads, c.qk_nope_head_dim + c.qk_rope_head_dim)
        q_nope, q_pe = q.split([c.qk_nope_head_dim, c.qk_rope_head_dim], dim=-1)
        ckv = self.kv_a_proj_with_mqa(x)
        latent, k_pe = ckv.split([c.kv_lora_rank, c.qk_rope_head_dim], dim=-1)
        latent = self.kv_a_layernorm(latent)
        return q_nope, rope(q_pe, position_ids), latent, rope(k_pe, position_ids)

    def forward_naive(self, x: torch.Tensor, position_ids: torch.Tensor, rope: Rope) -> torch.Tensor:
        """Causal self-attention over the whole (right-padded) sequence."""
        c = self.cfg
        b, t, _ = x.shape
        q_nope, q_pe, latent, k_pe = self._project(x, position_ids, rope)
        kv = self.kv_b_proj(latent).view(b, t, c.num_attention_heads, c.qk_nope_head_dim + c.v_head_dim)
        k_nope, v = kv.split([c.qk_nope_head_dim, c.v_head_dim], dim=-1)
        k = torch.cat([k_nope, k_pe.unsqueeze(2).expand(-1, -1, c.num_attention_heads, -1)], dim=-1)
        q = torch.cat([q_nope, q_pe], dim=-1)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        else:  # torch < 2.0
            s = (q @ k.transpose(-1, -2)) * self.scale
            causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            o = s.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        return self.o_proj(o.transpose(1, 2).flatten(2))

    def forward_cached(self, x, position_ids, mask, past_latent, past_k_pe, rope: Rope):
        """Absorbed MLA over a latent cache.

        mask: bool [B, 1, T, S] (True = may attend); past_*: [B, P, r] and [B, P, rope].
        Returns the output and the new cache (past ++ this step), still latent-sized.
        """
        c = self.cfg
        b, t, _ = x.shape
        h, nope, r = c.num_attention_heads, c.qk_nope_head_dim, c.kv_lora_rank
        q_nope, q_pe, latent, k_pe = self._project(x, position_ids, rope)
        latent_all = torch.cat([past_latent, latent], dim=1)  # [B, S, r]
        k_pe_all = torch.cat([past_k_pe, k_pe], dim=1)  # [B, S, rope]
        w = self.kv_b_proj.weight.view(h, nope + c.v_head_dim, r)
        w_uk, w_uv = w[:, :nope, :], w[:, nope:, :]  # [H, nope, r], [H, v, r]
        q_latent = q_nope.transpose(1, 2) @ w_uk  # [B, H, T, r]
        scores = q_latent @ latent_all.unsqueeze(1).transpose(-1, -2)
        scores = scores + q_pe.transpose(1, 2) @ k_pe_all.unsqueeze(1).transpose(-1, -2)
        scores = (scores * self.scale).masked_fill(~mask, torch.finfo(scores.dtype).min)
        probs = scores.softmax(-1)
        o_latent = probs @ latent_all.unsqueeze(1)  # [B, H, T, r]
        o = o_latent @ w_uv.transpose(-1, -2)  # [B, H, T, v]
        return self.o_proj(o.transpose(1, 2).flatten(2)), latent_all, k_pe_all


class MLP(nn.Module):
    def __init__(self, hidden: int, inter: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    """DeepSeekMoE: shared experts plus fine-grained routed experts, sigmoid gate, top-k chosen on
    score + bias (the bias is V3's auxiliary-loss-free balancing term and does not weight outputs).

    The routed experts are evaluated as two dense matmuls with the unchosen experts' gates at exactly
    zero: at this size that is faster on CPU and GPU than gathering per-token expert weights, and the
    output equals sparse top-k dispatch.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        e, d, i = cfg.n_routed_experts, cfg.hidden_size, cfg.moe_intermediate_size
        self.gate = nn.Linear(d, e, bias=False)
        self.register_buffer("e_score_correction_bias", torch.zeros(e))
        std = 1.0 / math.sqrt(d)
        self.experts_gate = nn.Parameter(torch.randn(d, e * i) * std)
        self.experts_up = nn.Parameter(torch.randn(d, e * i) * std)
        self.experts_down = nn.Parameter(torch.randn(e * i, d) / math.sqrt(i))
        self.shared_experts = MLP(d, i * cfg.n_shared_experts)

    def route(self, x: torch.Tensor):
        """Returns (expert ids [.., k] int64, gate weights [.., k], router scores [.., E])."""
        c = self.cfg
        scores = torch.sigmoid(self.gate(x).float())
        ids = torch.topk(scores + self.e_score_correction_bias, c.num_experts_per_tok, dim=-1).indices
        weights = scores.gather(-1, ids)
        weights = weights / weights.sum(-1, keepdim=True) * c.routed_scaling_factor
        return ids, weights, scores

    def forward(self, x: torch.Tensor):
        c = self.cfg
        ids, weights, scores = self.route(x)
        dense = torch.zeros_like(scores).scatter(-1, ids, weights).to(x.dtype)  # [.., E]
        h = F.silu(x @ self.experts_gate) * (x @ self.experts_up)  # [.., E*I]
        h = (h.view(*h.shape[:-1], c.n_routed_experts, c.moe_intermediate_size) * dense.unsqueeze(-1)).flatten(-2)
        return h @ self.experts_down + self.shared_experts(x), (ids, weights, scores)


class Layer(nn.Module):
    def __init__(self, cfg: Config, index: int):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.is_moe = cfg.is_moe(index)
        self.mlp = MoE(cfg) if self.is_moe else MLP(cfg.hidden_size, cfg.intermediate_size)

    def ffn(self, x: torch.Tensor):
        y = self.post_attention_layernorm(x)
        if self.is_moe:
            out, routing = self.mlp(y)
            return x + out, routing
        return x + self.mlp(y), None


class DeepSeekMini(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Layer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.rope = Rope(cfg.qk_rope_head_dim, cfg.max_position_embeddings, cfg.rope_theta)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def moe_layers(self) -> list[int]:
        return [i for i, l in enumerate(self.layers) if l.is_moe]

    def forward(self, input_ids: torch.Tensor):
        """Training forward: logits [B, T, V] and per-MoE-layer routing (ids, weights, scores)."""
        b, t = input_ids.shape
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0).expand(b, t)
        x = self.embed_tokens(input_ids)
        routing = []
        for layer in self.layers:
            x = x + layer.self_attn.forward_naive(layer.input_layernorm(x), pos, self.rope)
            x, r = layer.ffn(x)
            if r is not None:
                routing.append(r)
        return self.lm_head(self.norm(x)), routing

    def forward_cached(self, input_ids, attention_mask, position_ids, past: list[torch.Tensor]):
        """Inference forward over a latent KV cache.

        past: 2 tensors per layer (latent [B, P, r], rope key [B, P, rope]); attention_mask [B, P+T].
        Returns logits [B, T, V], the present cache (same layout, P+T long) and the routing of
        every MoE layer (ids, weights, scores).
        """
        b, t = input_ids.shape
        p = past[0].shape[1]
        q_pos = torch.arange(t, device=input_ids.device) + p
        k_pos = torch.arange(p + t, device=input_ids.device)
        causal = k_pos.unsqueeze(0) <= q_pos.unsqueeze(1)  # [T, S]
        mask = causal.unsqueeze(0).unsqueeze(0) & attention_mask.bool().unsqueeze(1).unsqueeze(2)
        x = self.embed_tokens(input_ids)
        present, routing = [], []
        for i, layer in enumerate(self.layers):
            a, lat, kpe = layer.self_attn.forward_cached(
                layer.input_layernorm(x), position_ids, mask, past[2 * i], past[2 * i + 1], self.rope)
            present += [lat, kpe]
            x, r = layer.ffn(x + a)
            if r is not None:
                routing.append(r)
        return self.lm_head(self.norm(x)), present, routing

    def empty_cache(self, batch: int, device=None, dtype=torch.float32) -> list[torch.Tensor]:
        c = self.cfg
        out = []
        for _ in range(c.num_hidden_layers):
            out.append(torch.zeros(batch, 0, c.kv_lora_rank, device=device, dtype=dtype))
            out.append(torch.zeros(batch, 0, c.qk_rope_head_dim, device=device, dtype=dtype))
        return out


def parameter_counts(cfg: Config) -> dict[str, int]:
    """Total parameters and those that work for one token (embedding row excluded from active)."""
    m = DeepSeekMini(cfg)
    total = sum(p.numel() for p in m.parameters())
    per_expert = 3 * cfg.hidden_size * cfg.moe_intermediate_size
    inactive = len(m.moe_layers()) * (cfg.n_routed_experts - cfg.num_experts_per_tok) * per_expert
    embedding = cfg.vocab_size * cfg.hidden_size
    return {"total": total, "active_per_token": total - inactive - embedding + cfg.hidden_size,
            "routed_expert": per_expert}
