"""Every input's bounds, in one place: the constrained types every model uses. Pure.

Nothing reaches a store, an actor or an organ before it passed one of these:
- identifiers (task types, domains, logical ids): printable, no control,
  format or bidi characters, NFC-normalized, at most 200 characters;
- hotkeys: a documented safe subset of the chain's SS58 alphabet plus `._-`,
  1-64 characters; addresses: a host name, IPv4 or IPv6 literal;
- free text (reasons): no control characters, at most 500 characters;
- numbers: strict (no `"12"` for 12, no `"yes"` for true), integers within
  the domain's range, floats finite and within theirs;
- free-form JSON (`params`): at most `MAX_JSON_DEPTH` levels, `MAX_JSON_NODES`
  values and `MAX_JSON_STRING` characters per string, no lone surrogates, no
  NaN or infinity.
Task types and domains are normalized here and nowhere else (`TaskType`,
`Domain`): stripped and lower-cased, an empty domain is None; every later
layer trusts them. Each type's error message names the limit it enforces.
"""

import math
import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints

MAX_IDENTIFIER = 200
MAX_TEXT = 500
MAX_JSON_DEPTH = 32
MAX_JSON_NODES = 10_000
MAX_JSON_STRING = 65_536

BLOCK_MAX = 2**32  # a block every 12 s: 1,600 years of chain
SECONDS_MAX = 7 * 24 * 3600  # a job's time limits, a receipt's ttl
DURATION_MAX_S = 366 * 24 * 3600  # a temporary blacklist entry
WEI_MAX = 10**30  # above every token supply there is
UNIX_TIME_MIN = 1_577_836_800.0  # 2020-01-01: a timestamp before it is a mistake
UNIX_TIME_MAX = 4_102_444_800.0  # 2100-01-01


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode (no lone surrogates)") from error
    return value


def _identifier(value: str) -> str:
    value = unicodedata.normalize("NFC", _no_surrogates(value))
    if not value.isprintable():
        raise ValueError("must contain only printable characters (no control, format or bidi characters)")
    return value


def _free_text(value: str) -> str:
    _no_surrogates(value)
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ValueError("must not contain control, format or bidi characters")
    return value


def _not_blank(value: str) -> str:
    # Python's notion of whitespace, the one normalization uses (pydantic's strip
    # keeps control characters such as "\x1f" that str.strip() removes).
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def normalized(value: str) -> str:
    """The one normalization of task types and domains: stripped and lower-cased."""
    return value.strip().lower()


def _domain(value: str | None) -> str | None:
    return normalized(value or "") or None


def _blank_is_none(value: str | None) -> str | None:
    return (value or "").strip() or None


def bounded_json(value: Any) -> Any:
    """Walk free-form JSON without recursion; refuse what is too deep, too large or not JSON."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_JSON_NODES:
            raise ValueError(f"must hold at most {MAX_JSON_NODES} values")
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"must nest at most {MAX_JSON_DEPTH} levels deep")
            for key, child in item.items():
                _bounded_string(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"must nest at most {MAX_JSON_DEPTH} levels deep")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _bounded_string(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("must not contain NaN or infinity")
    return value


def _bounded_string(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError("keys must be strings")
    if len(value) > MAX_JSON_STRING:
        raise ValueError(f"strings must be at most {MAX_JSON_STRING} characters")
    _no_surrogates(value)


_HOTKEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HOST = re.compile(r"\[?[0-9A-Fa-f:.]{2,45}\]?|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _hotkey(value: str) -> str:
    if not _HOTKEY.fullmatch(value):
        raise ValueError("must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
    return value


def _address(value: str) -> str:
    if not _HOST.fullmatch(value):
        raise ValueError("must be a host name or an IPv4/IPv6 address")
    return value


def _wei(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("wei must be an integer or a decimal string (a float loses precision)")
    if isinstance(value, str):
        digits = value.strip()
        if not digits.isascii() or not digits.isdigit() or len(digits) > 31:
            raise ValueError(f"wei must be a decimal integer string of at most {WEI_MAX} (31 digits)")
        return int(digits)
    return value


Identifier = Annotated[str, StringConstraints(max_length=MAX_IDENTIFIER), AfterValidator(_identifier)]
NonBlank = Annotated[Identifier, AfterValidator(_not_blank)]
FreeText = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_free_text)]
Hotkey = Annotated[str, StringConstraints(max_length=64), AfterValidator(_hotkey)]
Address = Annotated[str, StringConstraints(max_length=253), AfterValidator(_address)]
JsonObject = Annotated[dict[str, Any], AfterValidator(bounded_json)]
TaskType = Annotated[NonBlank, AfterValidator(normalized)]
TaskTypeOrBlank = Annotated[Identifier, AfterValidator(normalized)]  # a bulk item's: blank is that item's error
Domain = Annotated[Identifier | None, AfterValidator(_domain)]
OptionalId = Annotated[Identifier | None, AfterValidator(_blank_is_none)]  # a logical id hint: blank is none

BlockNumber = Annotated[int, Field(strict=True, ge=0, le=BLOCK_MAX)]
Seconds = Annotated[int, Field(strict=True, ge=0, le=SECONDS_MAX)]
Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
Count = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
Flag = Annotated[bool, Field(strict=True)]
DurationS = Annotated[float, Field(gt=0, le=DURATION_MAX_S, allow_inf_nan=False)]
TtlS = Annotated[float, Field(gt=0, le=SECONDS_MAX, allow_inf_nan=False)]
UnixTime = Annotated[float, Field(ge=UNIX_TIME_MIN, le=UNIX_TIME_MAX, allow_inf_nan=False)]
AllowanceSeconds = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
WeiAmount = Annotated[
    int, BeforeValidator(_wei), Field(ge=0, le=WEI_MAX), PlainSerializer(str, return_type=str, when_used="json")
]
