"""Safe YAML loading that remembers where every key and value stands.

Errors must point at a line and column, so containers keep the marks of their items. Only PyYAML's safe
loader is used (no arbitrary tags), and duplicate keys, which YAML silently overwrites, are reported.

Specs arrive from many teams through CI, so a hostile file must fail fast and small. Aliases are bounded
while the file is composed, before anything is expanded: how many there are, and how many nodes, how much
text and how much nesting they would add once expanded (an alias bomb is a few hundred bytes that expand to
billions of nodes). Values that no later step could handle (text that cannot be written as UTF-8, numbers
hundreds of digits long, impossible dates) are reported here, at their position, like any other problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from slokit.spec.redact import looks_secret

Pos = tuple[int, int]  # 1-based line and column

#: Alias uses per document. Sharing a block of alerts between SLOs takes one per SLO.
MAX_ALIASES = 1000
#: Nodes of the document once its aliases are expanded (the example spec has about 150).
MAX_NODES = 100_000
#: Characters of scalar text that aliases may add once expanded (as much again as the largest file).
MAX_ALIAS_TEXT = 1 << 20
#: Nesting levels, aliases expanded (the grammar itself is 6 deep).
MAX_DEPTH = 64
#: Characters of a number: longer ones are not meaningful in a spec, and converting them costs time.
MAX_NUMBER_LENGTH = 100

#: What YAML allows in a stream (the reader's own set): a character outside it, written as an escape in a
#: double-quoted scalar (a lone surrogate such as ``"\ud800"``, a NUL), cannot be written back as text.
_NOT_ALLOWED = yaml.reader.Reader.NON_PRINTABLE
#: Line breaks to YAML 1.1 readers (Go's yaml, which Prometheus and Alertmanager use) besides \n and \r:
#: written raw into a generated file, they cut a value in two and the file no longer loads.
_LINE_BREAKS = re.compile("[\u0085\u2028\u2029]")


class PosDict(dict[Any, Any]):
    """A mapping from YAML with the position of each key and each value."""

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[Any, Pos] = {}
        self.value_pos: dict[Any, Pos] = {}


class PosList(list[Any]):
    """A sequence from YAML with the position of each item."""

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []


@dataclass
class YamlProblem:
    pos: Pos
    message: str
    path: tuple[Any, ...] = ()  # keys and indexes down to the value, when known


@dataclass
class Document:
    data: Any
    problems: list[YamlProblem] = field(default_factory=list)


def _pos(mark: yaml.Mark) -> Pos:
    return (mark.line + 1, mark.column + 1)


class _Refused(yaml.YAMLError):
    """The document is refused at ``pos``; ``message`` is the whole reason (it is not a syntax error)."""

    def __init__(self, mark: Any, message: str, path: tuple[Any, ...] = ()) -> None:  # mark: never None
        super().__init__(message)
        self.problem = YamlProblem(_pos(mark), message, path)


@dataclass(frozen=True)
class _Size:
    """What a node amounts to once every alias in it is expanded."""

    nodes: int
    text: int
    depth: int


class _Loader(yaml.SafeLoader):
    problems: list[YamlProblem]

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.problems = []
        self.path: list[Any] = []  # where the value being constructed sits
        self._depth = 0  # nesting level of the node being composed
        self._nodes = 0  # nodes composed so far
        self._aliases = 0
        self._alias_nodes = 0  # nodes and text the aliases so far add once expanded
        self._alias_text = 0
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._sizes: dict[int, _Size] = {}  # by id() of a complete node

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        """Refuse deep ``[[[[`` while scanning: PyYAML's scanner slows down with every open bracket."""
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(self.get_mark(), f"nested more than {MAX_DEPTH} levels deep")
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._bound_alias(event)
            return super().compose_node(parent, index)
        self._depth += 1
        self._nodes += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)
        return node

    def _bound_alias(self, event: yaml.AliasEvent) -> None:
        """Refuse the alias at ``event`` if expanding it would exceed a limit; nothing is expanded here."""
        anchor = event.anchor
        if anchor not in self.anchors:
            return  # the composer reports the undefined alias
        alias = f"alias *{anchor}"
        if anchor in self._open:
            raise _Refused(event.start_mark, f"{alias} is used inside the node it names (a recursive structure)")
        self._aliases += 1
        if self._aliases > MAX_ALIASES:
            raise _Refused(event.start_mark, f"{alias}: more than {MAX_ALIASES} aliases in one document")
        size = self._size(self.anchors[anchor])
        self._alias_nodes += size.nodes
        self._alias_text += size.text
        if self._nodes + self._alias_nodes > MAX_NODES:
            raise _Refused(event.start_mark, f"{alias} expands the document to more than {MAX_NODES} nodes "
                                             "(aliases are bounded so that a small file cannot expand into a huge one)")
        if self._alias_text > MAX_ALIAS_TEXT:
            raise _Refused(event.start_mark, f"{alias} expands the document by more than {MAX_ALIAS_TEXT} "
                                             "characters of text (aliases are bounded so that a small file cannot "
                                             "expand into a huge one)")
        if self._depth + size.depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"{alias} nests the document more than {MAX_DEPTH} levels deep")

    def _size(self, node: yaml.Node) -> _Size:
        """Expanded size of a complete node; shared nodes are measured once, so this is linear in the file."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.ScalarNode):
            size = _Size(1, len(node.value), 1)
        else:
            children = [self._size(child) for item in node.value
                        for child in (item if isinstance(item, tuple) else (item,))]
            size = _Size(1 + sum(c.nodes for c in children), sum(c.text for c in children),
                         1 + max((c.depth for c in children), default=0))
        self._sizes[id(node)] = size
        return size

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_LENGTH:
            raise _Refused(node.start_mark, f"a number of {len(node.value)} characters is too long "
                                            f"(at most {MAX_NUMBER_LENGTH})", tuple(self.path))
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, LookupError, AttributeError, TypeError) as exc:
            if not isinstance(node, yaml.ScalarNode):
                raise  # not a value PyYAML failed to convert: a bug, for the last-resort handler
            # PyYAML converts explicitly tagged text unchecked (!!int "", !!bool x) and builds impossible dates
            kind = node.tag.rpartition(":")[2]
            reason = f": {exc}" if kind == "timestamp" and isinstance(exc, ValueError) else ""
            message = f"invalid YAML: not a valid {kind} value{reason}"
            raise _Refused(node.start_mark, message, tuple(self.path)) from None


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> PosDict:
    loader.flatten_mapping(node)
    out = PosDict(_pos(node.start_mark))
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            loader.problems.append(YamlProblem(_pos(key_node.start_mark), "a mapping key must be a plain value"))
            continue
        if key in out:
            shown = "that looks like a secret (not shown)" if isinstance(key, str) and looks_secret(key) else repr(key)
            loader.problems.append(YamlProblem(_pos(key_node.start_mark), f"duplicate key {shown}"))
        loader.path.append(key)
        out[key] = loader.construct_object(value_node, deep=True)
        loader.path.pop()
        out.key_pos[key] = _pos(key_node.start_mark)
        out.value_pos[key] = _pos(value_node.start_mark)
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> PosList:
    out = PosList(_pos(node.start_mark))
    for i, child in enumerate(node.value):
        loader.path.append(i)
        out.append(loader.construct_object(child, deep=True))
        loader.path.pop()
        out.item_pos.append(_pos(child.start_mark))
    return out


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    """Text; one that holds a character no file can hold gets a problem naming the first such character."""
    text = loader.construct_scalar(node)
    bad = _NOT_ALLOWED.search(text) or _LINE_BREAKS.search(text)
    if bad is None:
        return text
    where = f"U+{ord(bad.group()):04X} at character {bad.start() + 1} of this text"
    pair = re.match("[\ud800-\udbff][\udc00-\udfff]", text[bad.start():])
    if pair is not None:
        char = pair.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        why = (f"starts a UTF-16 surrogate pair, which cannot be written as UTF-8; write the character itself "
               f"or \\U{ord(char):08X}")
    elif 0xD800 <= ord(bad.group()) <= 0xDFFF:
        why = "is a lone surrogate, which cannot be written as UTF-8; write the character itself"
    elif _LINE_BREAKS.fullmatch(bad.group()):
        why = ("is a line break to the YAML readers of Prometheus and Alertmanager, so the generated files would "
               "not load; remove it")
    else:
        why = "is not allowed in YAML text, so no generated file could hold it"
    loader.problems.append(YamlProblem(_pos(node.start_mark), f"{where} {why}", tuple(loader.path)))
    return text


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def load(text: str, name: str = "<string>") -> Document:
    """Parse one YAML document; syntax errors come back as problems, never as exceptions."""
    docs = _parse(text, name, single=True)
    return docs[0] if docs else Document(None)


def load_all(text: str, name: str = "<string>") -> list[Document]:
    """Parse every document of a ``---``-separated stream (files of other tools hold several).

    A syntax error anywhere gives a single document holding that problem, as :func:`load` does."""
    return _parse(text, name, single=False)


def _parse(text: str, name: str, *, single: bool) -> list[Document]:
    try:
        loader = _Loader(text)  # the reader rejects control characters already here
    except yaml.reader.ReaderError as exc:
        return [Document(None, [_reader_problem(text, exc)])]
    loader.name = name
    docs: list[Document] = []
    try:
        while single or loader.check_node():
            loader.problems = []
            node = loader.get_single_node() if single else loader.get_node()
            data = loader.construct_document(node) if node is not None else None
            docs.append(Document(data, loader.problems))
            if single:
                break
    except _Refused as exc:
        return [Document(None, [exc.problem])]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _pos(mark) if mark is not None else (1, 1)
        parts = [p for p in (exc.context, exc.problem) if p]
        return [Document(None, [YamlProblem(pos, "invalid YAML: " + ", ".join(parts))])]
    except yaml.reader.ReaderError as exc:
        return [Document(None, [_reader_problem(text, exc)])]
    except yaml.YAMLError as exc:
        return [Document(None, [YamlProblem((1, 1), f"invalid YAML: {exc}")])]
    except RecursionError:
        return [Document(None, [YamlProblem((1, 1), "invalid YAML: nested too deeply")])]
    finally:
        loader.dispose()
    return docs


def _reader_problem(text: str, exc: yaml.reader.ReaderError) -> YamlProblem:
    before = text[: exc.position]
    pos = (before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
    return YamlProblem(pos, f"invalid YAML: character {exc.character:#06x} is not allowed ({exc.reason})")
