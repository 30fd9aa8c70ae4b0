"""Safe YAML loading that remembers where every key and value stands.

Errors must point at a line and column, so containers keep the marks of their items. Only PyYAML's safe
loader is used (no arbitrary tags), and duplicate keys, which YAML silently overwrites, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Pos = tuple[int, int]  # 1-based line and column


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


@dataclass
class Document:
    data: Any
    problems: list[YamlProblem] = field(default_factory=list)


def _pos(mark: yaml.Mark) -> Pos:
    return (mark.line + 1, mark.column + 1)


class _Loader(yaml.SafeLoader):
    problems: list[YamlProblem]


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
            loader.problems.append(YamlProblem(_pos(key_node.start_mark), f"duplicate key {key!r}"))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_pos[key] = _pos(key_node.start_mark)
        out.value_pos[key] = _pos(value_node.start_mark)
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> PosList:
    out = PosList(_pos(node.start_mark))
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.item_pos.append(_pos(child.start_mark))
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


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
