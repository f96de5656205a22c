"""Pure. The part of kustomize that k8s/ uses: `resources` files and inline JSON 6902 `patches`, so tests
read what `kubectl apply -k` would apply (no kustomize binary is installed here).

A patch names its target by kind and name; its operations are `replace` and `add` on RFC 6901
paths (`~1` is `/`, `~0` is `~`). Anything else in a kustomization raises instead of being ignored.
"""

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"resources", "patches"}


def _pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def apply_operation(document: dict[str, Any], operation: dict[str, Any]) -> None:
    *parents, last = _pointer(operation["path"])
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if operation["op"] == "add" and isinstance(node, list):
        node.insert(key, operation["value"])
        return
    if operation["op"] not in ("add", "replace"):
        raise NotImplementedError(f"JSON patch op {operation['op']!r}")
    if operation["op"] == "replace" and not (key < len(node) if isinstance(node, list) else key in node):
        raise KeyError(f"replace of a missing path: {operation['path']}")
    node[key] = operation["value"]


def build(folder: Path, kustomization: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The documents `kubectl apply -k folder` applies (`kustomization` replaces the folder's file when given)."""
    kustomization = kustomization or yaml.safe_load((folder / "kustomization.yaml").read_text())
    if extra := set(kustomization) - SUPPORTED:
        raise NotImplementedError(f"kustomization fields not modelled: {sorted(extra)}")
    documents = [d for name in kustomization["resources"] for d in yaml.safe_load_all((folder / name).read_text()) if d]
    documents = copy.deepcopy(documents)
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        matched = [d for d in documents if d["kind"] == target["kind"] and d["metadata"]["name"] == target["name"]]
        if not matched:
            raise KeyError(f"a patch targets nothing: {target}")
        for document in matched:
            for operation in yaml.safe_load(patch["patch"]):
                apply_operation(document, operation)
    return documents
