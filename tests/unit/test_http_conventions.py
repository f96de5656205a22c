import contextvars
import logging

from service_common.auth import Caller, Role
from service_common.http import RequestContextFilter, caller_of, correlation_id, current_caller


def test_log_records_carry_correlation_id_and_caller():
    token_id = correlation_id.set("corr-9")
    token_caller = current_caller.set(Caller("coordinator", Role.SERVICE))
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        assert RequestContextFilter().filter(record)
        assert (record.correlation_id, record.caller) == ("corr-9", "coordinator/service")
    finally:
        correlation_id.reset(token_id)
        current_caller.reset(token_caller)


def test_caller_passed_on_a_handle_call_becomes_the_request_context():
    def check() -> None:
        forwarded = Caller("ops", Role.ADMIN).forwarded_by("coordinator", "corr-1")
        assert caller_of(forwarded) is forwarded
        assert current_caller.get() is forwarded and correlation_id.get() == "corr-1"
        assert forwarded.via == "coordinator" and forwarded.service == "ops"

    contextvars.copy_context().run(check)  # each request runs in its own context


def test_handle_call_without_a_caller_is_in_cluster():
    assert caller_of(object()).service == "in-cluster"
