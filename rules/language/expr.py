"""A small, safe expression language for state and event conditions.

    value == 1
    value in [3, 7, 12] and not bit(value, 15)
    (value & 0x0c) != 0 or value - prev > 5
    value == "stuck"           (a state name of the metric: its number, fixed at load)

Parsed by a hand-written recursive-descent parser into closures over a
fixed set of names; nothing is ever passed to eval/exec and no Python
attribute or object is reachable. Errors carry the character offset so the
rule loader can report file:line:col.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewatch.core.states import StateNames

Env = Any  # what the name getters read from (a Mapping by default)
Fn = Callable[[Env], Any]
Getter = Callable[[Env], float]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>0x[0-9a-fA-F]+|0b[01]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)"
    r"|(?P<str>\"[^\"\n]*\"|'[^'\n]*')|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>==|!=|<=|>=|[-+*/%&|<>()\[\],]))"
)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KEYWORDS = ("and", "or", "not", "in", "true", "false")
FUNCTIONS = ("bit", "abs", "min", "max")
MAX_LENGTH = 1000
MAX_DEPTH = 50


class ExprError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num, name, op, end
    text: str
    offset: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character {text[col]!r}", col)
        kind = match.lastgroup or "op"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number(text: str) -> float:
    if text.startswith(("0x", "0X")):
        return float(int(text, 16))
    if text.startswith(("0b", "0B")):
        return float(int(text, 2))
    return float(text)


def _int(x: float) -> int:
    return int(x) if math.isfinite(x) else 0


def _bit(x: float, n: float) -> float:
    return float((_int(x) >> max(0, _int(n))) & 1)


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


def _mod(a: float, b: float) -> float:
    return a % b if b else math.nan


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _div,
    "%": _mod,
    "&": lambda a, b: float(_int(a) & _int(b)),
    "|": lambda a, b: float(_int(a) | _int(b)),
}


def _or(a: Fn, b: Fn) -> Fn:
    return lambda env: a(env) or b(env)


def _and(a: Fn, b: Fn) -> Fn:
    return lambda env: a(env) and b(env)


_AGAINST_CONSTANT: dict[str, Callable[[Fn, float], Fn]] = {
    "==": lambda f, c: lambda env: f(env) == c,
    "!=": lambda f, c: lambda env: f(env) != c,
    "<": lambda f, c: lambda env: f(env) < c,
    "<=": lambda f, c: lambda env: f(env) <= c,
    ">": lambda f, c: lambda env: f(env) > c,
    ">=": lambda f, c: lambda env: f(env) >= c,
}


def _binary(fn: Callable[[float, float], float], a: Fn, b: Fn) -> Fn:
    return lambda env: fn(a(env), b(env))


class _Parser:
    def __init__(
        self, text: str, names: Mapping[str, Getter], states: StateNames | None = None
    ) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.names = names
        self.states = states
        self.depth = 0
        self.constants: dict[Fn, float] = {}

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None) -> Token:
        tok = self.tok
        if text is not None and tok.text != text:
            found = tok.text or "end of expression"
            raise ExprError(f"expected {text!r}, found {found!r}", tok.offset)
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text in texts

    def parse(self) -> Fn:
        fn = self.or_()
        if self.tok.kind != "end":
            raise ExprError(
                f"unexpected {self.tok.text!r}; expected an operator or the end", self.tok.offset
            )
        return fn

    def nested(self, parse: Callable[[], Fn]) -> Fn:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("expression nested too deeply", self.tok.offset)
        try:
            return parse()
        finally:
            self.depth -= 1

    def or_(self) -> Fn:
        left = self.and_()
        while self.at("or"):
            self.take()
            right = self.and_()
            left = _or(left, right)
        return left

    def and_(self) -> Fn:
        left = self.not_()
        while self.at("and"):
            self.take()
            right = self.not_()
            left = _and(left, right)
        return left

    def not_(self) -> Fn:
        if self.at("not"):
            self.take()
            inner = self.nested(self.not_)
            return lambda env: not inner(env)
        return self.compare()

    def compare(self) -> Fn:
        left = self.bitor()
        if self.tok.kind == "op" and self.tok.text in _COMPARE:
            text = self.take().text
            op = _COMPARE[text]
            right = self.bitor()
            if right in self.constants:
                return _AGAINST_CONSTANT[text](left, self.constants[right])
            return lambda env: op(left(env), right(env))
        negate = self.at("not") and self.tokens[self.i + 1].text == "in"
        if negate:
            self.take()
        if self.at("in"):
            self.take()
            members = self.member_list()
            return lambda env: (left(env) in members) != negate
        return left

    def member_list(self) -> frozenset[float]:
        self.take("[")
        members = {self.signed_number()}
        while self.at(","):
            self.take()
            members.add(self.signed_number())
        self.take("]")
        return frozenset(members)

    def signed_number(self) -> float:
        sign = -1.0 if self.at("-") and self.take() else 1.0
        tok = self.take()
        if tok.kind == "str":
            return sign * self.state(tok)
        if tok.kind != "num":
            raise ExprError(f"a list after 'in' holds numbers, found {tok.text!r}", tok.offset)
        return sign * _number(tok.text)

    def state(self, tok: Token) -> float:
        """A state name ("stuck") -> the number it stands for in this rule's metric."""
        name = tok.text[1:-1]
        if self.states is None:
            raise ExprError(
                f"{tok.text} is a state name, but the selected metric has none; name its states "
                "in its payload mapping (values: / names:) or compare with a number",
                tok.offset,
            )
        number = self.states.number(name)
        if number is None:
            raise ExprError(_unknown(name, self.states.known, "state"), tok.offset)
        return number

    def binary(self, ops: tuple[str, ...], operand: Callable[[], Fn]) -> Fn:
        left = operand()
        while self.tok.kind == "op" and self.tok.text in ops:
            fn = _ARITH[self.take().text]
            right = operand()
            left = _binary(fn, left, right)
        return left

    def bitor(self) -> Fn:
        return self.binary(("|",), self.bitand)

    def bitand(self) -> Fn:
        return self.binary(("&",), self.sum)

    def sum(self) -> Fn:
        return self.binary(("+", "-"), self.term)

    def term(self) -> Fn:
        return self.binary(("*", "/", "%"), self.unary)

    def unary(self) -> Fn:
        if self.at("-"):
            self.take()
            inner = self.nested(self.unary)
            return lambda env: -inner(env)
        return self.atom()

    def atom(self) -> Fn:
        tok = self.take()
        if tok.kind in ("num", "str"):
            number = _number(tok.text) if tok.kind == "num" else self.state(tok)
            fn: Fn = lambda env: number  # noqa: E731
            self.constants[fn] = number
            return fn
        if tok.text == "(":
            inner = self.nested(self.or_)
            self.take(")")
            return inner
        if tok.kind == "name":
            return self.name(tok)
        found = tok.text or "end of expression"
        raise ExprError(f"expected a number, a name or '(', found {found!r}", tok.offset)

    def name(self, tok: Token) -> Fn:
        if tok.text in ("true", "false"):
            constant = 1.0 if tok.text == "true" else 0.0
            return lambda env: constant
        if self.at("("):
            return self.call(tok)
        getter = self.names.get(tok.text)
        if getter is None:
            raise ExprError(_unknown(tok.text, tuple(self.names), "name"), tok.offset)
        return getter

    def call(self, tok: Token) -> Fn:
        if tok.text not in FUNCTIONS:
            raise ExprError(_unknown(tok.text, FUNCTIONS, "function"), tok.offset)
        self.take("(")
        args = [self.nested(self.or_)]
        while self.at(","):
            self.take()
            args.append(self.nested(self.or_))
        self.take(")")
        if tok.text == "bit" and len(args) == 2 and args[1] in self.constants:
            return _bit_constant(args[0], self.constants[args[1]])
        return _function(tok, args)


def _bit_constant(x: Fn, n: float) -> Fn:
    mask = 1 << max(0, _int(n)) if n < 64 else 0
    isfinite = math.isfinite

    def bit(env: Env) -> bool:
        v = x(env)
        return isfinite(v) and (int(v) & mask) != 0

    return bit


def _function(tok: Token, args: list[Fn]) -> Fn:
    want = {"bit": 2, "abs": 1}.get(tok.text)
    if (want is not None and len(args) != want) or len(args) > 8:
        raise ExprError(f"{tok.text}() takes {want} argument(s), got {len(args)}", tok.offset)
    if tok.text == "bit":
        x, n = args
        return lambda env: _bit(x(env), n(env))
    if tok.text == "abs":
        (x,) = args
        return lambda env: abs(x(env))
    pick = min if tok.text == "min" else max
    return lambda env: pick(a(env) for a in args)


def _unknown(name: str, known: tuple[str, ...], what: str) -> str:
    hint = difflib.get_close_matches(name, known, n=1)
    fix = f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(known)}"
    return f"unknown {what} {name!r}; {fix}"


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    fn: Fn

    def __call__(self, env: Env) -> bool:
        return bool(self.fn(env))


def _lookup(key: str) -> Getter:
    return lambda env: env[key]


def compile_expression(
    text: str, names: tuple[str, ...] | Mapping[str, Getter], states: StateNames | None = None
) -> Expression:
    """Parse ``text``; raise ExprError (with offset) if it is not valid.

    ``names`` are the variables: a tuple of keys read from a Mapping env, or a
    mapping of name -> getter (a function of the env object). ``states``: the
    metric's state names, for ``value == "stuck"``.
    """
    if isinstance(names, tuple):
        names = {name: _lookup(name) for name in names}
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters", 0)
    if not text.strip():
        raise ExprError("empty expression; write a condition such as 'value == 1'", 0)
    for word in _KEYWORDS:
        if word in names:
            raise ExprError(f"{word!r} is reserved", 0)
    return Expression(text, _Parser(text, names, states).parse())
