"""What a pass ends with, for any kind: the kstatus triple, kind-specific conditions and status
fields, and when the next pass is due."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qco.reconcile.conditions import ConditionUpdate, Status

#: Computes a kind's own status fields from the current status and the report time; a value of
#: None removes a field, fields it does not mention are left as they are.
StatusFields = Callable[[Mapping[str, Any], str], Mapping[str, Any]]


@dataclass(frozen=True)
class PassOutcome:
    """Ready, Reconciling and Stalled sharing one reason, plus what the kind adds."""

    ready: ConditionUpdate
    reconciling: ConditionUpdate
    stalled: ConditionUpdate
    extra: tuple[ConditionUpdate, ...] = ()  # kind-specific conditions set by this pass
    drop: tuple[str, ...] = ()  # kind-specific condition types this pass removes
    fields: StatusFields | None = None  # None: the kind's own fields stay as they are
    colour: str | None = None  # for the collection-status gauge
    retry_after: float | None = None  # poll sooner than the drift interval (e.g. optimizing)

    @property
    def gauge_condition(self) -> str:
        """The condition the objects gauge counts this object under."""
        if self.stalled.status == "True":
            return "Stalled"
        if self.ready.status == "True":
            return "Ready"
        return "Paused" if self.ready.reason == "Paused" else "Reconciling"


def triple(
    ready: Status, reconciling: Status, stalled: Status, reason: str, *messages: str
) -> tuple[ConditionUpdate, ConditionUpdate, ConditionUpdate]:
    """Ready, Reconciling and Stalled sharing one reason (kstatus reads them together)."""
    return (
        ConditionUpdate("Ready", ready, reason, messages[0]),
        ConditionUpdate("Reconciling", reconciling, reason, messages[1]),
        ConditionUpdate("Stalled", stalled, reason, messages[2]),
    )


def ready_outcome(reason: str, message: str, **kwargs: Any) -> PassOutcome:
    """Everything matches the spec."""
    return PassOutcome(*triple("True", "False", "False", reason, message, "", ""), **kwargs)


def progressing_outcome(reason: str, message: str, **kwargs: Any) -> PassOutcome:
    """Work is under way; the next pass comes soon."""
    return PassOutcome(*triple("False", "True", "False", reason, message, message, ""), **kwargs)


def stalled_outcome(reason: str, message: str, **kwargs: Any) -> PassOutcome:
    """A human must act; retried slowly."""
    return PassOutcome(*triple("False", "False", "True", reason, message, "", message), **kwargs)


def waiting_outcome(reason: str, message: str, **kwargs: Any) -> PassOutcome:
    """Neither ready nor working nor stuck: e.g. paused with work pending."""
    return PassOutcome(*triple("False", "False", "False", reason, message, "", ""), **kwargs)


def failure_outcome(reason: str, message: str, stalled: bool) -> PassOutcome:
    """A pass that could not finish; `stalled` when a human must act. Kind fields stay as they are."""
    return stalled_outcome(reason, message) if stalled else progressing_outcome(reason, message)


@dataclass(frozen=True)
class PassResult:
    """When the next pass is due: after the drift interval, or sooner after a failure."""

    drift_interval: float
    retry_after: float | None = None
    condition: str = "Reconciling"  # Ready, Reconciling, Stalled or Paused: for the objects gauge
    colour: str | None = None  # what Qdrant last reported, for the collection status gauge
    failed: bool = False  # the pass could not finish: the caller backs off on repeats
    reason: str = ""  # the Ready condition's reason, for the per-object ready gauge
