"""Pure. Kubernetes NetworkPolicy semantics (networking.k8s.io/v1): may this pod open a connection to that one?

What the API documents, and nothing a CNI adds:
- a pod is isolated for ingress (egress) when a policy in its namespace selects it and lists
  Ingress (Egress) in `policyTypes` (unset: Ingress, plus Egress when the policy has egress rules);
  a pod no policy isolates accepts (sends) everything;
- an isolated pod accepts a connection that any rule of any policy selecting it allows: every
  source when `from` is empty, else a peer matches (`podSelector` alone: pods of the policy's
  namespace; `namespaceSelector` alone: every pod of the matching namespaces; both: the matching
  pods of the matching namespaces); every port when `ports` is empty, else one matches (protocol
  TCP when unset, a number or a name of the destination's container ports, up to `endPort`);
- a connection needs the source's egress and the destination's ingress;
- label selectors: `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist), `{}`
  selects everything; every namespace carries `kubernetes.io/metadata.name`.
`ipBlock` peers are not modelled: a policy with one raises.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # named container ports


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


@dataclass
class Cluster:
    """The policies (each in `metadata.namespace`, else `default_namespace`) and the namespaces' labels."""

    policies: list[dict[str, Any]]
    default_namespace: str
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        return {**self.namespace_labels.get(namespace, {}), "kubernetes.io/metadata.name": namespace}

    def _namespace_of(self, policy: dict[str, Any]) -> str:
        return policy.get("metadata", {}).get("namespace", self.default_namespace)

    def _peer_matches(self, peer: dict[str, Any], policy_namespace: str, pod: Pod) -> bool:
        if "ipBlock" in peer:
            raise NotImplementedError("ipBlock peers are not modelled")
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self._namespace_labels(pod.namespace)):
                return False
        elif pod.namespace != policy_namespace:
            return False
        return "podSelector" not in peer or selects(peer["podSelector"], pod.labels)

    @staticmethod
    def _port_matches(entry: dict[str, Any], destination: Pod, port: int, protocol: str) -> bool:
        if entry.get("protocol", "TCP") != protocol:
            return False
        if "port" not in entry:
            return True
        first = destination.ports.get(entry["port"]) if isinstance(entry["port"], str) else entry["port"]
        return first is not None and first <= port <= entry.get("endPort", first)

    def _allowed(self, direction: str, subject: Pod, other: Pod, destination: Pod, port: int, protocol: str) -> bool:
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        isolating = [
            policy for policy in self.policies
            if self._namespace_of(policy) == subject.namespace
            and selects(policy["spec"]["podSelector"], subject.labels)
            and direction in policy["spec"].get("policyTypes", ["Ingress", *(["Egress"] if "egress" in policy["spec"] else [])])
        ]
        if not isolating:
            return True
        return any(
            (not rule.get(peers_key) or any(self._peer_matches(p, self._namespace_of(policy), other) for p in rule[peers_key]))
            and (not rule.get("ports") or any(self._port_matches(e, destination, port, protocol) for e in rule["ports"]))
            for policy in isolating for rule in policy["spec"].get(rules_key) or []
        )

    def allows(self, source: Pod, destination: Pod, port: int, protocol: str = "TCP") -> bool:
        return (self._allowed("Egress", source, destination, destination, port, protocol)
                and self._allowed("Ingress", destination, source, destination, port, protocol))
