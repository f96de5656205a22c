"""Miners and jobs for the tests that route jobs over HTTP."""

import uuid
from typing import Any

import httpx

CLASS = "always_on.test"


def job(**overrides: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "executor_class": CLASS,
        "download_time_limit": 10,
        "execution_time_limit": 20,
        "upload_time_limit": 10,
        "streaming_start_time_limit": 5,
        "on_trusted_miner": False,
        **overrides,
    }


def load_miners(client: httpx.Client, online: dict[str, int], prefix: str, allowance: float = 10_000) -> list[str]:
    """Register miners with `online` executors each; fresh manifests; `allowance` seconds each for the cycle
    (a pick holds its job's executor-seconds: 40 for `job()`)."""
    hotkeys = [f"{prefix}-{name}" for name in online]
    for hotkey in hotkeys:
        body = {"address": "127.0.0.1", "port": 9000, "ip_version": 4, "collateral_wei": "20000000000000000"}
        assert client.put(f"/miners/{hotkey}", json=body).status_code == 200
    manifests = [
        {"hotkey": f"{prefix}-{name}", "executor_class": CLASS, "online_executor_count": n, "executor_count": n}
        for name, n in online.items()
    ]
    assert client.post("/manifests", json={"manifests": manifests}).status_code == 200
    allowances = [{"hotkey": h, "initial": allowance, "remaining": allowance} for h in hotkeys]
    assert client.put("/allowances", json={"cycle": {"start": -14, "stop": 708}, "allowances": allowances}).status_code == 200
    return hotkeys
