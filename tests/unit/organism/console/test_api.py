"""The console's routes on the organism's app, without Ray: the page and the assets it names come from the
package under the strict policy, public and outside the OpenAPI; nothing else is served."""

import re

import pytest
from fastapi.testclient import TestClient

from organism.console.api import ASSETS, CONTENT_SECURITY_POLICY, asset
from tests.fakes import organism_app_offline

client = TestClient(organism_app_offline())


def test_the_page_needs_no_token_and_answers_under_the_policy():
    page = client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert (page.headers["x-frame-options"], page.headers["referrer-policy"]) == ("DENY", "no-referrer")


def test_the_page_names_only_assets_that_are_served():
    named = set(re.findall(r'(?:src|href)="console/static/([^"]+)"', asset("index.html").decode()))
    imported = {m for name in ASSETS if name.endswith(".js") for m in re.findall(r"from '\./([^']+)'", asset(name).decode())}
    assert named | imported <= set(ASSETS) and "console.js" in named


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_each_asset_has_its_content_type(name):
    answer = client.get(f"/console/static/{name}")
    assert answer.status_code == 200 and answer.headers["content-type"] == ASSETS[name]
    assert answer.content == asset(name) and answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["index.html", "api.py", "..%2Fapi.py", "CONSOLE.JS", "x" * 65])
def test_nothing_else_is_served(name):
    assert client.get(f"/console/static/{name}").status_code in (404, 422)


def test_the_console_is_not_part_of_the_api_description():
    assert not [path for path in client.get("/openapi.json").json()["paths"] if "console" in path]
