"""Withdrawals: a call taken back before its first commit applies nothing; after it, it cannot be taken back."""

import pytest

from servekit.withdrawals import REMEMBERED, Withdrawals, Withdrawn


class Running:
    """Which call the fake actor is running."""

    call: str | None = "call-1"


def withdrawals() -> tuple[Withdrawals, Running]:
    running = Running()
    return Withdrawals(lambda: running.call), running


@pytest.mark.parametrize(
    ("steps", "withdrawn", "stops_at"),
    [
        ([], True, "started"),  # withdrawn while it waited: it does nothing
        (["started"], True, "commit_point"),  # withdrawn while it worked: it writes nothing
        (["started", "commit_point"], False, None),  # it had begun to commit: its answer is due
    ],
)
def test_a_withdrawal_is_granted_only_before_the_first_commit(steps, withdrawn, stops_at):
    fence, _ = withdrawals()
    for step in steps:
        getattr(fence, step)()
    assert fence.withdraw("call-1") is withdrawn
    if stops_at is None:
        fence.commit_point()  # later writes of the same call follow the first
    else:
        with pytest.raises(Withdrawn):
            getattr(fence, stops_at)()


def test_withdrawing_one_call_leaves_the_others_alone():
    fence, running = withdrawals()
    assert fence.withdraw("call-1")
    running.call = "call-2"
    fence.started()
    fence.commit_point()


def test_outside_a_call_there_is_nothing_to_withdraw():
    fence, running = withdrawals()
    running.call = None
    fence.started()
    fence.commit_point()


def test_only_the_latest_calls_are_remembered():
    fence, running = withdrawals()
    for number in range(REMEMBERED + 1):
        fence.withdraw(f"old-{number}")
    running.call = "old-0"  # forgotten: a call that old ran long ago
    fence.started()
    running.call = f"old-{REMEMBERED}"
    with pytest.raises(Withdrawn):
        fence.started()


def test_a_process_without_ray_runs_no_call_and_starts_no_ray():
    import ray

    from servekit.withdrawals import current_call

    assert not ray.is_initialized()
    assert current_call() is None and not ray.is_initialized()
