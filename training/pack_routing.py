"""Adds the packed routing output to an exported MoE Lens graph (model-contract addition, 2026-11-24).

  /usr/bin/python3 training/pack_routing.py models/moe-lens-mini/model.onnx

`routing.packed` float32 [batch, seq, L·(2k + E)] holds, for the L MoE layers in ascending order, first every
layer's k expert ids (as floats: exact below 2^24), then every layer's k gate weights, then every layer's
E router scores — copied from the per-layer `routing.{i}.*` outputs, which stay for other tools. Three
nodes (Concat the ids, Cast, Concat everything) instead of one output per layer and kind: onnxruntime
runs every node of a graph whatever is fetched, and each fetched output costs the binding a copy.
Run by export.py after every export; idempotent (an earlier packed output is replaced).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

PACKED = "routing.packed"
PREFIX = "/routing_packed/"


def pack(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    for out in [o for o in graph.output if o.name == PACKED]:
        graph.output.remove(out)
    for node in [n for n in graph.node if n.name.startswith(PREFIX)]:
        graph.node.remove(node)
    for init in [i for i in graph.initializer if i.name.startswith(PREFIX)]:
        graph.initializer.remove(init)
    outputs = {o.name: o for o in graph.output}
    layers = sorted(int(m.group(1)) for name in outputs if (m := re.fullmatch(r"routing\.(\d+)\.expert_ids", name)))
    if not layers:
        raise SystemExit("the graph has no routing.{i}.expert_ids outputs: nothing to pack")
    dims = lambda name: [d.dim_value for d in outputs[name].type.tensor_type.shape.dim]
    k, e = dims(f"routing.{layers[0]}.expert_ids")[-1], dims(f"routing.{layers[0]}.router_scores")[-1]
    ids, ids_float = f"{PREFIX}ids", f"{PREFIX}ids_float"
    graph.node.append(helper.make_node("Concat", [f"routing.{i}.expert_ids" for i in layers], [ids], name=f"{PREFIX}ConcatIds", axis=-1))
    graph.node.append(helper.make_node("Cast", [ids], [ids_float], name=f"{PREFIX}Cast", to=TensorProto.FLOAT))
    values = [f"routing.{i}.expert_weights" for i in layers] + [f"routing.{i}.router_scores" for i in layers]
    graph.node.append(helper.make_node("Concat", [ids_float, *values], [PACKED], name=f"{PREFIX}Concat", axis=-1))
    graph.output.append(helper.make_tensor_value_info(PACKED, TensorProto.FLOAT, ["batch", "seq", len(layers) * (2 * k + e)]))
    onnx.checker.check_model(model)
    return model


def main() -> None:
    path = Path(sys.argv[1])
    model = pack(onnx.load(str(path)))
    onnx.save(model, str(path))
    print(f"{path}: added {PACKED}")


if __name__ == "__main__":
    main()
