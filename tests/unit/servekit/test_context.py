"""The request context: what log records and handle calls carry."""

import logging

from contracts.identity import Caller, Role
from servekit.context import RequestContextFilter, correlation_id, current_caller


def test_log_records_carry_correlation_id_caller_and_x_service():
    token_id = correlation_id.set("corr-9")
    token_caller = current_caller.set(Caller("coordinator", Role.SERVICE, declared_service="billing"))
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        assert RequestContextFilter().filter(record)
        assert (record.correlation_id, record.caller, record.x_service) == ("corr-9", "coordinator/service", "billing")
    finally:
        correlation_id.reset(token_id)
        current_caller.reset(token_caller)
