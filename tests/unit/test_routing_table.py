"""qco.routing's table: monotone buckets, the observed split, parsing and confirmations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qco.routing import RoutingError, RoutingTable, confirmations

salts = st.text(min_size=1, max_size=12)


def table(canary: int, salt: str = "s", generation: int = 1) -> RoutingTable:
    return RoutingTable("docs", generation, salt, {"docs_v1": 100 - canary, "docs_v2": canary})


@settings(max_examples=60, deadline=None)
@given(
    salt=salts,
    keys=st.lists(st.text(max_size=20), min_size=1, max_size=40),
    weights=st.lists(st.integers(0, 100), min_size=2, max_size=6),
)
def test_a_key_never_moves_from_canary_back_to_stable_as_the_weight_grows(
    salt: str, keys: list[str], weights: list[int]
) -> None:
    ladder = sorted(weights)
    for key in keys:
        seen = [table(w, salt).pick(key) for w in ladder]
        first_canary = seen.index("docs_v2") if "docs_v2" in seen else len(seen)
        assert seen[first_canary:] == ["docs_v2"] * (len(seen) - first_canary), (key, ladder, seen)


@settings(max_examples=15, deadline=None)
@given(salt=salts, canary=st.integers(0, 100))
def test_the_observed_split_over_10k_keys_is_within_two_points(salt: str, canary: int) -> None:
    routing = table(canary, salt)
    on_canary = sum(routing.pick(f"user-{i}") == "docs_v2" for i in range(10_000))
    assert abs(on_canary / 100 - canary) <= 2.0


def test_three_variants_split_as_published() -> None:
    routing = RoutingTable("docs", 1, "salt", {"a": 20, "b": 30, "c": 50})
    counts = {"a": 0, "b": 0, "c": 0}
    for i in range(10_000):
        counts[routing.pick(str(i))] += 1
    assert {k: round(v / 100) for k, v in counts.items()} == pytest.approx({"a": 20, "b": 30, "c": 50}, abs=2)


def test_zero_and_full_weights_are_exact() -> None:
    assert {table(0).pick(str(i)) for i in range(2000)} == {"docs_v1"}
    assert {table(100).pick(str(i)) for i in range(2000)} == {"docs_v2"}


def test_round_trip_keeps_the_order_and_the_documented_keys() -> None:
    routing = table(10, "k3j", 7)
    assert (
        routing.to_json()
        == '{"alias":"docs","generation":7,"salt":"k3j","weights":{"docs_v1":90,"docs_v2":10}}'
    )
    assert RoutingTable.from_json(routing.to_json()) == routing
    assert list(RoutingTable.from_json(routing.to_json()).weights) == ["docs_v1", "docs_v2"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("nope", "not JSON"),
        ("[]", "must be an object"),
        ('{"generation": 1, "weights": {}}', "non-empty"),
        ('{"generation": 1, "weights": {"a": 50, "b": 40}}', "sum to 100, not 90"),
        ('{"generation": 1, "weights": {"a": 50.5, "b": 49.5}}', "non-negative integers"),
        ('{"generation": "1", "weights": {"a": 100}}', "generation must be an integer"),
    ],
)
def test_bad_tables_are_refused_with_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(RoutingError, match=fragment):
        RoutingTable.from_json(text)


def test_confirmations_count_clients_at_or_past_a_generation() -> None:
    annotations = {
        "qco.dev/applied.a": "7",
        "qco.dev/applied.b": "8",
        "qco.dev/applied.c": "6",
        "qco.dev/applied.d": "junk",
        "other": "9",
    }
    assert confirmations(annotations, 7) == 2
    assert confirmations(None, 1) == 0
