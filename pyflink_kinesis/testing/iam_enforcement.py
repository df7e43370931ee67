"""A fault proxy mode that denies every request an IAM policy does not allow, as AWS does.

Local servers accept every request, so a job that passed locally can still meet
``AccessDeniedException`` on AWS. ``enforce_policy`` makes a :class:`FaultProxy` answer each
request the way IAM would for an identity holding only ``policy``::

    with FaultProxy(local_kinesis.endpoint) as proxy:
        enforcer = enforce_policy(proxy, job_policy(description), account="000000000000")
        ...  # run the job against proxy.endpoint
        assert not enforcer.denied

A request is allowed when an ``Allow`` statement's ``Action`` matches its action
(``kinesis:GetRecords``, from ``X-Amz-Target``) and its ``Resource`` matches the request's
resource, with IAM's wildcards (``*`` any run of characters, ``?`` one; actions ignore case).
``Deny`` statements and conditions are not evaluated (the policies under test have neither).
The resource is the ``StreamARN``, the stream named by ``StreamName`` (region from the
request's SigV4 scope, account as given), the ``ConsumerARN`` (a consumer named by
``ConsumerName`` is ``<stream ARN>/consumer/<name>:*``, whatever its creation time), the
Firehose ``DeliveryStreamName``; a shard iterator or ``ListShards`` page token stands for the
stream whose answer held it. A denied request gets what AWS sends: HTTP 400
``AccessDeniedException`` with "User: <principal> is not authorized to perform: <action> on
resource: <resource> because no identity-based policy allows the <action> action".

Requests over HTTP/2 (what the AWS SDK v2 sends to a plain ``http://`` endpoint: EFO's
``SubscribeToShard``, whose resource is the ``ConsumerARN`` of its body, and every call of an
EFO client) are enforced like HTTP/1.1 ones; a denial is the answer on its stream.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

from pyflink_kinesis.testing.fault_proxy import (
    Every,
    Fault,
    FaultProxy,
    FaultRule,
    Forward,
    _error_body,
    _json_headers,
    _Request,
    _Response,
)

__all__ = [
    "Denial", "PolicyEnforcer", "enforce_policy", "is_allowed", "policy_actions", "without_action",
]

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/")
_SERVICES = {"Kinesis_20131202": "kinesis", "Firehose_20150804": "firehose"}
# Answer fields that stand for the stream of the request that got them.
_TOKENS = ("ShardIterator", "NextShardIterator", "NextToken")


@lru_cache(maxsize=512)
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wildcard)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _listed(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def is_allowed(policy: Mapping[str, Any], action: str, resource: str) -> bool:
    """Whether an ``Allow`` statement of ``policy`` grants ``action`` on ``resource``."""
    for statement in _listed_statements(policy):
        if statement.get("Effect") != "Allow":
            continue
        if any(_pattern(a, True).fullmatch(action) for a in _listed(statement.get("Action"))) \
                and any(_pattern(r, False).fullmatch(resource)
                        for r in _listed(statement.get("Resource"))):
            return True
    return False


def _listed_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


@dataclass(frozen=True)
class Denial:
    """One request the policy did not allow."""

    action: str
    resource: str


@dataclass(eq=False)
class PolicyEnforcer(Fault):
    """Forwards the requests ``policy`` allows and denies the others; ``denied`` lists them."""

    policy: Mapping[str, Any]
    account: str
    region: str
    principal: str
    denied: list[Denial] = field(default_factory=list)
    allowed: dict[str, int] = field(default_factory=dict)
    _streams_by_token: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        prefix, _, operation = dict(
            (k.lower(), v) for k, v in request.headers).get("x-amz-target", "").rpartition(".")
        if not operation:
            return forward(request)
        action = f"{_SERVICES.get(prefix, prefix.split('_')[0].lower())}:{operation}"
        body = _json(request.body)
        resource = self._resource(request, action, body)
        if not is_allowed(self.policy, action, resource):
            with self._lock:
                self.denied.append(Denial(action, resource))
            message = (f"User: {self.principal} is not authorized to perform: {action} on "
                       f"resource: {resource} because no identity-based policy allows the "
                       f"{action} action")
            return _Response(400, "Bad Request", _json_headers(),
                             _error_body("AccessDeniedException", message))
        with self._lock:
            self.allowed[action] = self.allowed.get(action, 0) + 1
        response = forward(request)
        self._remember_tokens(response, resource)
        return response

    def _resource(self, request: _Request, action: str, body: Mapping[str, Any]) -> str:
        region = self._region(request)
        if action.startswith("firehose:"):
            name = body.get("DeliveryStreamName", "")
            return f"arn:aws:firehose:{region}:{self.account}:deliverystream/{name}"
        stream = body.get("StreamARN") or (
            f"arn:aws:kinesis:{region}:{self.account}:stream/{body['StreamName']}"
            if body.get("StreamName") else None)
        if body.get("ConsumerARN"):
            return str(body["ConsumerARN"])
        if stream and body.get("ConsumerName") and action != "kinesis:RegisterStreamConsumer":
            return f"{stream}/consumer/{body['ConsumerName']}:*"
        if stream:
            return str(stream)
        for token in ("ShardIterator", "NextToken"):
            if body.get(token):
                with self._lock:
                    return self._streams_by_token.get(str(body[token]), "*")
        return "*"

    def _region(self, request: _Request) -> str:
        for name, value in request.headers:
            if name.lower() == "authorization":
                found = _SCOPE.search(value)
                if found:
                    return found["region"]
        return self.region

    def _remember_tokens(self, response: _Response, resource: str) -> None:
        if response.status != 200 or resource == "*":
            return
        answer = _json(response.body)
        with self._lock:
            for token in _TOKENS:
                if isinstance(answer.get(token), str):
                    self._streams_by_token[answer[token]] = resource


def _json(body: bytes) -> Mapping[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def enforce_policy(
    proxy: FaultProxy,
    policy: Mapping[str, Any],
    *,
    account: str,
    region: str = "us-east-1",
    principal: str | None = None,
) -> PolicyEnforcer:
    """Make ``proxy`` deny every request ``policy`` does not allow; returns the enforcer.

    ``account`` is the account of streams named by ``StreamName``; ``region`` the region of
    requests without a SigV4 scope. Add it before other rules: a request it denies meets no
    other fault.
    """
    enforcer = PolicyEnforcer(policy, account, region,
                              principal or f"arn:aws:iam::{account}:user/pyflink-kinesis-job")
    proxy.inject(enforcer, operation=None, when=Every(1))
    return enforcer


def without_action(policy: Mapping[str, Any], action: str) -> dict[str, Any]:
    """``policy`` with ``action`` taken out of every statement (empty statements dropped)."""
    statements: list[dict[str, Any]] = []
    for statement in _listed_statements(policy):
        actions = [a for a in _listed(statement.get("Action")) if a != action]
        if actions:
            statements.append({**statement, "Action": actions})
    return {**policy, "Statement": statements}


def policy_actions(policy: Mapping[str, Any]) -> Sequence[str]:
    """Every action ``policy`` names, once each, sorted."""
    return sorted({a for s in _listed_statements(policy) for a in _listed(s.get("Action"))})
