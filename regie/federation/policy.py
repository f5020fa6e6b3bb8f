"""ODRL policies of the datasets a régie offers, and the small subset of ODRL 2.2 it evaluates itself.

No mature Python ODRL evaluator exists, so the subset is named here and nothing else is accepted: one
permission to ``odrl:use`` constrained by ``odrl:purpose`` (``odrl:eq``, a W3C DPV purpose) and
``odrl:dateTime`` (``odrl:lt``, the end of the use), with a duty ``odrl:delete`` at that end; a prohibition of
``odrl:distribute`` (no redistribution); and, for personal data, the consent grant's id
(``regie:consent``). Vocabulary: ODRL Information Model 2.2 (W3C Recommendation, 2018) §2, ODRL Vocabulary
2.2 (``use``, ``distribute``, ``delete``, ``purpose``, ``dateTime``, ``eq``, ``lt``). A constraint, operator or
rule outside the subset makes the evaluation refuse (never permit by ignorance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

ODRL = "http://www.w3.org/ns/odrl/2/"
CONTEXT = {"odrl": ODRL, "dpv": "https://w3id.org/dpv#", "regie": "https://w3id.org/regie/federation#"}
ACTIONS = ("odrl:use", "odrl:distribute", "odrl:delete")


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def offer(uid: str, assigner: str, target: str, *, purpose: str | None, until: int | None, grant_id: str | None,
          assignee: str | None = None, redistribute: bool = False) -> dict:  # fmt: skip
    """The policy of one dataset for one peer (an ``odrl:Offer``; an ``odrl:Agreement`` once it names the
    assignee): use for ``purpose`` until ``until`` and delete by then (personal data under a grant), never
    distribute unless ``redistribute`` (public aggregates)."""
    constraints = []
    if purpose is not None:
        constraints.append({"odrl:leftOperand": "odrl:purpose", "odrl:operator": "odrl:eq",
                            "odrl:rightOperand": purpose})  # fmt: skip
    permission: dict = {"odrl:action": "odrl:use", "odrl:constraint": constraints}
    if until is not None:
        by = {"odrl:leftOperand": "odrl:dateTime", "odrl:operator": "odrl:lt", "odrl:rightOperand": _iso(until)}
        constraints.append(by)
        permission["odrl:duty"] = [{"odrl:action": "odrl:delete", "odrl:constraint": [dict(by)]}]
    policy = {"@context": CONTEXT, "@type": "odrl:Agreement" if assignee else "odrl:Offer", "uid": uid,
              "odrl:assigner": assigner, "odrl:target": target, "odrl:permission": [permission]}  # fmt: skip
    if not redistribute:
        policy["odrl:prohibition"] = [{"odrl:action": "odrl:distribute"}]
    else:
        policy["odrl:permission"].append({"odrl:action": "odrl:distribute", "odrl:constraint": []})
    if assignee:
        policy["odrl:assignee"] = assignee
    if grant_id:
        policy["regie:consent"] = grant_id
    return policy


@dataclass(frozen=True, slots=True)
class Decision:
    permitted: bool
    reason: str
    duties: tuple[tuple[str, int], ...] = field(default=())  # (action, by instant)


def _constraint_ok(c: dict, purpose: str | None, at: int) -> tuple[bool, str]:
    left, op, right = c.get("odrl:leftOperand"), c.get("odrl:operator"), c.get("odrl:rightOperand")
    if left == "odrl:purpose" and op == "odrl:eq":
        return (purpose == right, f"purpose {purpose} is not {right}")
    if left == "odrl:dateTime" and op == "odrl:lt":
        try:
            return (at < _instant(str(right)), f"use ended at {right}")
        except ValueError:
            return (False, f"dateTime {right!r} is not an instant")
    return (False, f"constraint {left} {op} is outside the subset this régie evaluates")


def deadline(policy: dict) -> int | None:
    """When the duty to delete falls due, if the policy names one."""
    for perm in policy.get("odrl:permission", []):
        for duty in perm.get("odrl:duty", []):
            if duty.get("odrl:action") == "odrl:delete":
                for c in duty.get("odrl:constraint", []):
                    if c.get("odrl:leftOperand") == "odrl:dateTime":
                        return _instant(str(c["odrl:rightOperand"]))
    return None


def evaluate(policy: dict, action: str, *, purpose: str | None, at: int) -> Decision:
    """Whether ``action`` for ``purpose`` at ``at`` is permitted: prohibited actions first, then a permission
    whose every constraint holds; its duties are returned. Anything not understood refuses."""
    try:
        return _evaluate(policy, action, purpose, at)
    except (AttributeError, TypeError, KeyError, ValueError):
        return Decision(False, "a malformed policy")


def _evaluate(policy: dict, action: str, purpose: str | None, at: int) -> Decision:
    if action not in ACTIONS:
        return Decision(False, f"action {action} is outside the subset this régie evaluates")
    if not isinstance(policy, dict) or policy.get("@type") not in ("odrl:Offer", "odrl:Agreement", "odrl:Policy"):
        return Decision(False, "not an ODRL policy")
    for rule in policy.get("odrl:prohibition", []):
        if rule.get("odrl:action") == action:
            return Decision(False, f"{action} is prohibited")
    why = f"no permission to {action}"
    for perm in policy.get("odrl:permission", []):
        if perm.get("odrl:action") != action:
            continue
        results = [_constraint_ok(c, purpose, at) for c in perm.get("odrl:constraint", [])]
        failed = [text for ok, text in results if not ok]
        if failed:
            why = "; ".join(failed)
            continue
        due = deadline(policy)
        return Decision(True, "permitted", (("odrl:delete", due),) if due is not None else ())
    return Decision(False, why)
