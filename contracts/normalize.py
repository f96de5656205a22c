"""Normalization of task types and domains, identical on every service. Pure.

`type` and `domain` are stripped and lower-cased; an empty domain is `None`.
Caches, rule lookups and de-duplication all key on the normalized pair.
"""

RouteKey = tuple[str, str | None]


def normalize_type(task_type: str | None) -> str:
    return (task_type or "").strip().lower()


def normalize_domain(domain: str | None) -> str | None:
    return (domain or "").strip().lower() or None


def route_key(task_type: str | None, domain: str | None) -> RouteKey:
    return normalize_type(task_type), normalize_domain(domain)
