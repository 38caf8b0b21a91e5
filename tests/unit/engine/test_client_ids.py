"""Client order ids in batches: exactly ``make_client_order_id``'s, whatever the order asked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binbot.domain.orders import make_client_order_id
from binbot.engine.client_ids import ClientOrderIds, client_order_ids


@given(st.text(min_size=1, max_size=40), st.integers(0, 10**12), st.integers(0, 40))
def test_a_batch_equals_the_ids_one_by_one(bot_id: str, first: int, count: int) -> None:
    assert client_order_ids(bot_id, first, count) == [
        make_client_order_id(bot_id, seq) for seq in range(first, first + count)]


def test_the_cache_answers_any_sequence_in_any_order() -> None:
    ids = ClientOrderIds("bot-1", batch=8)
    # Forward through several batches, back (a restored snapshot), far ahead, and repeats.
    for seq in [*range(0, 20), 3, 3, 0, 1_000_000, 999_999, 1_000_007, 1_000_008, 5]:
        assert ids(seq) == make_client_order_id("bot-1", seq)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="was -1"):
        client_order_ids("b", -1, 3)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        ClientOrderIds("b", batch=0)
    with pytest.raises(ValueError, match="was -2"):
        ClientOrderIds("b")(-2)
