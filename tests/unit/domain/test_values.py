"""``fast_init``: the faster ``__init__`` behaves exactly like the dataclass's own."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from binbot.domain.candle import Candle
from binbot.domain.fills import Fill
from binbot.domain.market import Market
from binbot.domain.orders import OrderEvent, OrderIntent, OrderStatus
from binbot.domain.values import builder, fast_init


def _value_class(name: str) -> Any:
    """The same frozen slots dataclass each call, as a fresh class bound to ``name`` below
    (the name makes it picklable)."""

    @dataclass(frozen=True, slots=True)
    class Value:
        a: int
        b: str = "b"
        c: list[int] = field(default_factory=list)
        d: float = field(default=1.5, kw_only=True)

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError(f"a must be >= 0, was {self.a}")

    Value.__name__ = Value.__qualname__ = name
    return Value


Plain = _value_class("Plain")
Fast = fast_init(_value_class("Fast"))


def _fields(value: object) -> tuple[object, ...]:
    return tuple(getattr(value, f.name) for f in dataclasses.fields(value))  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "kwargs"), [
    ((1,), {}),
    ((1, "x"), {}),
    ((1, "x", [2]), {"d": 3.0}),
    ((), {"a": 2, "c": [5], "b": "y"}),
])
def test_same_values_defaults_and_factories_as_the_dataclass(
        args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    assert _fields(Fast(*args, **kwargs)) == _fields(Plain(*args, **kwargs))  # type: ignore[arg-type]


def test_same_signature_and_each_instance_gets_its_own_default() -> None:
    def shape(cls: type) -> list[tuple[str, object, object]]:
        params = inspect.signature(cls).parameters.values()
        return [(p.name, p.kind, p.default if p.name != "c" else "factory") for p in params]

    assert shape(Fast) == shape(Plain)
    first, second = Fast(1), Fast(2)
    assert first.c == [] and first.c is not second.c
    with pytest.raises(TypeError):
        Fast(1, "x", [], 2.0)  # type: ignore[call-arg]  # d is keyword-only, as in Plain
    with pytest.raises(TypeError):
        Fast()  # type: ignore[call-arg]


def test_post_init_runs_and_the_value_stays_frozen_hashable_and_picklable() -> None:
    with pytest.raises(ValueError, match="a must be >= 0"):
        Fast(-1)
    value = Fast(3, "z", d=2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 4  # type: ignore[misc]
    assert value == Fast(3, "z", d=2.0)
    assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301 - our own bytes
    assert repr(value) == "Fast(a=3, b='z', c=[], d=2.0)"


def test_only_frozen_slots_dataclasses_are_accepted() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (Mutable, NoSlots, int):
        with pytest.raises(TypeError, match="frozen=True, slots=True"):
            fast_init(cls)


def test_domain_values_built_the_fast_way_still_validate() -> None:
    candle = Candle(Market.USDM, "BTCUSDT", "1m", 0, 59_999, 1.0, 2.0, 0.5, 1.5, 10.0, 15.0,
                    7, 4.0, 6.0, True)
    assert (candle.open_time, candle.close, candle.closed) == (0, 1.5, True)
    with pytest.raises(ValueError, match="fill side"):
        Fill("1", "c", "BTCUSDT", "HOLD", *(1, 1, 0), "USDT", False, 0)  # type: ignore[arg-type]
    event = OrderEvent("bb-1", OrderStatus.NEW, 5)
    assert (event.exchange_order_id, event.fill, event.reason) == (None, None, "")
    with pytest.raises(ValueError, match="client order id"):
        OrderIntent("b", 0, "bad id!", Market.USDM, "BTCUSDT", "BUY",  # type: ignore[arg-type]
                    "MARKET", 1, 0)  # type: ignore[arg-type]


def test_the_instance_is_of_its_class_whichever_way_it_was_built() -> None:
    value = Fast(1, "x", [2], d=3.0)
    assert type(value) is Fast and isinstance(value, Fast)
    assert dataclasses.replace(value, a=2) == Fast(2, "x", [2], d=3.0)
    assert type(dataclasses.replace(value, a=2)) is Fast

    class Sub(Fast):  # type: ignore[misc, valid-type]  # layout of its own: the slot setters
        pass

    sub = Sub(4, d=1.0)
    assert type(sub) is Sub and _fields(sub) == (4, "b", [], 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.a = 5


def test_a_factory_that_raises_leaves_no_half_built_instance_of_another_class() -> None:
    def fail() -> list[int]:
        raise RuntimeError("no list")

    @fast_init
    @dataclass(frozen=True, slots=True)
    class Failing:
        a: int
        c: list[int] = field(default_factory=fail)

    with pytest.raises(RuntimeError, match="no list"):
        Failing(1)
    assert Failing(1, [2]).c == [2]


@dataclass(frozen=True, slots=True)
class Base:
    a: int


@fast_init
@dataclass(frozen=True, slots=True)
class Derived(Base):
    """Its field ``a`` lives in the base class's slots."""

    b: str


def test_fields_stored_in_a_base_class_are_set_through_the_slot_setters() -> None:
    value = Derived(1, "x")
    assert (value.a, value.b, type(value)) == (1, "x", Derived)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.b = "y"  # type: ignore[misc]


def test_a_field_name_the_generated_code_uses_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Clash:
        _type: int

    with pytest.raises(TypeError, match="taken by fast_init"):
        fast_init(Clash)


@pytest.mark.parametrize(("args", "kwargs"), [
    ((1,), {}),
    ((1, "x", [2]), {"d": 3.0}),
    ((), {"a": 2, "c": [5], "b": "y"}),
])
def test_the_builder_returns_what_the_class_does(args: tuple[object, ...],
                                                 kwargs: dict[str, object]) -> None:
    built = builder(Fast)(*args, **kwargs)
    assert type(built) is Fast and built == Fast(*args, **kwargs)
    assert builder(Fast)(1).c is not builder(Fast)(1).c
    with pytest.raises(ValueError, match="a must be >= 0"):
        builder(Fast)(-1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.a = 4  # type: ignore[misc]


def test_the_builder_of_a_class_with_inherited_fields_and_of_none() -> None:
    assert builder(Derived)(1, "x") == Derived(1, "x")
    assert type(builder(Derived)(1, "x")) is Derived
    for cls in (Plain, Base, int):
        with pytest.raises(TypeError, match="not a fast_init class"):
            builder(cls)
