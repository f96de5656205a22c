"""A real browser for the console's tests: Debian's headless Chromium driven by Selenium through chromium-driver.

`Browser` opens the console, signs in with a token the way an operator does
(pasted into the form), waits for text to appear, saves full-page
screenshots, reads the browser's console log (errors, CSP violations), runs
axe-core's accessibility rules on a page, and blocks URLs to play a part of
the stack that is down.
The driver is the system's (`/usr/bin/chromedriver`, `.ci/os-packages`
installs it): Selenium never downloads one.
"""

import base64
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from selenium_axe_python import Axe

WIDTH, HEIGHT = 1360, 900


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        raise RuntimeError("Chromium and its driver are missing: bash .ci/os-packages (apt-get install chromium chromium-driver)")
    return browser, driver


class Browser:
    """One headless Chromium window on the console."""

    def __init__(self, console_url: str) -> None:
        browser, driver = chromium_paths()
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={WIDTH},{HEIGHT}", "--force-device-scale-factor=1", "--hide-scrollbars"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.url = console_url
        self.log: list[dict[str, Any]] = []

    def close(self) -> None:
        self.driver.quit()

    # --- what an operator does -----------------------------------------------------------------
    def open(self, signed_out: bool = False) -> None:
        """The console in this tab; `signed_out`: with the tab's session storage (the token) cleared first."""
        self.driver.get(self.url)
        if signed_out:
            self.driver.execute_script("sessionStorage.clear()")
            self.driver.get(self.url)
        self.wait(lambda: self.find("#login-form") or self.find("#tabs:not([hidden])"))

    def sign_in(self, token: str) -> None:
        if self.find("#who:not([hidden])"):
            self.click("#forget")
        field = self.wait(lambda: self.find("#token"))
        field.clear()
        field.send_keys(token)
        self.click("#login-form button[type=submit]")
        self.wait(lambda: self.find("#tabs:not([hidden])"))

    def tab(self, name: str) -> WebElement:
        self.click(f"#tabs button[data-tab='{name}']")
        return self.wait(lambda: self.find(f"[data-page='{name}']"))

    def fill(self, label: str, value: str, within: str = "#page") -> None:
        """Type into the input labelled `label` (its <label for>), as a keyboard user would."""
        labels = [e for e in self.driver.find_elements(By.CSS_SELECTOR, f"{within} label") if e.text == label]
        assert labels, f"no field labelled {label!r}"
        field = self.driver.find_element(By.ID, labels[0].get_attribute("for"))
        if field.tag_name == "select":
            field.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            field.clear()
            field.send_keys(value)

    def press(self, text: str, within: str = "#page") -> None:
        """Click the button whose text (or accessible name, when it has one) is `text`."""
        self.wait(lambda: self.button(text, within)).click()

    # --- what the test looks at ----------------------------------------------------------------------
    def find(self, css: str) -> WebElement | None:
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def click(self, css: str) -> None:
        self.wait(lambda: self.find(css)).click()

    def button(self, text: str, within: str = "#page") -> WebElement | None:
        buttons = [b for b in self.driver.find_elements(By.CSS_SELECTOR, f"{within} button")
                   if text in (b.text, b.get_attribute("aria-label"))]
        return buttons[0] if buttons and buttons[0].is_enabled() else None

    def text(self, css: str = "#page") -> str:
        found = self.find(css)
        return found.text if found else ""

    def wait(self, condition: Callable[[], Any], timeout_s: float = 20.0) -> Any:
        return WebDriverWait(self.driver, timeout_s, poll_frequency=0.1).until(lambda _: condition())

    def wait_for_text(self, *texts: str, css: str = "#page", timeout_s: float = 30.0) -> str:
        try:
            return self.wait(lambda: (shown := self.text(css)) and all(t in shown for t in texts) and shown, timeout_s)
        except TimeoutException:
            shown = self.text(css)
            raise AssertionError(f"not shown in {css}: {[t for t in texts if t not in shown]}; shown: {shown[:3000]}") from None

    def screenshot(self, path: Path) -> None:
        """The whole page, not only the window (Chromium's DevTools capture beyond the viewport)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        width, height = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))

    def accessibility_problems(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it is now (WCAG 2 A and AA rules)."""
        axe = Axe(self.driver)
        axe.inject()  # through WebDriver, which the page's CSP does not govern; the page itself loads nothing
        results = axe.run(options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "best-practice"]}})
        return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})" for v in results["violations"]
                if v["impact"] in ("serious", "critical")]

    def block(self, *patterns: str) -> None:
        """Requests to URLs matching `patterns` fail from now on, as when a part of the stack is down (none: all pass)."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": list(patterns)})

    def console_errors(self) -> list[str]:
        """The browser console's errors since the last call (uncaught exceptions, CSP violations, failed loads)."""
        self.log += self.driver.get_log("browser")
        errors = [entry["message"] for entry in self.log if entry["level"] == "SEVERE"]
        self.log.clear()
        return errors
