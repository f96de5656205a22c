"""Deep fuzzing: hostile values anywhere in every route's valid requests.

For each operation of the three OpenAPI schemas, schemathesis draws a valid
request; hypothesis then puts one hostile value at a random place in its JSON
body (or its path, or a header): JSON nested hundreds deep or 20,000 keys
wide, 4,300-digit and 1e308 numbers, NaN and infinity, NUL, newline, terminal
escapes, a right-to-left override, a lone surrogate, lax types ("yes", "12").
Every answer must be below 500 (503 only as a typed refusal) in the JSON
error envelope; a refused change must leave the stored state exactly as it
was; no organ may restart; and nothing invalid may be stored.
"""

import json
import math
import random
import re
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from contracts.bounds import Hotkey
from tests.integration.test_hostile_input import organ_instances, stored_state
from tests.stack import ADMIN_HEADERS, deploy_full_stack, tear_down_full_stack

EXAMPLES_PER_ROUTE = 12
HOTKEY = TypeAdapter(Hotkey)
SENTINEL = "__HOSTILE__"
DEEP_OBJECT = st.integers(33, 900).map(lambda d: '{"a":' * d + "1" + "}" * d)
DEEP_LIST = st.integers(33, 900).map(lambda d: "[" * d + "]" * d)
WIDE = st.just("{" + ",".join(f'"k{i}": {i}' for i in range(20_000)) + "}")
NUMBERS = st.sampled_from(["1" + "0" * 4300, "-1" + "0" * 400, "1e308", "-1e308", "NaN", "Infinity", "-Infinity"])
TEXTS = st.sampled_from(
    ['"\\u0000"', '"a\\nb"', '"\\u001b[31mred"', '"\\u202eevil"', '"\\ud800"', '" "', '"yes"', '"12"', "true", "null"]
)
HOSTILE = st.one_of(DEEP_OBJECT, DEEP_LIST, WIDE, NUMBERS, TEXTS)
HOSTILE_PATH_PARAMS = st.sampled_from(["%00", "a%0Ab", "%1B%5B31mred", "%E2%80%AEabc", "%20", "%ED%A0%80", "x" * 300])


def json_paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += json_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += json_paths(child, (*path, index))
    return found


def with_hostile(body: Any, path: tuple, raw: str) -> bytes:
    """`body` with the value at `path` replaced by the raw JSON text `raw`."""
    if not path:
        return raw.encode()
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = SENTINEL
    return json.dumps(body).replace(f'"{SENTINEL}"', raw).encode()


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    full = deploy_full_stack(serve_url, tmp_path_factory.mktemp("deep-fuzz-state"), route_single_timeout_s=2.0)
    with httpx.Client(base_url=serve_url + "/organism", headers=ADMIN_HEADERS, timeout=30) as client:
        client.put("/miners/miner-a", json={"address": "10.0.0.1", "port": 8000, "collateral_wei": 10**17})
        client.put("/chain", json={"block": 25})
    yield full
    tear_down_full_stack(full)


def assert_clean_refusal_or_success(response: httpx.Response, label: str) -> None:
    assert response.status_code < 500 or response.status_code == 503, (label, response.status_code, response.text[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"type", "message", "details"} and error["type"] and "Traceback" not in response.text


def assert_nothing_invalid_is_stored(state: dict[str, Any]) -> None:
    for miner in state["miners"]:
        HOTKEY.validate_python(miner["hotkey"])
        assert miner["address"].isprintable() and (miner["blacklist"] or {}).get("reason", "").isprintable()
    for rule in state["rules"]["rules"]:
        assert all((v or "").isprintable() for v in rule.values())
    def clean(value: Any) -> bool:
        if isinstance(value, dict):  # EXECUTOR_CLASSES: name -> seconds
            return all(isinstance(k, str) and k.isprintable() and clean(v) for k, v in value.items())
        if type(value) is float:  # the spread's cutoff and steepness
            return math.isfinite(value)
        return value is None or (isinstance(value, str) and value.isprintable()) or type(value) in (int, bool)

    assert all(clean(v) for v in state["config"].values())


@pytest.mark.parametrize("prefix", ["/organism", "/pipeline", "/cognitive"])
def test_hostile_values_anywhere_are_refused_cleanly(stack, prefix):
    base_url = stack.base_url + prefix
    operations = [r.ok() for r in schemathesis.openapi.from_url(f"{base_url}/openapi.json").get_all_operations()]
    organs_before = organ_instances(httpx.Client(base_url=stack.base_url, headers=ADMIN_HEADERS, timeout=30))
    statuses: Counter = Counter()
    with httpx.Client(base_url=stack.base_url, headers=ADMIN_HEADERS, timeout=60) as client:
        for operation in operations:

            @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(schemathesis.GenerationMode.POSITIVE), raw=HOSTILE,
                   bad_param=HOSTILE_PATH_PARAMS, seed=st.integers(0, 2**16))
            def refused_cleanly(case, raw, bad_param, seed) -> None:
                kwargs = case.as_transport_kwargs(base_url=base_url, headers=ADMIN_HEADERS)
                url, body = kwargs["url"], kwargs.get("json")
                if case.path_parameters and seed % 2:
                    url = re.sub(r"/miners/[^/]+", f"/miners/{bad_param}", url)
                    content = json.dumps(body).encode() if body is not None else None
                elif body is not None:
                    content = with_hostile(body, random.Random(seed).choice(json_paths(body)), raw)
                else:
                    content = raw.encode()
                mutating = kwargs["method"] != "GET"
                before = stored_state(client) if mutating else None
                response = client.request(kwargs["method"], url, content=content,
                                          headers={**kwargs.get("headers", {}), **ADMIN_HEADERS, "content-type": "application/json"},
                                          params=kwargs.get("params"))
                label = f"{kwargs['method']} {url}"  # noqa: B023 (called in this iteration)
                assert_clean_refusal_or_success(response, label)
                if mutating and response.status_code >= 400:
                    assert stored_state(client) == before, label
                statuses[response.status_code] += 1  # noqa: B023

            refused_cleanly()
        assert organ_instances(client) == organs_before  # no organ restarted
        assert_nothing_invalid_is_stored(stored_state(client))
    assert statuses[422] > 0, statuses  # the hostile values reached validation
    assert statuses[401] == statuses[403] == 0, statuses


@pytest.mark.parametrize("header", ["X-Correlation-ID", "X-Service", "X-Junk"])
def test_oversized_headers_are_refused_in_the_json_envelope(stack, header):
    response = httpx.get(stack.base_url + "/organism/config", headers={**ADMIN_HEADERS, header: "x" * 65_536}, timeout=30)
    assert response.status_code == 431 and response.json()["error"]["type"] == "RequestHeadersTooLarge"
