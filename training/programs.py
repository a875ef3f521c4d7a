"""Tiny Python-like programs and their step-by-step execution traces.

Each sample is (program, think, answer):
  program  the source, one statement per line, 4-space indentation;
  think    one step per executed line: its number and text, the values it reads, what it computes;
  answer   what the program prints, one line per print.
The interpreter here is the ground truth: no Python `exec`, only the grammar generated below.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = ["a", "b", "c", "d", "n", "m", "k", "t", "x", "y", "z", "total", "count", "acc"]
OPS = ["+", "-", "*", "//", "%"]
CMPS = ["<", ">", "<=", ">=", "==", "!="]
VALUE_LIMIT = 999  # every value stays within [-999, 999]


class Reject(Exception):
    """The random program left the supported value range; draw another."""


@dataclass
class Line:
    indent: int
    text: str


def _binop(op: str, u: int, w: int) -> int:
    if op == "+":
        r = u + w
    elif op == "-":
        r = u - w
    elif op == "*":
        if min(abs(u), abs(w)) > 12:
            raise Reject()
        r = u * w
    elif op in ("//", "%"):
        if u < 0 or w <= 0:
            raise Reject()
        r = u // w if op == "//" else u % w
    else:
        raise ValueError(op)
    if abs(r) > VALUE_LIMIT:
        raise Reject()
    return r


def _cmp(op: str, u: int, w: int) -> bool:
    return {"<": u < w, ">": u > w, "<=": u <= w, ">=": u >= w, "==": u == w, "!=": u != w}[op]


class _Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list[Line] = []
        self.defined: list[str] = []
        self.loop_vars: list[str] = []

    def operand(self) -> str:
        r = self.rng
        pool = self.defined + self.loop_vars
        if pool and r.random() < 0.7:
            return r.choice(pool)
        return str(r.randint(0, 12))

    def target(self) -> str:
        r = self.rng
        if self.defined and r.random() < 0.4:
            return r.choice(self.defined)
        name = r.choice(NAMES)
        return name

    def assign(self, indent: int) -> None:
        r = self.rng
        tgt = self.target()
        kind = r.random()
        if not self.defined and not self.loop_vars or kind < 0.15:
            text = f"{tgt} = {r.randint(0, 20)}"
        elif kind < 0.3 and tgt in self.defined:
            op = r.choice(["+=", "-=", "*="])
            val = str(r.randint(1, 9)) if r.random() < 0.6 else self.operand()
            text = f"{tgt} {op} {val}"
        else:
            op = r.choice(OPS)
            left = self.operand()
            right = str(r.randint(2, 9)) if op in ("//", "%", "*") and r.random() < 0.7 else self.operand()
            text = f"{tgt} = {left} {op} {right}"
        self.lines.append(Line(indent, text))
        if tgt not in self.defined:
            self.defined.append(tgt)

    def block(self, indent: int, budget: int, allow_compound: bool) -> None:
        for _ in range(budget):
            r = self.rng.random()
            if allow_compound and self.defined and r < 0.2:
                self.if_stmt(indent)
            elif allow_compound and r < 0.32:
                self.for_stmt(indent)
            else:
                self.assign(indent)

    def if_stmt(self, indent: int) -> None:
        r = self.rng
        cond = f"{r.choice(self.defined)} {r.choice(CMPS)} {self.operand()}"
        self.lines.append(Line(indent, f"if {cond}:"))
        saved = list(self.defined)
        self.block(indent + 1, r.randint(1, 2), allow_compound=False)
        if r.random() < 0.6:
            self.lines.append(Line(indent, "else:"))
            self.defined = list(saved)
            self.block(indent + 1, r.randint(1, 2), allow_compound=False)
        # a name first assigned inside a branch may be undefined afterwards: only older names stay usable
        self.defined = saved

    def for_stmt(self, indent: int) -> None:
        r = self.rng
        var = r.choice(["i", "j"])
        self.lines.append(Line(indent, f"for {var} in range({r.randint(1, 4)}):"))
        self.loop_vars.append(var)
        saved = list(self.defined)
        self.block(indent + 1, r.randint(1, 2), allow_compound=r.random() < 0.3)
        self.loop_vars.pop()
        self.defined = saved

    def program(self) -> list[Line]:
        r = self.rng
        self.block(0, r.randint(2, 5), allow_compound=True)
        if not self.defined:
            self.assign(0)
        for name in r.sample(self.defined, k=min(len(self.defined), r.randint(1, 2))):
            self.lines.append(Line(0, f"print({name})"))
        return self.lines


def _value(tok: str, env: dict[str, int]) -> int:
    if tok.lstrip("-").isdigit():
        return int(tok)
    if tok not in env:
        raise Reject()
    return env[tok]


def _reads(names: list[str], env: dict[str, int]) -> str:
    """`a=5 b=3`: the current value of each variable a line reads, in order, each once."""
    seen = []
    for n in names:
        if not n.lstrip("-").isdigit() and n not in seen:
            seen.append(n)
    return " ".join(f"{n}={_value(n, env)}" for n in seen)


def _step(no: int, text: str, *parts: str) -> str:
    return " ; ".join([f"L{no}: {text}", *[p for p in parts if p]])


def execute(lines: list[Line], max_steps: int = 40) -> tuple[list[str], list[str]]:
    """Runs the program; returns (steps, printed lines). Raises Reject when out of range.

    A step is `L<n>: <line> ; <reads> ; <computation> ; <target>=<value>`. Every `name=value`
    (written without spaces, unlike the program's own `name = ...`) holds that variable's value
    at that point, so the latest one is always the current value.
    """
    env: dict[str, int] = {}
    steps: list[str] = []
    out: list[str] = []

    def run_block(start: int, end: int) -> None:
        i = start
        while i < end:
            line = lines[i]
            body_end = i + 1
            while body_end < end and lines[body_end].indent > line.indent:
                body_end += 1
            text, no = line.text, i + 1
            if text.startswith("if "):
                a, op, b = text[3:-1].split(" ")
                u, w = _value(a, env), _value(b, env)
                ok = _cmp(op, u, w)
                steps.append(_step(no, text, _reads([a, b], env), f"{u} {op} {w} = {ok}"))
                has_else = body_end < end and lines[body_end].text == "else:" and lines[body_end].indent == line.indent
                else_end = body_end + 1
                if has_else:
                    while else_end < end and lines[else_end].indent > line.indent:
                        else_end += 1
                if ok:
                    run_block(i + 1, body_end)
                elif has_else:
                    run_block(body_end + 1, else_end)
                i = else_end if has_else else body_end
                continue
            if text.startswith("for "):
                var = text.split(" ")[1]
                count = int(text[text.index("(") + 1:text.index(")")])
                for v in range(count):
                    env[var] = v
                    steps.append(_step(no, text, f"{var}={v}"))
                    run_block(i + 1, body_end)
                i = body_end
                continue
            if text.startswith("print("):
                name = text[6:-1]
                out.append(str(_value(name, env)))
                steps.append(_step(no, text, _reads([name], env)))
            else:
                parts = text.split(" ")
                tgt = parts[0]
                if parts[1] == "=" and len(parts) == 3:
                    val = _value(parts[2], env)
                    steps.append(_step(no, text, _reads([parts[2]], env), f"{tgt}={val}"))
                else:
                    if parts[1] == "=":
                        left, op, right = parts[2], parts[3], parts[4]
                    else:
                        left, op, right = tgt, parts[1][0], parts[2]
                    u, w = _value(left, env), _value(right, env)
                    val = _binop(op, u, w)
                    steps.append(_step(no, text, _reads([left, right], env), f"{u} {op} {w} = {val}", f"{tgt}={val}"))
                env[tgt] = val
            if len(steps) > max_steps:
                raise Reject()
            i += 1

    run_block(0, len(lines))
    return steps, out


def render(lines: list[Line]) -> str:
    return "\n".join("    " * l.indent + l.text for l in lines)


def sample(rng: random.Random) -> dict[str, str]:
    """One program with its trace and answer, drawn until it executes within range."""
    while True:
        lines = _Gen(rng).program()
        try:
            steps, out = execute(lines)
        except Reject:
            continue
        if not out or len(steps) > 24:
            continue
        return {"program": render(lines), "think": "\n".join(steps), "answer": "\n".join(out)}
