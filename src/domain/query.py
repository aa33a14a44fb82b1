"""The query language over executions (docs/query.md): one grammar, one parser, one printer.

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | primary
    primary    := "(" expr ")" | field predicate
    predicate  := op value | "in" "(" value ("," value)* ")" | "like" value | "exists"
    op         := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := number | 'string' | "string" | word | true | false

A word on the right of an operator is a string (`status = succeeded`, `started >= 2024-05-01`),
unless it reads as a number. Keywords are case-insensitive. A field name part that is not a
plain word is quoted in backticks: params.`learning rate`.

The tree is frozen dataclasses; `to_text` prints it so that parsing the text gives the same
tree. Errors name the 1-based position and what was expected.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Literal, Union

from .errors import DomainError

Value = Union[str, int, float, bool]  # noqa: UP007 (a runtime alias)
Op = Literal["=", "!=", "<", "<=", ">", ">="]
OPS: tuple[Op, ...] = ("=", "!=", "<", "<=", ">", ">=")

# Fields whose name follows a prefix: params.dt, config.box.size, metrics.loss.min, tags.team.
NAMED_KINDS = ("params", "config", "metrics", "tags")
METRIC_AGGREGATES = ("last", "min", "max", "step")
# Fields without a name, with their type (what a literal compares as).
SCALAR_FIELDS: dict[str, str] = {
    "status": "text",
    "case": "text",
    "group": "text",
    "namespace": "text",
    "canonical": "bool",
    "started": "time",
    "ended": "time",
    "duration": "number",
    "change_count": "number",
    "parent": "text",
    "code.commit": "text",
    "code.dirty": "bool",
    "input.sha256": "text",
    "output.sha256": "text",
    "artifact.sha256": "text",
    "reused": "bool",  # restored a succeeded execution's outputs instead of running
    "reused_from": "text",  # namespace/case/execution_id of that original
    "reuse_key": "text",
}
KEYWORDS = frozenset({"and", "or", "not", "in", "like", "exists", "true", "false"})
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PLAIN_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_\-/:@]*|\d+")
_WORD_STOP = frozenset(" \t\r\n(),=!<>'\"`")


class QueryError(DomainError):
    """A malformed expression or an unknown field, with where (1-based) and what was expected."""

    def __init__(self, position: int, message: str) -> None:
        self.position = position
        self.message = message
        super().__init__(f"at position {position}: {message}")


# -- the tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """`kind` is a named kind (params, config, metrics, tags) or a scalar field name."""

    kind: str
    name: str = ""
    aggregate: str = ""  # metrics only: last (the default), min, max or step
    pos: int = field(default=0, compare=False, repr=False)

    @property
    def type(self) -> str:
        """What a literal compares as: text, number, time, bool, or value (typed by the literal)."""
        if self.kind == "metrics":
            return "number"
        return SCALAR_FIELDS.get(self.kind, "value")


@dataclass(frozen=True)
class Compare:
    field: Field
    op: Op
    value: Value


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Like:
    field: Field
    pattern: str


@dataclass(frozen=True)
class Exists:
    field: Field


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


Expr = Union[Compare, In, Like, Exists, Not, And, Or]  # noqa: UP007


def fields_of(expr: Expr) -> list[Field]:
    """Every field the expression names, in order."""
    if isinstance(expr, And | Or):
        return [*fields_of(expr.left), *fields_of(expr.right)]
    if isinstance(expr, Not):
        return fields_of(expr.operand)
    return [expr.field]


# -- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # op, lparen, rparen, comma, string, word, end
    text: str
    pos: int  # 1-based
    parts: tuple[str, ...] = ()  # a word's dotted parts, backtick quotes removed


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            kind = {"(": "lparen", ")": "rparen", ",": "comma"}[c]
            tokens.append(Token(kind, c, i + 1))
            i += 1
        elif c in "=!<>":
            two = text[i : i + 2]
            if two in ("!=", "<=", ">="):
                tokens.append(Token("op", two, i + 1))
                i += 2
            elif c == "!":
                raise QueryError(i + 1, "expected '!=' ('!' alone is not an operator)")
            else:
                tokens.append(Token("op", c, i + 1))
                i += 1
        elif c in "'\"":
            end, value = _quoted(text, i, c)
            tokens.append(Token("string", value, i + 1))
            i = end
        else:
            start = i
            parts: list[str] = []
            part = ""
            while i < n and (text[i] not in _WORD_STOP or text[i] == "`"):
                if text[i] == "`":
                    i, quoted = _quoted(text, i, "`")
                    part += quoted
                    continue
                if text[i] == ".":
                    parts.append(part)
                    part = ""
                else:
                    part += text[i]
                i += 1
            parts.append(part)
            tokens.append(Token("word", text[start:i], start + 1, tuple(parts)))
    tokens.append(Token("end", "", n + 1))
    return tokens


def _quoted(text: str, start: int, quote: str) -> tuple[int, str]:
    """The end index and value of a quoted string; a doubled quote stands for itself."""
    out, i = [], start + 1
    while i < len(text):
        if text[i] == quote:
            if text[i + 1 : i + 2] == quote:
                out.append(quote)
                i += 2
                continue
            return i + 1, "".join(out)
        out.append(text[i])
        i += 1
    raise QueryError(len(text) + 1, f"expected a closing {quote} for the one at {start + 1}")


# -- parser -----------------------------------------------------------------------------------
def parse(text: str) -> Expr:
    """The expression's tree; QueryError when it is malformed or names an unknown field."""
    parser = _Parser(tokenize(text))
    if parser.peek().kind == "end":
        raise QueryError(1, "expected an expression (e.g. params.dt = 0.5)")
    expr = parser.expression()
    tok = parser.peek()
    if tok.kind != "end":
        raise QueryError(tok.pos, f"expected 'and', 'or' or the end, found {tok.text!r}")
    return expr


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.keyword("or"):
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.keyword("and"):
            left = And(left, self.negation())
        return left

    def negation(self) -> Expr:
        if self.keyword("not"):
            return Not(self.negation())
        return self.primary()

    def primary(self) -> Expr:
        tok = self.peek()
        if tok.kind == "lparen":
            self.take()
            expr = self.expression()
            close = self.take()
            if close.kind != "rparen":
                raise QueryError(close.pos, f"expected ')' for the '(' at {tok.pos}{_found(close)}")
            return expr
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise QueryError(tok.pos, f"expected a field (e.g. params.dt, status){_found(tok)}")
        self.take()
        return self.predicate(field_named(tok.parts, tok.pos, tok.text))

    def predicate(self, fld: Field) -> Expr:
        tok = self.take()
        if tok.kind == "op":
            return Compare(fld, tok.text, self.value())  # type: ignore[arg-type]
        word = tok.text.lower() if tok.kind == "word" else ""
        if word == "in":
            opening = self.take()
            if opening.kind != "lparen":
                raise QueryError(opening.pos, f"expected '(' after 'in'{_found(opening)}")
            values = [self.value()]
            while self.peek().kind == "comma":
                self.take()
                values.append(self.value())
            close = self.take()
            if close.kind != "rparen":
                raise QueryError(close.pos, f"expected ',' or ')' in the list{_found(close)}")
            return In(fld, tuple(values))
        if word == "like":
            pattern_at = self.peek()
            pattern = self.value()
            if not isinstance(pattern, str) or isinstance(pattern, bool):
                raise QueryError(pattern_at.pos, "expected a quoted pattern after 'like'")
            return Like(fld, pattern)
        if word == "exists":
            return Exists(fld)
        raise QueryError(
            tok.pos,
            f"expected an operator (=, !=, <, <=, >, >=, in, like, exists) after "
            f"{to_text_field(fld)}{_found(tok)}",
        )

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "string":
            return tok.text
        if tok.kind == "word" and tok.text.lower() not in KEYWORDS - {"true", "false"}:
            lowered = tok.text.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if NUMBER.fullmatch(tok.text):
                return _number(tok.text, tok.pos)
            if "`" in tok.text:
                raise QueryError(tok.pos, "expected a value; quote strings with ' or \"")
            return tok.text
        raise QueryError(
            tok.pos, f"expected a value (a number, a quoted string or a word){_found(tok)}"
        )


def _number(text: str, pos: int) -> int | float:
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise QueryError(pos, f"expected a finite number, found {text!r}")
    return value


def _found(tok: Token) -> str:
    return ", found the end" if tok.kind == "end" else f", found {tok.text!r}"


def field_named(parts: tuple[str, ...], pos: int, text: str | None = None) -> Field:
    """The field a dotted name stands for; QueryError (with suggestions) when unknown."""
    dotted = ".".join(parts)
    if dotted in SCALAR_FIELDS:
        return Field(dotted, pos=pos)
    kind, rest = parts[0], parts[1:]
    if kind in NAMED_KINDS and rest and all(rest):
        if kind == "metrics":
            if len(rest) > 1 and rest[-1] in METRIC_AGGREGATES:
                return Field(kind, ".".join(rest[:-1]), rest[-1], pos=pos)
            return Field(kind, ".".join(rest), "last", pos=pos)
        return Field(kind, ".".join(rest), pos=pos)
    shown = text if text is not None else dotted
    known = [*SCALAR_FIELDS, *(f"{k}.{parts[-1] or 'X'}" for k in NAMED_KINDS)]
    close = difflib.get_close_matches(dotted, known, n=1)
    if close:
        raise QueryError(pos, f"unknown field {shown!r}; did you mean {close[0]}?")
    raise QueryError(
        pos,
        f"unknown field {shown!r}: expected params.X, config.X, metrics.X, tags.X or one of "
        "status, case, group, namespace, canonical, started, ended, duration, … (docs/query.md)",
    )


def parse_field(text: str) -> Field:
    """One field name alone (an order or a column), as the parser reads it."""
    tokens = tokenize(text)
    if len(tokens) != 2 or tokens[0].kind != "word":
        raise QueryError(1, f"expected a field name (e.g. metrics.loss), found {text!r}")
    return field_named(tokens[0].parts, 1, text)


# -- printer ----------------------------------------------------------------------------------
def to_text(expr: Expr) -> str:
    """The expression as text that parses back to the same tree."""
    if isinstance(expr, And | Or):
        word = "and" if isinstance(expr, And) else "or"
        return f"{_child(expr.left)} {word} {_child(expr.right)}"
    if isinstance(expr, Not):
        return f"not {_child(expr.operand)}"
    name = to_text_field(expr.field)
    if isinstance(expr, Compare):
        return f"{name} {expr.op} {value_text(expr.value)}"
    if isinstance(expr, In):
        return f"{name} in ({', '.join(value_text(v) for v in expr.values)})"
    if isinstance(expr, Like):
        return f"{name} like {value_text(expr.pattern)}"
    return f"{name} exists"


def _child(expr: Expr) -> str:
    text = to_text(expr)
    return f"({text})" if isinstance(expr, And | Or) else text


def to_text_field(fld: Field) -> str:
    if fld.kind not in NAMED_KINDS:
        return fld.kind
    parts = [fld.kind, *fld.name.split(".")]
    if fld.kind == "metrics" and (fld.aggregate != "last" or parts[-1] in METRIC_AGGREGATES):
        parts.append(fld.aggregate)
    return ".".join(
        p if _PLAIN_PART.fullmatch(p) else "`" + p.replace("`", "``") + "`" for p in parts
    )


def value_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"
