"""Callers of DeploymentHandle calls: the one passed along, or an in-cluster one."""

import contextvars

from contracts.identity import Caller, Role
from servekit.auth import caller_of
from servekit.context import correlation_id, current_caller


def test_caller_passed_on_a_handle_call_becomes_the_request_context():
    def check() -> None:
        forwarded = Caller("ops", Role.ADMIN).forwarded_by("coordinator", "corr-1")
        assert caller_of(forwarded) is forwarded
        assert current_caller.get() is forwarded and correlation_id.get() == "corr-1"
        assert forwarded.via == "coordinator" and forwarded.service == "ops"

    contextvars.copy_context().run(check)  # each request runs in its own context


def test_handle_call_without_a_caller_is_in_cluster():
    assert caller_of(object()).service == "in-cluster"
