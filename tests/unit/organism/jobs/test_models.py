import pytest
from pydantic import ValidationError

from contracts.dynamic_config import DynamicConfig, DynamicConfigPatch, apply_patch
from contracts.wire import JobRouteRequest
from organism.jobs.models import MinerIn

BIG = 123456789012345678901234567


@pytest.mark.parametrize("given", [BIG, str(BIG), f" {BIG} "])
def test_wei_is_exact_int_inside_and_decimal_string_on_the_wire(given):
    miner = MinerIn(address="h", port=1, collateral_wei=given)
    assert miner.model_dump()["collateral_wei"] == BIG
    assert miner.model_dump(mode="json")["collateral_wei"] == str(BIG)


@pytest.mark.parametrize("bad", [1.5e18, "1e18", "-5", True, -1])
def test_wei_rejects_lossy_or_negative_values(bad):
    with pytest.raises(ValidationError):
        MinerIn(address="h", port=1, collateral_wei=bad)


def test_job_request_needs_a_uuid_and_non_negative_seconds():
    base = {"uuid": "7f8e9b2c-1d3a-4c5b-9e6f-0a1b2c3d4e5f", "download_time_limit": 0, "execution_time_limit": 1, "upload_time_limit": 2}
    assert JobRouteRequest(**base).executor_class == "spin_up-4min.gpu-24gb"
    # whether a well-formed class is configured is the picker's to say (dynamic config): see test_policy
    for field, value in [("uuid", "x"), ("execution_time_limit", -1), ("executor_class", "no pe"), ("upload_time_limit", 1.5)]:
        with pytest.raises(ValidationError) as caught:
            JobRouteRequest(**{**base, field: value})
        assert caught.value.errors()[0]["loc"][0] == field


def test_config_patch_is_strict_and_partial():
    config = DynamicConfig()
    patched = apply_patch(DynamicConfigPatch(DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=0, DEBUG_MINER_KEY=""), config)
    assert patched.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI == 0 and patched.DEBUG_MINER_KEY is None
    assert patched.DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT == 5
    for bad in [{"DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING": "true"}, {"UNKNOWN": 1}, {"DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT": -1}]:
        with pytest.raises(ValidationError):
            DynamicConfigPatch.model_validate(bad)
    with pytest.raises(ValidationError, match="DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING"):
        DynamicConfigPatch.model_validate({"DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING": None})  # refused at the edge
    assert apply_patch(DynamicConfigPatch.model_validate({"TRUSTED_MINER_HOTKEY": None}), config).TRUSTED_MINER_HOTKEY is None


def test_defaults_are_the_originals():
    config = DynamicConfig()
    assert (
        config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING,
        config.DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS,
        config.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI,
        config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS,
        config.DYNAMIC_ORGANIC_JOB_ALLOWED_LEEWAY_TIME,
        config.DYNAMIC_EXECUTOR_RESERVATION_TIME_LIMIT,
        config.DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT,
    ) == (True, True, 10**16, 10, 5, 7, 5)


@pytest.mark.parametrize("field", ["observed_at"])
def test_manifest_times_must_be_finite(field):
    from organism.jobs.models import ManifestIn

    with pytest.raises(ValidationError):
        ManifestIn(hotkey="a", executor_class="always_on.test", online_executor_count=1, executor_count=1, **{field: float("inf")})
