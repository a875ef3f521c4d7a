"""Greedy decoding with the latent KV cache, exact-match scoring, and expert load."""
from __future__ import annotations

import torch

from data import END_THINK, EOS, completion_text, prompt_text
from model import DeepSeekMini


@torch.no_grad()
def greedy(model: DeepSeekMini, prompts: list[list[int]], eos: int, pad: int, max_new: int, device) -> list[list[int]]:
    """Left-padded batched greedy decoding through forward_cached, as the ONNX graph is driven."""
    b = len(prompts)
    t = max(len(p) for p in prompts)
    ids = torch.full((b, t), pad, dtype=torch.long, device=device)
    mask = torch.zeros((b, t), dtype=torch.long, device=device)
    for i, p in enumerate(prompts):
        ids[i, t - len(p):] = torch.tensor(p, device=device)
        mask[i, t - len(p):] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    past = model.empty_cache(b, device)
    out = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool, device=device)
    for _ in range(max_new):
        logits, past, _ = model.forward_cached(ids, mask, pos, past)
        nxt = logits[:, -1].argmax(-1)
        for i, (token, finished) in enumerate(zip(nxt.tolist(), done.tolist())):
            if not finished:
                out[i].append(token)
        done |= nxt == eos
        if bool(done.all()):
            break
        ids = nxt.unsqueeze(1)
        pos = pos[:, -1:] + 1
        mask = torch.cat([mask, torch.ones((b, 1), dtype=torch.long, device=device)], dim=1)
    return out


def split_completion(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a decoded completion; the answer is what follows </think>."""
    text = text.split(EOS)[0]
    if END_THINK not in text:
        return text, ""
    think, answer = text.split(END_THINK, 1)
    return think, answer.strip("\n")


@torch.no_grad()
def evaluate(model: DeepSeekMini, tok, samples: list[dict], device, batch: int = 200, max_new: int = 400) -> dict:
    model.eval()
    cfg = model.cfg
    correct = trace_correct = 0
    load = {i: torch.zeros(cfg.n_routed_experts, dtype=torch.long) for i in model.moe_layers()}
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        prompts = [tok.encode(prompt_text(s["program"])).ids for s in chunk]
        budget = min(max_new, cfg.max_position_embeddings - max(len(p) for p in prompts))
        outs = greedy(model, prompts, cfg.eos_token_id, cfg.pad_token_id, budget, device)
        for s, p, o in zip(chunk, prompts, outs):
            text = tok.decode(o, skip_special_tokens=False)
            _, answer = split_completion(text)
            correct += answer == s["answer"]
            trace_correct += text == completion_text(s["think"], s["answer"])
            # routing of every token the model read or wrote, as the extension would show it
            seq = torch.tensor([p + o], device=device)
            _, routing = model(seq)
            for layer, (ids, _, _) in zip(model.moe_layers(), routing):
                load[layer] += torch.bincount(ids.flatten().cpu(), minlength=cfg.n_routed_experts)
    n = len(samples)
    return {"accuracy": correct / n, "trace_accuracy": trace_correct / n, "correct": correct, "total": n,
            "expert_load": {str(k): v.tolist() for k, v in load.items()}}
