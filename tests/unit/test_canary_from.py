"""CanaryRollout.spec.canaryFrom: the canary resolved from a CollectionDeployment's revisions, the
deployment's hand-off of its switch, and one owner per alias (pure functions, table-driven)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from qco.plan.canary_from import CanarySource, canary_from_revision, deployment_owner, rollout_hand_off
from tests.unit.canary_world import World, spec_of

REVISIONS = [
    {"number": 1, "collection": "docs-r1", "phase": "Active"},
    {"number": 2, "collection": "docs-r2", "phase": "AwaitingRollout"},
    {"number": 3, "collection": "docs-r3", "phase": "Failed"},
]


@pytest.mark.parametrize(
    ("revisions", "number", "expected"),
    [
        (REVISIONS[:2], None, CanarySource("docs-r2")),
        (REVISIONS[:2], 1, CanarySource("docs-r1")),
        (REVISIONS, 2, CanarySource("docs-r2")),
        (REVISIONS, 3, CanarySource(None, "CollectionDeployment docs revision 3 failed")),
        (REVISIONS, 7, CanarySource(None, "CollectionDeployment docs has no revision 7")),
        (None, None, CanarySource(None, "CollectionDeployment docs has no revisions yet")),
        (
            [{"number": "x", "collection": "c"}],
            None,
            CanarySource(None, "CollectionDeployment docs has no revisions yet"),
        ),
    ],
)
def test_canary_from_revision(revisions: Any, number: int | None, expected: CanarySource) -> None:
    assert canary_from_revision("docs", revisions, number) == expected


def _rollout(
    name: str, source: dict[str, Any], phase: str | None = None, canary: str | None = None
) -> dict[str, Any]:
    status = {k: v for k, v in (("phase", phase), ("canary", canary)) if v is not None}
    return {"metadata": {"name": name}, "spec": {"canaryFrom": source}, "status": status}


@pytest.mark.parametrize(
    ("rollouts", "expected"),
    [
        ([], None),
        ([_rollout("a", {"collectionDeployment": "other", "revision": 2})], None),
        ([_rollout("a", {"collectionDeployment": "docs", "revision": 1})], None),
        ([_rollout("a", {"collectionDeployment": "docs", "revision": 2})], ("Waiting", "a")),
        ([_rollout("a", {"collectionDeployment": "docs"}, "Progressing")], ("Waiting", "a")),
        ([_rollout("a", {"collectionDeployment": "docs"}, "Paused", canary="docs-r1")], None),
        ([_rollout("a", {"collectionDeployment": "docs", "revision": 2}, "Promoting")], ("Waiting", "a")),
        ([_rollout("a", {"collectionDeployment": "docs", "revision": 2}, "Succeeded")], ("Succeeded", "a")),
        ([_rollout("a", {"collectionDeployment": "docs", "revision": 2}, "Aborted")], ("Aborted", "a")),
        ([_rollout("a", {"collectionDeployment": "docs", "revision": 2}, "Failed")], ("Aborted", "a")),
        (
            [
                _rollout("a", {"collectionDeployment": "docs", "revision": 2}, "Aborted"),
                _rollout("b", {"collectionDeployment": "docs"}, "Pending"),
            ],
            ("Waiting", "b"),
        ),
    ],
)
def test_rollout_hand_off(rollouts: list[dict[str, Any]], expected: tuple[str, str] | None) -> None:
    assert rollout_hand_off(rollouts, "docs", 2, 2, "docs-r2") == expected


def test_an_unnumbered_canary_from_takes_only_the_newest_revision() -> None:
    rollouts = [_rollout("a", {"collectionDeployment": "docs"})]
    assert rollout_hand_off(rollouts, "docs", 2, 3, "docs-r2") is None
    assert rollout_hand_off(rollouts, "docs", 3, 3, "docs-r3") == ("Waiting", "a")


@pytest.mark.parametrize(
    ("through", "expected"),
    [(None, "docs"), ("docs", None), ("other", "docs")],
)
def test_deployment_owner(through: str | None, expected: str | None) -> None:
    deployments = [
        {"metadata": {"name": "blog"}, "spec": {"alias": "blog"}},
        {"metadata": {"name": "docs"}, "spec": {"alias": "docs"}},
    ]
    assert deployment_owner(deployments, "docs", through) == expected


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"canary": None}, "set exactly one of canary"),
        ({"canaryFrom": {"collectionDeployment": "docs"}}, "set exactly one of canary"),
        ({"canary": None, "canaryFrom": {"collectionDeployment": "docs", "revision": 0}}, "revision"),
        ({"canary": None, "canaryFrom": {"collectionDeployment": "Docs!"}}, "collectionDeployment"),
    ],
)
def test_canary_from_is_validated(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        spec_of(**fields)


def _from_world() -> World:
    spec = spec_of(
        canary=None,
        canaryFrom={"collectionDeployment": "docs", "revision": 2},
        steps=[{"setWeight": 20}, {"pause": {}}],
    )
    return World(spec, alias="docs-r1", collections=frozenset({"docs-r1", "docs-r2"}))


def test_the_rollout_waits_for_the_revision_then_takes_it_and_promotes_with_one_switch() -> None:
    world = _from_world()
    world.canary_problem = "CollectionDeployment docs has no revision 2"
    world.step()
    assert world.last is not None and world.last.stalled == (
        "CanaryNotFound",
        "spec.canaryFrom: CollectionDeployment docs has no revision 2",
    )
    assert world.publishes == [] and world.switches == []
    world.canary_problem, world.canary_source = None, "docs-r2"
    world.step()
    assert (world.state.stable, world.state.canary, world.weights) == (
        "docs-r1",
        "docs-r2",
        {"docs-r1": 80, "docs-r2": 20},
    )
    world.canary_source = "docs-r3"  # a newer revision later does not move a started rollout
    world.run_for(3)
    assert world.state.phase == "Paused" and world.state.canary == "docs-r2" and world.switches == []
    world.command("promote")
    world.run_for(3)
    assert world.state.phase == "Succeeded" and world.switches == ["docs-r2"] and world.alias == "docs-r2"


def test_a_rollout_without_canary_from_stalls_on_a_deployment_alias() -> None:
    world = World(spec_of(steps=[{"setWeight": 20}]))
    world.alias_deployment = "docs"
    world.step()
    assert world.last is not None and world.last.stalled == (
        "AliasOwnedElsewhere",
        "alias docs is switched by CollectionDeployment docs; roll its revision out with"
        " canaryFrom: {collectionDeployment: docs}",
    )
    assert world.publishes == [] and world.switches == []
