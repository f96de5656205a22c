"""The operator console through the running stack (HAProxy in front), first over HTTP, then in headless Chromium.

Over HTTP: the page and its assets are served from the package with the right
content types under a strict Content-Security-Policy, need no token, hold no
data and reference nothing outside the stack. In the browser: a token pasted
once fills the overview; each tab shows what its routes answer; a resolve
test explains itself; a routed job's report is on the page; an admin
blacklists and lifts a miner from the page and finds it in the audit view; a
service token gets no admin controls and a forged action is refused;
attacker-controlled text (a blacklist reason, a rule's type) is shown as text
and runs nothing; the browser console stays free of errors. A full-page
screenshot of each page goes to docs/console/ (the README shows them).
"""

import re
from html.parser import HTMLParser

import httpx
import pytest
from ray import serve

from cognitive.app import build_app as build_cognitive
from coordinator.app import Coordinator
from coordinator.settings import CoordinatorSettings
from tests.browser import Browser
from tests.miners import job, load_miners
from tests.stack import (
    ADMIN_TOKEN,
    FACTS_TOKEN,
    REPO_ROOT,
    SERVICE_HEADERS,
    SERVICE_TOKEN,
    OrganismStack,
    deploy_organism,
    tear_down_organism,
)

SHOTS = REPO_ROOT / "docs" / "console"
PAYLOAD = '<img src=x onerror="document.title=\'pwned\'">'
EXTERNAL = re.compile(r"(https?:)?//[A-Za-z0-9]")  # an absolute or protocol-relative URL
TYPES = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> OrganismStack:
    """The organism with Coordinator and Cognitive beside it: the overview shows all three."""
    organism = deploy_organism(serve_url, tmp_path_factory.mktemp("console-state"))
    serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
    settings = CoordinatorSettings(routing_remote=True, organ_namespace=organism.settings.namespace)
    serve.run(Coordinator.options(num_replicas=1).bind(settings), name="coordinator", route_prefix="/pipeline")
    yield organism
    serve.delete("coordinator")
    serve.delete("cognitive")
    tear_down_organism(organism)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_page_is_served_under_a_strict_csp_with_no_token_and_no_data(stack: OrganismStack):
    page = httpx.get(f"{stack.base_url}/organism/console", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(p.strip().split(" ", 1) for p in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert all(policy[d] == "'self'" for d in ("script-src", "style-src", "connect-src", "img-src"))
    assert "unsafe" not in page.headers["content-security-policy"]
    assert (page.headers["x-content-type-options"], page.headers["cache-control"]) == ("nosniff", "no-store")
    epoch = stack.client.get("/registry").json()["epoch"]
    assert epoch not in page.text and "<script>" not in page.text  # no data, no inline script
    assert "/console" not in str(stack.client.get("/openapi.json").json()["paths"])  # a page, not the API


def test_every_asset_comes_from_the_package_and_nothing_references_another_site(stack: OrganismStack):
    base = f"{stack.base_url}/organism/"
    links = _Links()
    links.feed(httpx.get(base + "console", timeout=10).text)
    assert links.links and not [link for link in links.links if EXTERNAL.match(link)]
    assets = {link.rsplit("/", 1)[-1] for link in links.links} | {"kit.js", "jobs.js", "alerts.js"}  # those the entry imports
    for name in sorted(assets):
        answer = httpx.get(f"{base}console/static/{name}", timeout=10)
        assert answer.status_code == 200, name
        assert answer.headers["content-type"].split(";")[0] == TYPES[name.rsplit(".", 1)[-1]], name
        assert "content-security-policy" in answer.headers and answer.headers["x-content-type-options"] == "nosniff"
        assert not EXTERNAL.search(answer.text.replace("http://www.w3.org/2000/svg", "")), name
        assert not re.search(r"\b(innerHTML|outerHTML|insertAdjacentHTML|eval)\b|document\.write", answer.text), name
        if name.endswith(".js"):
            assert set(re.findall(r"from '([^']+)'", answer.text)) <= {"./kit.js", "./jobs.js", "./alerts.js"}, name
    for missing in ("nope.js", "..%2Fapi.py", "index.html"):
        refused = httpx.get(f"{base}console/static/{missing}", timeout=10)
        assert refused.status_code == 404 and "error" in refused.json(), missing  # the API's envelope, no file


# --- in the browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(stack: OrganismStack) -> Browser:
    window = Browser(f"{stack.base_url}/organism/console")
    yield window
    window.close()


@pytest.fixture(scope="module")
def routed(stack: OrganismStack) -> dict:
    """Miners (one blacklist reason an attacker wrote), a block, a routed job, and a rule with a hostile type."""
    client = stack.client
    assert client.put("/chain", json={"block": 25}).status_code == 200
    hotkeys = load_miners(client, {"a": 2, "b": 1, "c": 1}, "console")
    hostile = client.post(f"/miners/{hotkeys[2]}/blacklist", json={"reason": PAYLOAD, "duration_s": 3600})
    assert hostile.status_code == 200, hostile.text
    rule = client.put("/routing/rules", json={"add": [{"task_type": "<svg onload=alert(1)>", "logical_id": "utility_organ_1"}]})
    assert rule.status_code == 200, rule.text
    request = job()
    answer = client.post("/jobs/route", json=request, headers=SERVICE_HEADERS)
    assert answer.status_code == 200, answer.text
    for _ in range(4):  # one remote resolve, then answers from the coordinator's cache
        step = httpx.post(f"{stack.base_url}/pipeline/route", json={"type": "graph_embed"}, headers=SERVICE_HEADERS)
        assert step.status_code == 200, step.text
    return {"hotkeys": hotkeys, "uuid": request["uuid"], "miner": answer.json()["miner"]["hotkey"]}


def test_a_pasted_token_fills_the_overview_and_it_refreshes_itself(browser: Browser, stack: OrganismStack, routed: dict):
    browser.open(signed_out=True)
    assert browser.find("#tabs[hidden]") and not browser.text()  # nothing shown before a token
    browser.sign_in(SERVICE_TOKEN)
    epoch = stack.client.get("/registry").json()["epoch"]
    shown = browser.wait_for_text("graph_dispatcher", "utility_organ_1", "actuator_organ_1", epoch, "in step",
                                  "breaker closed", "current block", "None would fire.")
    counted = re.search(r"cache hit rate\s*([\d.]+) % of the last 4 routes.*remote calls\s*(\d), 0 failed", shown, re.S)
    assert counted, shown  # the four routes of `routed`: the first remote, the rest from the cache once it holds
    assert float(counted[1]) == (4 - int(counted[2])) * 25 and int(counted[2]) >= 1
    assert "organism" in shown and "coordinator" in shown and "cognitive" in shown
    first = browser.text("#status")
    browser.wait(lambda: browser.text("#status") != first, timeout_s=6)  # polled again, without reloading
    assert "Bearer" not in browser.driver.current_url and SERVICE_TOKEN not in browser.driver.current_url
    assert browser.driver.execute_script("return sessionStorage.getItem('routing-console-token')") == SERVICE_TOKEN
    browser.screenshot(SHOTS / "overview.png")
    assert browser.accessibility_problems() == []
    assert browser.console_errors() == []


def test_task_routing_shows_rules_and_explains_a_resolve(browser: Browser, routed: dict):
    browser.sign_in(SERVICE_TOKEN)
    browser.tab("tasks")
    browser.wait_for_text("graph_dispatcher", "fallback", "<svg onload=alert(1)>")  # shown as text
    assert not browser.find("#page svg") and "Change a rule" not in browser.text()  # no admin control for a service
    browser.fill("Task type", "graph_embed")
    browser.fill("Domain (optional)", "facts")
    browser.press("Resolve and explain")
    browser.wait_for_text("Instances considered", "task: graph_embed -> graph_dispatcher", "chosen")
    browser.screenshot(SHOTS / "task-routing.png")
    assert browser.accessibility_problems() == []
    assert browser.console_errors() == []


def test_an_admin_previews_a_rule_change_before_applying_it(browser: Browser, stack: OrganismStack, routed: dict):
    for _ in range(8):  # both replicas resolve the key lately: the preview can say it would move
        stack.resolve("graph_embed", "legal")
    browser.sign_in(ADMIN_TOKEN)
    browser.tab("tasks")
    browser.wait_for_text("Change a rule (admin)")
    assert browser.button("Apply this change") is None  # nothing to apply before a preview
    browser.fill("Task type", "graph_embed", within="#page form.rule-change")
    browser.fill("Domain (optional)", "legal", within="#page form.rule-change")
    browser.fill("Logical id (to add)", "utility_organ_1")
    browser.press("Preview (dry run)")
    browser.wait_for_text("Preview: of", "would move")
    browser.screenshot(SHOTS / "task-routing-admin.png")
    assert browser.accessibility_problems() == []
    new_rule = {"task_type": "graph_embed", "domain": "legal", "logical_id": "utility_organ_1"}
    assert new_rule not in stack.client.get("/routing/rules").json()["rules"]  # a preview changes nothing
    browser.press("Apply this change")
    browser.wait_for_text("Applied at control-plane version")
    assert new_rule in stack.client.get("/routing/rules").json()["rules"]
    browser.wait_for_text("legal")
    assert browser.console_errors() == []


def test_a_routed_jobs_state_history_and_report_are_on_the_job_page(browser: Browser, routed: dict):
    browser.sign_in(SERVICE_TOKEN)
    browser.tab("jobs")
    browser.wait_for_text(*routed["hotkeys"], routed["uuid"], PAYLOAD)  # the hostile reason, as text
    assert browser.driver.title == "Routing console" and not browser.find("#page img")
    assert not [b for b in browser.driver.find_elements("css selector", "#page button") if b.text.startswith(("Blacklist", "Lift"))]
    assert not browser.find("#page td button[aria-label]")  # no action column for a service
    browser.fill("Job uuid", routed["uuid"])
    browser.press("Look up")
    browser.wait_for_text("Routing reports, newest first", "Pick 1: selected", "not_blacklisted", "History")
    assert routed["miner"] in browser.text("#page .card:last-child .result")
    browser.press("Try a pick (dry run)")  # each miner's filter verdicts for the class, nothing booked
    browser.wait_for_text("Would pick: selected", "fresh_manifest")
    browser.screenshot(SHOTS / "job-routing.png")
    assert browser.accessibility_problems() == []
    assert browser.console_errors() == []


def test_an_admin_blacklists_and_lifts_a_miner_from_the_page_and_finds_it_audited(
        browser: Browser, stack: OrganismStack, routed: dict):
    target = routed["hotkeys"][1]
    browser.sign_in(ADMIN_TOKEN)
    browser.tab("jobs")
    browser.press(f"Blacklist {target}...")
    browser.fill("Reason", "late results from the console")
    browser.fill("Duration in seconds (empty: permanent)", "600")
    browser.press("Blacklist")
    browser.wait_for_text(f"Blacklisted {target}.", "late results from the console")
    assert stack.client.get(f"/miners/{target}").json()["blacklist"]["reason"] == "late results from the console"
    browser.tab("audit")
    browser.fill("Action or prefix", "miner.blacklist")
    browser.press("Filter")
    browser.wait_for_text("miner.blacklist", target, "tests (admin)")
    browser.tab("jobs")
    browser.press(f"Lift {target}")
    browser.wait_for_text(f"Lifted the blacklist of {target}.")
    assert stack.client.get(f"/miners/{target}").json()["blacklist"] is None
    browser.tab("audit")
    browser.wait_for_text("miner.blacklist.lift", target)
    browser.screenshot(SHOTS / "audit.png")
    assert browser.accessibility_problems() == []
    browser.tab("jobs")
    browser.wait(lambda: browser.button(f"Lift {routed['hotkeys'][2]}"))
    browser.screenshot(SHOTS / "job-routing-admin.png")
    assert browser.accessibility_problems() == []
    assert browser.console_errors() == []


def test_a_service_token_gets_no_admin_action_and_a_forged_one_is_refused(browser: Browser, stack: OrganismStack,
                                                                            routed: dict):
    browser.sign_in(SERVICE_TOKEN)
    browser.tab("audit")
    browser.wait_for_text("Audit trail unavailable: Forbidden")
    forged = browser.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/organism/miners/' + arguments[0] + '/blacklist', {method: 'POST', body: '{"reason": "forged"}',
              headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('routing-console-token'),
                        'Content-Type': 'application/json'}}).then(r => done(r.status));""", routed["hotkeys"][0])
    assert forged == 403 and stack.client.get(f"/miners/{routed['hotkeys'][0]}").json()["blacklist"] is None
    errors = browser.console_errors()
    assert errors and all("status of 403" in e for e in errors), errors  # the refusals, nothing else
    browser.sign_in(FACTS_TOKEN)  # the feeder's role reads nothing here: it is told so, the page stays up
    browser.tab("overview")
    browser.wait_for_text("Control plane unavailable: Forbidden", "this token's role may not see it")
    browser.console_errors()


def test_an_admin_refreshes_the_caches_from_the_overview(browser: Browser):
    browser.sign_in(ADMIN_TOKEN)
    browser.tab("overview")
    browser.press("Refresh the route caches")
    browser.wait_for_text("Caches refreshed: control-plane version")
    assert browser.console_errors() == []


def test_the_overview_names_an_alert_that_would_fire(browser: Browser, stack: OrganismStack, routed: dict):
    browser.sign_in(SERVICE_TOKEN)
    browser.tab("overview")
    browser.wait_for_text("None would fire.")
    limit = stack.client.patch("/config", json={"DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS": 1})
    assert limit.status_code == 200, limit.text  # the block reported by `routed` is older than that now
    try:
        shown = browser.wait_for_text("RoutingBlockReportStale", "critical", "picks are refused", css="#page")
        assert "None would fire." not in shown
    finally:
        assert stack.client.patch("/config", json={"DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS": 120}).status_code == 200
    browser.wait_for_text("None would fire.")
    assert browser.console_errors() == []


@pytest.mark.parametrize("tab, change, shown", [
    ("jobs", lambda client: load_miners(client, {"late": 1}, "console"), "console-late"),  # a miner registered
    ("audit", lambda client: client.put("/routing/rules", json={"add": [
        {"task_type": "live_check", "logical_id": "utility_organ_1"}]}), "live_check"),  # an admin's change
    ("tasks", lambda client: client.put("/routing/rules", json={"add": [
        {"task_type": "live_rule", "logical_id": "utility_organ_1"}]}), "live_rule"),
])
def test_each_page_follows_the_stack_by_itself(browser: Browser, stack: OrganismStack, routed: dict, tab, change, shown):
    browser.sign_in(ADMIN_TOKEN)
    page = browser.tab(tab)
    browser.wait_for_text("refreshes every 2 s", css="#status")
    assert shown not in browser.text()
    change(stack.client)  # made after the page was drawn, through the API
    browser.wait_for_text(shown, timeout_s=10)  # drawn by the page's own refresh
    assert browser.find(f"[data-page='{tab}']") == page  # the same page, not reloaded or opened again
    assert browser.console_errors() == []


def test_a_part_that_cannot_be_read_says_so_and_the_rest_of_the_page_fills(browser: Browser, stack: OrganismStack):
    browser.sign_in(SERVICE_TOKEN)
    browser.block("*/organism/registry")  # the registry's route down, the rest up
    try:
        browser.tab("overview")
        browser.wait_for_text("Registry unavailable: NoAnswer", "the stack may be restarting", "in step", "current block")
    finally:
        browser.block()
    browser.wait_for_text("graph_dispatcher", "active")  # and back by itself, without reloading
    assert all("ERR_BLOCKED_BY_CLIENT" in e for e in browser.console_errors())


def test_a_bad_token_is_refused_and_forgotten(browser: Browser):
    browser.open(signed_out=True)
    browser.wait(lambda: browser.find("#token")).send_keys("not-a-token")
    browser.click("#login-form button[type=submit]")
    browser.wait_for_text("That is not a token", css="#login-error")
    browser.driver.find_element("css selector", "#token").send_keys("eyJ.eyJzdWIiOiJ4In0.sig")
    browser.click("#login-form button[type=submit]")
    browser.wait_for_text("The token was refused", css="#login-error")
    assert browser.driver.execute_script("return sessionStorage.getItem('routing-console-token')") is None
    browser.console_errors()
