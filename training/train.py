"""Supervised training of the checkpoint on execution traces, resumable, seeded.

  python3 training/train.py --work /tmp/moe-lens-train --steps 6000 --time-limit 420

Writes into --work: tokenizer files, heldout.jsonl, ckpt.pt (resume), and when all steps are done
weights.npz + config.json + train_log.json, which training/export.py turns into models/<name>/.
A run stopped by --time-limit resumes from ckpt.pt with the same command; the batches of step s
are drawn from a generator seeded by s, so an interrupted run trains on exactly the same data.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from data import SPECIAL, completion_text, heldout, prompt_text, train_tokenizer, training_samples, \
    write_heldout, write_tokenizer_files
from evaluate import evaluate
from model import Config, DeepSeekMini

MAX_LEN = 512  # max_position_embeddings; longer training sequences are dropped


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--train-samples", type=int, default=300_000)
    p.add_argument("--heldout", type=int, default=600)
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=1e9, help="seconds; save and stop when exceeded")
    p.add_argument("--finish-at-time-limit", action="store_true",
                   help="at the time limit, evaluate and write the weights instead of stopping to resume")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--bias-rate", type=float, default=1e-3, help="aux-loss-free balancing step (V3 gamma)")
    p.add_argument("--aux-alpha", type=float, default=1e-4, help="complementary balance loss weight")
    p.add_argument("--data-seed", type=int, default=7, help="seed of the training programs")
    p.add_argument("--init", type=Path, help="weights.npz of an earlier stage to start from")
    p.add_argument("--tiny", action="store_true", help="a very small model, for smoke tests")
    return p.parse_args()


def build_corpus(args, work: Path):
    """Tokenizer and tokenised training sequences; the tokenizer and held-out set are made once."""
    held = heldout(args.heldout)
    train = training_samples(args.train_samples, {s["program"] for s in held}, args.data_seed)
    from tokenizers import Tokenizer
    if (work / "tokenizer.json").exists():
        tok = Tokenizer.from_file(str(work / "tokenizer.json"))
    else:
        texts = [prompt_text(s["program"]) + completion_text(s["think"], s["answer"]) for s in train[:20000]]
        tok = train_tokenizer(texts, args.vocab)
        write_tokenizer_files(tok, work, MAX_LEN)
        write_heldout(held, work / "heldout.jsonl", tok)
    prompts = tok.encode_batch([prompt_text(s["program"]) for s in train])
    comps = tok.encode_batch([completion_text(s["think"], s["answer"]) for s in train])
    seqs = [(np.array(p.ids + c.ids, dtype=np.int64), len(p.ids)) for p, c in zip(prompts, comps)
            if len(p.ids) + len(c.ids) <= MAX_LEN]
    seqs.sort(key=lambda s: len(s[0]))
    return tok, held, seqs


def batch_at(step: int, seqs, batch: int, seed: int, pad: int, device):
    """A window of `batch` sequences of similar length (seqs is sorted by length): little padding."""
    rng = random.Random(seed * 1_000_003 + step)
    start = rng.randrange(len(seqs) - batch + 1)
    chosen = seqs[start:start + batch]
    t = max(len(s) for s, _ in chosen)
    ids = np.full((batch, t), pad, dtype=np.int64)
    mask = np.zeros((batch, t - 1), dtype=np.float32)
    for i, (s, p) in enumerate(chosen):
        ids[i, :len(s)] = s
        mask[i, p - 1:len(s) - 1] = 1.0  # predict every completion token
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def lr_at(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def balance_loss(routing, valid: torch.Tensor, cfg: Config) -> torch.Tensor:
    """DeepSeek-V3's complementary balance loss, over the batch's real tokens."""
    total = 0.0
    n = valid.sum().clamp(min=1)
    for ids, _, scores in routing:
        counts = torch.zeros(cfg.n_routed_experts, device=ids.device).index_add_(
            0, ids[valid].flatten(), torch.ones(ids[valid].numel(), device=ids.device))
        f = counts * cfg.n_routed_experts / (cfg.num_experts_per_tok * n)
        p = (scores / scores.sum(-1, keepdim=True))[valid].mean(0)
        total = total + (f * p).sum()
    return total


@torch.no_grad()
def update_bias(model: DeepSeekMini, routing, valid: torch.Tensor, rate: float) -> None:
    """Aux-loss-free balancing: raise the bias of under-loaded experts, lower the over-loaded."""
    for layer_index, (ids, _, _) in zip(model.moe_layers(), routing):
        moe = model.layers[layer_index].mlp
        counts = torch.bincount(ids[valid].flatten(), minlength=moe.cfg.n_routed_experts).float()
        moe.e_score_correction_bias += rate * torch.sign(counts.mean() - counts)


def main():
    args = parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(args.seed)
    t0 = time.time()
    tok, held, seqs = build_corpus(args, work)
    corpus_s = time.time() - t0
    print(f"corpus: {len(seqs)} sequences, mean {np.mean([len(s) for s, _ in seqs]):.0f} tokens, "
          f"max {max(len(s) for s, _ in seqs)}, {corpus_s:.1f}s", flush=True)

    cfg = Config(vocab_size=tok.get_vocab_size(), bos_token_id=0, eos_token_id=1, pad_token_id=2)
    if args.tiny:
        cfg = Config(vocab_size=cfg.vocab_size, hidden_size=32, num_hidden_layers=2, intermediate_size=64,
                     moe_intermediate_size=16, n_routed_experts=8, num_experts_per_tok=2, kv_lora_rank=16,
                     qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, num_attention_heads=2)
    model = DeepSeekMini(cfg).to(device)
    if args.init:
        weights = np.load(args.init)
        model.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files})
        print(f"initialised from {args.init}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), **({"fused": True} if device == "cuda" else {}))
    log = {"steps": [], "evals": [], "config": cfg.to_hf(), "args": {k: str(v) for k, v in vars(args).items()}}
    step, trained_s = 0, 0.0
    ckpt = work / "ckpt.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, trained_s, log = state["step"], state["trained_s"], state["log"]
        print(f"resumed at step {step}", flush=True)

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "trained_s": trained_s, "log": log}, ckpt)

    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else torch.autocast("cpu", enabled=False)
    start = time.time()
    last = start
    model.train()
    while step < args.steps:
        if time.time() - t0 > args.time_limit and args.finish_at_time_limit:
            log["stopped_at_step"] = step
            print(f"time limit: finishing at step {step} of {args.steps}", flush=True)
            break
        if time.time() - t0 > args.time_limit:
            trained_s += time.time() - last
            save()
            print(f"time limit: saved at step {step}; run the same command again to resume", flush=True)
            return
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        ids, mask = batch_at(step, seqs, args.batch, args.seed, cfg.pad_token_id, device)
        with amp:
            logits, routing = model(ids[:, :-1])
            valid = ids[:, :-1] != cfg.pad_token_id
            ce = F.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), ids[:, 1:].reshape(-1),
                                 reduction="none")
            loss = (ce * mask.reshape(-1)).sum() / mask.sum()
            aux = balance_loss(routing, valid, cfg)
        opt.zero_grad(set_to_none=True)
        (loss + args.aux_alpha * aux).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        update_bias(model, routing, valid, args.bias_rate)
        step += 1
        if step % 100 == 0 or step == args.steps:
            now = time.time()
            trained_s += now - last
            last = now
            log["steps"].append({"step": step, "loss": round(loss.item(), 5), "aux": round(float(aux), 5),
                                 "lr": lr_at(step, args), "seconds": round(trained_s, 1)})
            print(f"step {step} loss {loss.item():.4f} aux {float(aux):.3f} {trained_s:.0f}s", flush=True)
        if step % args.eval_every == 0 and step < args.steps:
            r = evaluate(model, tok, held[:128], device)
            log["evals"].append({"step": step, **{k: r[k] for k in ("accuracy", "trace_accuracy")}})
            print(f"eval step {step}: accuracy {r['accuracy']:.3f} trace {r['trace_accuracy']:.3f}", flush=True)
            model.train()
            save()
            last = time.time()

    trained_s += time.time() - last
    final = evaluate(model, tok, held, device)
    log["final"] = {k: final[k] for k in ("accuracy", "trace_accuracy", "correct", "total", "expert_load")}
    log["train_seconds"] = round(trained_s, 1)
    log["device"] = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    log["tokens_per_step_mean"] = float(np.mean([len(s) for s, _ in seqs]) * args.batch)
    print(f"final: accuracy {final['accuracy']:.4f} ({final['correct']}/{final['total']}), "
          f"trace {final['trace_accuracy']:.4f}", flush=True)
    save()
    np.savez(work / "weights.npz", **{k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()})
    (work / "config.json").write_text(json.dumps(cfg.to_hf(), indent=2) + "\n")
    (work / "train_log.json").write_text(json.dumps(log, indent=1) + "\n")
    assert all(s == SPECIAL[i] for i, s in enumerate(SPECIAL))


if __name__ == "__main__":
    main()
