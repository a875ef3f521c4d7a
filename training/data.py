"""Corpus, prompt format, held-out set and the BPE tokenizer."""
from __future__ import annotations

import json
import random
from pathlib import Path

from programs import sample

BOS, EOS, PAD = "<|begin|>", "<|end|>", "<|pad|>"
USER, ASSISTANT = "<|user|>", "<|assistant|>"
THINK, END_THINK = "<think>", "</think>"
SPECIAL = [BOS, EOS, PAD, USER, ASSISTANT, THINK, END_THINK]  # ids 0..6, in this order
HELDOUT_SEED = 20261122
TRAIN_SEED = 7


def prompt_text(program: str) -> str:
    """What the model is given; generation continues from here."""
    return f"{BOS}{USER}\n{program}\n{ASSISTANT}\n"


def completion_text(think: str, answer: str) -> str:
    return f"{THINK}\n{think}\n{END_THINK}\n{answer}{EOS}"


def heldout(n: int) -> list[dict]:
    rng = random.Random(HELDOUT_SEED)
    seen, out = set(), []
    while len(out) < n:
        s = sample(rng)
        if s["program"] not in seen:
            seen.add(s["program"])
            out.append(s)
    return out


def training_samples(n: int, exclude: set[str], seed: int = TRAIN_SEED) -> list[dict]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = sample(rng)
        if s["program"] not in exclude:
            out.append(s)
    return out


def train_tokenizer(texts: list[str], vocab_size: int):
    """Byte-level BPE with digits split one per token (arithmetic stays digit-wise)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    for i, s in enumerate(SPECIAL):
        assert tok.token_to_id(s) == i, s
    return tok


def write_tokenizer_files(tok, out: Path, max_len: int) -> None:
    tok.save(str(out / "tokenizer.json"))
    added = {str(i): {"content": s, "lstrip": False, "rstrip": False, "normalized": False,
                      "single_word": False, "special": True} for i, s in enumerate(SPECIAL)}
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS, "eos_token": EOS, "pad_token": PAD,
        "add_bos_token": False, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": max_len,
        "added_tokens_decoder": added,
        "think_start_token": THINK, "think_end_token": END_THINK,
        "prompt_template": prompt_text("{program}"),
    }
    (out / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def write_heldout(samples: list[dict], path: Path, tok) -> None:
    with path.open("w") as f:
        for s in samples:
            row = dict(s, prompt_ids=tok.encode(prompt_text(s["program"])).ids)
            f.write(json.dumps(row) + "\n")
