"""HTTP routes of the operator console (`GET /organism/console` and its assets): a page, no data.

The console is plain HTML, one CSS file and three small JavaScript modules
shipped in this package (`static/`, read with `importlib.resources`), so the
stack serves it itself on the Serve ingress: no separate server, no CDN,
nothing fetched from elsewhere at run time. The page needs no token and
holds no data; the operator pastes a token once, the page keeps it in
`sessionStorage` and sends it as a bearer to the same JSON routes the CLI
uses, so the console has no powers of its own (every action is an API call,
checked and audited as any other).

Every answer carries a strict Content-Security-Policy: scripts, styles,
images and fetches from this origin only, no inline script or style, no
plugins, no framing, no form posts; beside it `nosniff`, no referrer and no
caching of the page. Only the assets named in `ASSETS` are served (a `404`
otherwise). The routes are public and left out of the OpenAPI: they answer
HTML, not the API's JSON.
"""

from functools import cache
from importlib import resources

from fastapi import Path, Response

from servekit.errors import ApiError
from servekit.routes import route

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PAGE = "index.html"
ASSETS = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "kit.js": "text/javascript; charset=utf-8",
    "jobs.js": "text/javascript; charset=utf-8",
    "alerts.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}


@cache
def asset(name: str) -> bytes:
    """One file of the console's package data, read once per process."""
    return resources.files(__package__).joinpath("static", name).read_bytes()


def _answer(body: bytes, content_type: str, cache_control: str) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control}
    return Response(content=body, media_type=content_type, headers=headers)


class ConsoleApi:
    """The console's routes; they hold nothing, the page asks the API itself."""

    @route.get("/console", include_in_schema=False)
    async def page(self) -> Response:
        return _answer(asset(PAGE), "text/html; charset=utf-8", "no-store")

    @route.get("/console/static/{name}", include_in_schema=False)
    async def static(self, name: str = Path(max_length=64)) -> Response:
        content_type = ASSETS.get(name)
        if content_type is None:
            raise ApiError(404, "NotFound", "no such console asset", details={"name": name})
        return _answer(asset(name), content_type, "no-cache")
