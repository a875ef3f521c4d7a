"""Exports a trained checkpoint to models/<name>/ following the MoE Lens model contract.

  python3 training/export.py --work /tmp/moe-lens-train --out models/moe-lens-mini

Graph inputs:  input_ids, attention_mask, position_ids,
               past_key_values.{i}.kv_latent [B, P, kv_lora_rank], past_key_values.{i}.k_rope [B, P, rope]
Graph outputs: logits, present.{i}.kv_latent, present.{i}.k_rope,
               routing.{i}.expert_ids [B, T, k] int64, routing.{i}.expert_weights [B, T, k],
               routing.{i}.router_scores [B, T, E]   (i = index of each MoE layer),
               routing.packed [B, T, L·(2k + E)]      (the same, one output per step: pack_routing.py)
Also writes a parity fixture (PyTorch reference outputs) for the TypeScript tests.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from model import Config, DeepSeekMini
from pack_routing import pack

OPSET = 17


def load(work: Path) -> DeepSeekMini:
    hf = json.loads((work / "config.json").read_text())
    fields = Config.__dataclass_fields__
    cfg = Config(**{k: v for k, v in hf.items() if k in fields})
    model = DeepSeekMini(cfg)
    weights = np.load(work / "weights.npz")
    model.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files})
    return model.eval()


class Contract(nn.Module):
    def __init__(self, model: DeepSeekMini):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past):
        logits, present, routing = self.model.forward_cached(input_ids, attention_mask, position_ids, list(past))
        out = [logits, *present]
        for ids, weights, scores in routing:
            out += [ids, weights, scores]
        return tuple(out)


def io_names(model: DeepSeekMini):
    n = model.cfg.num_hidden_layers
    cache = [f"{i}.{part}" for i in range(n) for part in ("kv_latent", "k_rope")]
    inputs = ["input_ids", "attention_mask", "position_ids"] + [f"past_key_values.{c}" for c in cache]
    outputs = ["logits"] + [f"present.{c}" for c in cache]
    for i in model.moe_layers():
        outputs += [f"routing.{i}.expert_ids", f"routing.{i}.expert_weights", f"routing.{i}.router_scores"]
    return inputs, outputs


def export(model: DeepSeekMini, path: Path) -> None:
    inputs, outputs = io_names(model)
    b, t, p = 1, 5, 3
    ids = torch.randint(0, model.cfg.vocab_size, (b, t))
    past = [torch.randn(z.shape[0], p, z.shape[2]) for z in model.empty_cache(b)]
    mask = torch.ones(b, p + t, dtype=torch.long)
    pos = torch.arange(p, p + t).unsqueeze(0)
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total_seq"},
           "position_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    for name in inputs[3:]:
        dyn[name] = {0: "batch", 1: "past_seq"}
    for name in outputs[1:]:
        dyn[name] = {0: "batch", 1: "total_seq"} if name.startswith("present.") else {0: "batch", 1: "seq"}
    kwargs = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}
    torch.onnx.export(Contract(model), (ids, mask, pos, *past), str(path), input_names=inputs,
                      output_names=outputs, dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True,
                      **kwargs)


def reference(model: DeepSeekMini, prompts: list[list[int]]) -> list[dict]:
    """PyTorch outputs for a few prompts: the TypeScript parity test compares onnxruntime to these."""
    rows = []
    with torch.no_grad():
        for p in prompts:
            ids = torch.tensor([p])
            logits, present, routing = model.forward_cached(
                ids, torch.ones_like(ids), torch.arange(len(p)).unsqueeze(0), model.empty_cache(1))
            rows.append({
                "input_ids": p,
                "last_logits": [round(float(x), 6) for x in logits[0, -1]],
                "argmax": logits[0].argmax(-1).tolist(),
                "last_routing": {str(i): {"expert_ids": r[0][0, -1].tolist(),
                                          "expert_weights": [round(float(x), 6) for x in r[1][0, -1]]}
                                 for i, r in zip(model.moe_layers(), routing)},
            })
    return rows


def check_with_onnxruntime(model: DeepSeekMini, path: Path, prompts: list[list[int]]) -> dict:
    """Logits max-abs-diff vs PyTorch, and cached incremental decoding vs a full recompute."""
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs, outputs = io_names(model)
    worst_full = worst_inc = 0.0

    def run(ids, start, past):
        feed = {"input_ids": np.array([ids], dtype=np.int64),
                "attention_mask": np.ones((1, start + len(ids)), dtype=np.int64),
                "position_ids": np.arange(start, start + len(ids), dtype=np.int64)[None]}
        feed.update(dict(zip(inputs[3:], past)))
        res = dict(zip(outputs, sess.run(outputs, feed)))
        return res["logits"][0], [res[n] for n in outputs if n.startswith("present.")]

    empty = [z.numpy() for z in model.empty_cache(1)]
    for p in prompts:
        with torch.no_grad():
            ref, _, _ = model.forward_cached(torch.tensor([p]), torch.ones(1, len(p), dtype=torch.long),
                                             torch.arange(len(p)).unsqueeze(0), model.empty_cache(1))
        full, _ = run(p, 0, empty)
        worst_full = max(worst_full, float(np.abs(full - ref[0].numpy()).max()))
        split = len(p) // 2
        first, past = run(p[:split], 0, empty)
        steps = [first]
        for t in range(split, len(p)):
            lt, past = run(p[t:t + 1], t, past)
            steps.append(lt)
        worst_inc = max(worst_inc, float(np.abs(np.concatenate(steps) - full).max()))
    return {"logits_max_abs_diff_vs_pytorch": worst_full, "incremental_vs_full_max_abs_diff": worst_inc}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fixture", type=Path, default=Path("test/fixtures/parity.json"))
    args = ap.parse_args()
    model = load(args.work)
    args.out.mkdir(parents=True, exist_ok=True)
    export(model, args.out / "model.onnx")
    onnx.save(pack(onnx.load(str(args.out / "model.onnx"))), str(args.out / "model.onnx"))
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "heldout.jsonl"):
        shutil.copy(args.work / name, args.out / name)
    cfg = model.cfg
    gen = {"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "pad_token_id": cfg.pad_token_id,
           "do_sample": False, "max_new_tokens": 400}
    (args.out / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    heldout = [json.loads(l) for l in (args.work / "heldout.jsonl").read_text().splitlines()[:4]]
    prompts = [h["prompt_ids"] for h in heldout]
    args.fixture.parent.mkdir(parents=True, exist_ok=True)
    args.fixture.write_text(json.dumps({"model": args.out.name, "rows": reference(model, prompts)}) + "\n")
    try:
        report = check_with_onnxruntime(model, args.out / "model.onnx", prompts)
        print(json.dumps(report))
        assert report["logits_max_abs_diff_vs_pytorch"] <= 1e-4, report
        assert report["incremental_vs_full_max_abs_diff"] <= 1e-4, report
    except ImportError:
        print("onnxruntime (Python) not installed: parity is checked by `npm test` against the fixture")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
