"""A fresh test set for the shipped checkpoint: programs from a seed no training or held-out run used.

    /usr/bin/python3 training/make_testset.py [--n 600] [--out models/moe-lens-mini/testset.jsonl]

Excludes every program of the held-out set and of both training stages (seed 7, 250,000 samples; seed 8,
300,000; see logs/), so none was seen in training or used while developing. Rows have heldout.jsonl's format;
`prompt_ids` come from the model's tokenizer.json through a small byte-level BPE written here (no PyTorch or
`tokenizers` needed), checked against heldout.jsonl's ids before anything is written.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from data import HELDOUT_SEED, SPECIAL, heldout, prompt_text, training_samples  # noqa: E402
from programs import sample  # noqa: E402

# never used in training/: data.py's HELDOUT_SEED 20261122 and TRAIN_SEED 7, stage 2's --data-seed 8
TESTSET_SEED = 20270417
TRAINING_RUNS = [(7, 250_000), (8, 300_000)]  # (data seed, train samples) of stages 1 and 2
ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "moe-lens-mini"


def _byte_chars() -> dict[int, str]:
    """GPT-2's byte → printable character map, which byte-level BPE vocabularies are written in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


# GPT-2's split, for ASCII text (the programs are ASCII); digits are split one per piece before it
_WORDS = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


class Bpe:
    def __init__(self, tokenizer_json: Path):
        t = json.loads(tokenizer_json.read_text())
        self.vocab: dict[str, int] = t["model"]["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in t["model"]["merges"]]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.bytes = _byte_chars()
        self.special = re.compile("(" + "|".join(re.escape(s) for s in SPECIAL) + ")")

    def _word(self, word: str) -> list[int]:
        parts = [self.bytes[b] for b in word.encode("utf-8")]
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 60), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 60:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return [self.vocab[p] for p in parts]

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for chunk in self.special.split(text):
            if chunk in SPECIAL:
                ids.append(SPECIAL.index(chunk))
                continue
            for piece in re.split(r"([0-9])", chunk):
                for word in _WORDS.findall(piece):
                    ids.extend(self._word(word))
        return ids


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=600, help="programs (heldout.jsonl has 600)")
    p.add_argument("--seed", type=int, default=TESTSET_SEED)
    p.add_argument("--out", type=Path, default=MODEL / "testset.jsonl")
    args = p.parse_args()
    used = {TESTSET_SEED: None, HELDOUT_SEED: "held-out", **{s: "training" for s, _ in TRAINING_RUNS}}
    if used.get(args.seed):
        sys.exit(f"seed {args.seed} made the {used[args.seed]} programs; pick another")

    bpe = Bpe(MODEL / "tokenizer.json")
    shipped = [json.loads(line) for line in (MODEL / "heldout.jsonl").read_text().splitlines() if line.strip()]
    for row in shipped:
        assert bpe.encode(prompt_text(row["program"])) == row["prompt_ids"], f"BPE disagrees on {row['program']!r}"

    held = heldout(len(shipped))
    assert [s["program"] for s in held] == [r["program"] for r in shipped], "data.py no longer makes heldout.jsonl"
    exclude = {s["program"] for s in held}
    seen = set(exclude)
    for seed, n in TRAINING_RUNS:
        seen.update(s["program"] for s in training_samples(n, exclude, seed))
    print(f"excluding {len(seen)} distinct programs (held-out and training)", file=sys.stderr)

    rng = random.Random(args.seed)
    out, drawn = [], 0
    while len(out) < args.n:
        s = sample(rng)
        drawn += 1
        if s["program"] in seen:
            continue
        seen.add(s["program"])
        out.append(dict(s, prompt_ids=bpe.encode(prompt_text(s["program"]))))
    with args.out.open("w") as f:
        for row in out:
            f.write(json.dumps(row) + "\n")
    print(f"wrote {len(out)} programs to {args.out} ({drawn - len(out)} of {drawn} drawn were seen before)", file=sys.stderr)


if __name__ == "__main__":
    main()
