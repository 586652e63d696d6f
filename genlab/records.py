"""Plain-JSON records of settings: what a checkpoint stores of a run and of a model's constructor.

A record holds None, booleans, numbers, strings, lists (tuples are written as lists and read back
as tuples) and dicts with string keys. A class whose instances are constructor arguments too (a
text model's `Vocabulary`) joins by the `recordable` decorator: it is written as a one-key dict
{tag: its `to_record()`} and read back by its `from_record`. So `genlab.checkpoint` stores such
values without knowing their classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: the classes a record may hold, by their tags
RECORDABLE: dict[str, type] = {}


def recordable(tag: str) -> Callable[[type], type]:
    """A class decorator: the class's instances may appear in records, as {tag: instance.to_record()}.

    The class defines `to_record(self)`, returning plain JSON data, and a classmethod
    `from_record(data)` that rebuilds an equal instance from it. A tag is written into files, so it
    must never change once used.
    """

    def register(cls: type) -> type:
        if tag in RECORDABLE and RECORDABLE[tag] is not cls:
            raise ValueError(f"the record tag {tag!r} is taken by {RECORDABLE[tag].__name__}")
        RECORDABLE[tag] = cls
        cls.record_tag = tag
        return cls

    return register


def to_json(value: Any) -> Any:
    """`value` as plain JSON data, or a TypeError naming the type that cannot be stored."""
    tag = getattr(type(value), "record_tag", None)
    if tag is not None and RECORDABLE.get(tag) is type(value):
        return {tag: value.to_record()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{type(value).__name__} cannot be stored in a checkpoint's JSON record")


def from_json(value: Any) -> Any:
    """The values a record was written from: lists become tuples, tagged dicts instances of their class."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in RECORDABLE:
            tag, data = next(iter(value.items()))
            return RECORDABLE[tag].from_record(data)
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    return value
