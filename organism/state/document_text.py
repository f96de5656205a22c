"""The text a document is stored as: orjson, with the standard library for what orjson refuses. Pure.

Every write (a pick writes its job, booking and routing report) encodes its
documents; orjson does it several times faster than `json.dumps`, which is
most of what a routing report costs a pick (README, *Performance*). orjson
refuses an integer beyond 64 bits (a collateral in wei can be one): that
document is encoded by `json.dumps`, as is anything orjson cannot encode, so
what cannot be stored still fails before any write. Text from either is read
back by `json.loads` alike. NaN and infinities are refused at the API
(`contracts.bounds`) and never reach a document.
"""

import json
from typing import Any

import orjson


def document_text(doc: Any) -> str:
    try:
        return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(doc)
