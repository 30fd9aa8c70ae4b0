"""The spec's grammar, declared once: it both checks a parsed file and prints the JSON Schema editors use.

Each node checks one value, reports every problem with its position and field path, and returns the
converted value (or ``INVALID``). Checks that span fields (duplicate names, buckets against thresholds)
live in ``slokit.spec.load``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from slokit.promql import is_label_name
from slokit.spec.redact import looks_secret
from slokit.spec.units import Duration, UnitError, parse_ratio
from slokit.spec.yamlpos import Pos, PosDict, PosList

JSON = dict[str, Any]


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass
class Problem:
    pos: Pos
    path: str
    message: str


@dataclass
class Ctx:
    """Collects problems while a document is checked."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, pos: Pos, path: str, message: str) -> Any:
        self.problems.append(Problem(pos, path, message))
        return INVALID


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def key_text(key: object) -> str:
    """A mapping key as a field path shows it: a key that looks like a secret is replaced."""
    text = str(key)
    return "<key not shown>" if looks_secret(text) else text


def _show(value: object) -> str:
    """A short rendering of a user value for a message (long strings are cut, never echoed whole; a value
    that looks like a secret is not shown at all)."""
    if isinstance(value, str) and looks_secret(value):
        return "a value that looks like a secret (not shown)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Node:
    description: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        raise NotImplementedError

    def schema(self) -> JSON:
        raise NotImplementedError

    def _doc(self, out: JSON) -> JSON:
        if self.description:
            out["description"] = self.description
        return out


@dataclass
class Str(Node):
    description: str = ""
    pattern: str | None = None
    hint: str = ""
    allow_numbers: bool = False
    validate: Callable[[str], str | None] | None = None

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if self.allow_numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            quote = " (quote it)" if self.allow_numbers or isinstance(value, bool | int | float) else ""
            return ctx.error(pos, path, f"must be a string{quote}, got {_type_name(value)}")
        if not value.strip():
            return ctx.error(pos, path, "must not be empty")
        if self.pattern and not re.fullmatch(self.pattern, value):
            return ctx.error(pos, path, f"{self.hint or 'must match ' + self.pattern}, got {_show(value)}")
        if self.validate and (msg := self.validate(value)):
            return ctx.error(pos, path, msg)
        return value

    def schema(self) -> JSON:
        out: JSON = {"type": ["string", "number"]} if self.allow_numbers else {"type": "string", "minLength": 1}
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern})$"
        return self._doc(out)


@dataclass
class Bool(Node):
    description: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if not isinstance(value, bool):
            return ctx.error(pos, path, f"must be true or false, got {_type_name(value)}")
        return value

    def schema(self) -> JSON:
        return self._doc({"type": "boolean"})


@dataclass
class Int(Node):
    description: str = ""
    minimum: int = 0
    maximum: int | None = None

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return ctx.error(pos, path, f"must be a whole number, got {_type_name(value)}")
        if value < self.minimum:
            return ctx.error(pos, path, f"must be at least {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            return ctx.error(pos, path, f"must be at most {self.maximum}, got {value}")
        return value

    def schema(self) -> JSON:
        out: JSON = {"type": "integer", "minimum": self.minimum}
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return self._doc(out)


@dataclass
class Objective(Node):
    description: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        number: Fraction | None = None
        explicit_percent = False
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                return ctx.error(pos, path, f"must be a finite number, got {value}")
            number = Fraction(str(value))
        elif isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", value)):
            number, explicit_percent = Fraction(m.group(1)), bool(m.group(2))
        if number is None:
            return ctx.error(pos, path, f"must be a percentage number like 99.5, got {_type_name(value)}")
        if not 0 < number <= 100:
            return ctx.error(pos, path, f"must be between 0 and 100 (exclusive of 0), got {_show(value)}"
                             + _objective_hint(number))
        if number <= 1 and not explicit_percent:
            meant = f"{float(number * 100):g}"
            return ctx.error(pos, path, f"is a percentage, so {value} means {value} % of events good; did you mean "
                             f"{meant} (a fraction, as OpenSLO's target writes it)? Write {meant}, or "
                             f"'{value}%' if you do mean {value} %")
        return number / 100

    def schema(self) -> JSON:
        return self._doc(
            # A number of 1 or less is refused (it is a fraction meant as a percentage): "0.999%" says so.
            {"oneOf": [{"type": "number", "exclusiveMinimum": 1, "maximum": 100},
                       {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%?\s*$"}]}
        )


def _objective_hint(number: Fraction) -> str:
    """``999`` -> " (did you mean 99.9?)": a nines objective written without its decimal point."""
    digits = str(number.numerator)
    if number.denominator != 1 or not digits.startswith("9") or len(digits) < 3:
        return ""
    return f" (did you mean {digits[:2]}.{digits[2:]}?)"


@dataclass
class PositiveNumber(Node):
    """A finite number above zero (a burn-rate factor such as 1 or 2.5), kept as an exact Fraction."""

    description: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ctx.error(pos, path, f"must be a number, got {_type_name(value)}")
        if not math.isfinite(value) or value <= 0:
            return ctx.error(pos, path, f"must be a number above 0, got {_show(value)}")
        return Fraction(str(value))

    def schema(self) -> JSON:
        return self._doc({"type": "number", "exclusiveMinimum": 0})


DURATION_PATTERN = r"(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?"


@dataclass
class DurationNode(Node):
    description: str = ""
    positive: bool = False
    minimum: Duration | None = None
    maximum: Duration | None = None
    #: Why the maximum holds, added to its message.
    maximum_why: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if not isinstance(value, str):
            return ctx.error(
                pos, path, f"must be a duration with a unit like 5m, 1h or 30d, got {_type_name(value)} {_show(value)}"
            )
        try:
            d = Duration.parse(value.strip())
        except UnitError as exc:
            return ctx.error(pos, path, str(exc))
        if self.positive and d.ms == 0:
            return ctx.error(pos, path, "must be a positive duration, got 0")
        if self.minimum is not None and d < self.minimum:
            return ctx.error(pos, path, f"must be at least {self.minimum}, got {d}")
        if self.maximum is not None and d > self.maximum:
            why = f": {self.maximum_why}" if self.maximum_why else ""
            return ctx.error(pos, path, f"must be at most {self.maximum}, got {d}{why}")
        return d

    def schema(self) -> JSON:
        return self._doc({"type": "string", "pattern": f"^{DURATION_PATTERN}$", "minLength": 2})


@dataclass
class Ratio(Node):
    """A share of events: ``'1%'`` or a fraction such as 0.01, strictly between 0 and 100 %."""

    description: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        try:
            ratio = parse_ratio(value, what="value")
        except UnitError as exc:
            return ctx.error(pos, path, str(exc))
        if not 0 < ratio < 1:
            return ctx.error(pos, path, f"must be between 0 % and 100 % (exclusive), got {_show(value)}")
        return ratio

    def schema(self) -> JSON:
        return self._doc(
            {"oneOf": [{"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|\.\d+)\s*%\s*$"},
                       {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}]}
        )


@dataclass
class Choice(Node):
    options: tuple[str, ...] = ()
    description: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if value not in self.options:
            return ctx.error(pos, path, f"must be one of {', '.join(self.options)}, got {_show(value)}")
        return value

    def schema(self) -> JSON:
        return self._doc({"enum": list(self.options)})


@dataclass
class LabelMap(Node):
    """Prometheus label names to string values."""

    description: str = ""
    reserved: frozenset[str] = frozenset()
    #: The values become alert labels, which Prometheus expands as Go templates.
    templated: bool = False

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if not isinstance(value, PosDict):
            return ctx.error(pos, path, f"must be a mapping of label names to values, got {_type_name(value)}")
        out: dict[str, str] = {}
        for key, item in value.items():
            kpos, vpos, kpath = value.key_pos[key], value.value_pos[key], join(path, key_text(key))
            if not isinstance(key, str) or not is_label_name(key):
                ctx.error(kpos, kpath, f"{_show(key)} is not a valid Prometheus label name "
                          "(letters, digits and _, not starting with a digit or __)")
            elif key in self.reserved:
                ctx.error(kpos, kpath, f"label {key!r} is set by slokit and cannot be overridden")
            elif isinstance(item, bool) or not isinstance(item, str | int | float):
                ctx.error(vpos, kpath, f"label value must be a string, got {_type_name(item)}")
            elif self.templated and "{{" in str(item):
                ctx.error(vpos, kpath, "must not contain '{{': Prometheus expands alert labels as Go templates, "
                          "so the rules would not load or the label would read differently")
            else:
                out[key] = str(item)
        return out

    def schema(self) -> JSON:
        names: JSON = {"pattern": "^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$"}
        if self.reserved:
            names = {"allOf": [names, {"not": {"enum": sorted(self.reserved)}}]}
        return self._doc({"type": "object", "propertyNames": names,
                          "additionalProperties": {"type": ["string", "number"]}})


@dataclass
class ListOf(Node):
    item: Node = field(default_factory=Node)
    description: str = ""
    min_items: int = 0

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if not isinstance(value, PosList):
            return ctx.error(pos, path, f"must be a list, got {_type_name(value)}")
        if len(value) < self.min_items:
            return ctx.error(pos, path, f"must have at least {self.min_items} item(s)")
        return [self.item.check(v, value.item_pos[i], join(path, i), ctx) for i, v in enumerate(value)]

    def schema(self) -> JSON:
        return self._doc({"type": "array", "items": self.item.schema(), "minItems": self.min_items})


@dataclass
class Field:
    node: Node
    required: bool = False
    default: Any = None


#: Keys people write by habit that would put a secret into the spec; each gets a pointed message.
SECRET_KEYS: Mapping[str, str] = {
    "routing_key": "routing_key_file",
    "service_key": "routing_key_file",
    "api_url": "api_url_file",
    "webhook_url": "api_url_file",
    "token": "a *_file field",
}


@dataclass
class Obj(Node):
    """A mapping with known keys. ``exactly_one``: of these keys one and only one must be present."""

    fields: dict[str, Field] = field(default_factory=dict)
    description: str = ""
    exactly_one: tuple[str, ...] = ()
    at_least_one: bool = False
    #: Extra keys matching this regex are checked with ``pattern_node`` (e.g. ``p95_above``).
    pattern: str | None = None
    pattern_node: Node | None = None
    pattern_hint: str = ""

    def check(self, value: Any, pos: Pos, path: str, ctx: Ctx) -> Any:
        if not isinstance(value, PosDict):
            return ctx.error(pos, path, f"must be a mapping, got {_type_name(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            kpos, vpos = value.key_pos[key], value.value_pos[key]
            kpath = join(path, key_text(key))
            if isinstance(key, str) and key in self.fields:
                out[key] = self.fields[key].node.check(item, vpos, kpath, ctx)
            elif isinstance(key, str) and self.pattern and self.pattern_node and re.fullmatch(self.pattern, key):
                out[key] = self.pattern_node.check(item, vpos, kpath, ctx)
            else:
                ctx.error(kpos, kpath, self._unknown(key))
        for name, f in self.fields.items():
            if name not in value:
                if f.required:
                    ctx.error(pos, join(path, name), "is required")
                elif f.default is not None:
                    out[name] = f.default
        present = [k for k in value if k in self.exactly_one or self._pattern_key(k)]
        if self.exactly_one and len(present) != 1:
            options = ", ".join(self.exactly_one) + (f" or {self.pattern_hint}" if self.pattern_hint else "")
            if not present:
                ctx.error(pos, path, f"needs one of {options}")
            else:
                ctx.error(value.key_pos[present[1]], path,
                          f"has {' and '.join(map(str, present))}: give only one of {options}")
        if self.at_least_one and not value:
            ctx.error(pos, path, f"needs at least one of {', '.join(self.fields)}")
        return out

    def _pattern_key(self, key: object) -> bool:
        return bool(self.pattern and isinstance(key, str) and re.fullmatch(self.pattern, key))

    def _unknown(self, key: object) -> str:
        if not isinstance(key, str):
            return f"unknown key {_show(key)}: keys must be strings"
        if looks_secret(key):
            return ("unknown key that looks like a secret (not shown): secrets never go into the spec; put it in "
                    "a file readable by Alertmanager and name the file with a *_file field")
        if key in SECRET_KEYS:
            return (f"unknown key {key!r}: secrets never go into the spec; put it in a file readable by "
                    f"Alertmanager and name the file with {SECRET_KEYS[key]}")
        allowed = list(self.fields) + ([self.pattern_hint] if self.pattern_hint else [])
        close = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"
        return f"unknown key {key!r}{hint}"

    def schema(self) -> JSON:
        out: JSON = {
            "type": "object",
            "properties": {name: f.node.schema() for name, f in self.fields.items()},
            "additionalProperties": False,
        }
        required = [name for name, f in self.fields.items() if f.required]
        if required:
            out["required"] = required
        if self.pattern and self.pattern_node:
            out["patternProperties"] = {f"^{self.pattern}$": self.pattern_node.schema()}
        if self.exactly_one:
            out["minProperties"] = 1
            alternatives: list[JSON] = [{"required": [k]} for k in self.exactly_one]
            if self.pattern:
                # "some key matches the pattern": not (every key fails to match it)
                alternatives.append({"not": {"propertyNames": {"not": {"pattern": f"^{self.pattern}$"}}}})
            out["oneOf"] = alternatives  # exactly one: two present match two alternatives
        if self.at_least_one:
            out["minProperties"] = 1
        return self._doc(out)
