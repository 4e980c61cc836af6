"""The built website in a real browser (headless Chromium, installed by ``make browser``).

Run after ``make book`` (``make test`` does both). For every chapter page: it loads with no
JavaScript error, its math is typeset by MathJax, its figures and animations are present, and the
Colab launch button points at the chapter's notebook in the repository, and every launch link
opens a file the repository has (there is no Binder button). No page scrolls sideways at 1280 px
or at a phone's 390 px. In-site search finds "transposed". A full-page screenshot of each page is
saved under ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
BRANCH = CONFIG["repository"].get("branch", "main")
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
PAGES = ["intro", *(f"chapters/{c}" for c in CHAPTERS), "chapters/instructor_guide", "chapters/api_reference"]
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
]

pytestmark = pytest.mark.browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the base class names its argument `format`
        pass


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `make book` first (`make test` does)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("chromium and chromedriver are missing: run `make browser` (`make test` does)")
    profile = tempfile.mkdtemp(prefix="convlab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(condition))


# pydata-sphinx-theme logs this with console.error on a visitor's very first page (empty
# localStorage) and then picks the light theme; it is not a failure of the page.
KNOWN_THEME_MESSAGES = ("Got invalid theme mode",)


def _save_full_page(driver, path: Path) -> None:
    """A screenshot of the whole page, not only the window, for a person to look at.

    The viewport is made as tall as the page and captured as it is (no clip): a clip in page
    coordinates is offset by the theme's off-canvas sidebars and cut the page's left third off.
    """
    import base64

    width = driver.execute_script("return document.documentElement.clientWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "height": min(height, 16000), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.write_bytes(base64.b64decode(shot["data"]))


def _severe_logs(driver) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(m in entry["message"] for m in KNOWN_THEME_MESSAGES)
    ]


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly(site, browser, page):
    browser.get(f"{site}/{page}.html")
    _wait(browser, "return document.readyState === 'complete'")
    has_math = browser.execute_script("return document.querySelectorAll('.math, span.math').length > 0")
    if has_math:
        _wait(browser, "return document.querySelectorAll('mjx-container').length > 0")
        errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length")
        assert errors == 0, f"{page}: {errors} formulas failed to typeset"
    _save_full_page(browser, SHOTS / f"{page.replace('/', '_')}.png")
    assert _severe_logs(browser) == [], f"{page}: JavaScript errors"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_figures_and_colab_button(site, browser, chapter):
    browser.get(f"{site}/chapters/{chapter}.html")
    _wait(browser, "return document.readyState === 'complete'")
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('article img'))"
        ".filter(i => i.complete && i.naturalWidth > 0).length"
    )
    assert images >= 1, f"{chapter}: no rendered figure"
    broken = browser.execute_script(
        "return Array.from(document.querySelectorAll('article img'))"
        ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == [], f"{chapter}: broken images {broken}"
    colab = browser.execute_script(
        "return Array.from(document.querySelectorAll('a'))"
        ".map(a => a.href).filter(h => h.includes('colab.research.google.com'))"
    )
    expected = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/chapters/{chapter}.ipynb"
    assert expected in colab, f"{chapter}: Colab launch links {colab}"
    # every launch link (the chapter's, the exercises') opens a file that exists in the repository
    prefix = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/"
    for link in colab:
        assert link.startswith(prefix), f"{chapter}: {link} is not this repository's {BRANCH} branch"
        assert (ROOT / link.removeprefix(prefix)).is_file(), f"{chapter}: {link} opens a missing file"
    binder = browser.execute_script(
        "return Array.from(document.querySelectorAll('a')).map(a => a.href).filter(h => h.includes('binder'))"
    )
    assert binder == [], f"{chapter}: Binder links lead to no environment: {binder}"


# A desktop window and a phone (iPhone 12-15 width): the text reflows, nothing scrolls sideways.
WIDTHS = {"desktop": (1280, 1600, False), "phone": (390, 844, True)}
# The outermost elements that stick out past the window's edges, so that a failure names what
# widens the page. Hidden off-canvas sidebars and content inside its own scroll box do not count.
OVERFLOWING = """
const width = document.documentElement.clientWidth, found = [];
const out = (r) => r.right > width + 0.5 || r.left < -0.5;
const boxed = (e) => {
  for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible' && !out(a.getBoundingClientRect())) return true;
  }
  return false;
};
for (const e of document.querySelectorAll('body *')) {
  const r = e.getBoundingClientRect();
  if (r.width === 0 || getComputedStyle(e).visibility !== 'visible' || !out(r)) continue;
  if (out(e.parentElement.getBoundingClientRect()) || boxed(e)) continue;
  found.push(`${e.tagName.toLowerCase()}.${e.className} [${Math.round(r.left)}, ${Math.round(r.right)}]: `
             + (e.innerText || '').slice(0, 60));
}
return found.slice(0, 5);
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_page_does_not_scroll_sideways(site, browser, page, width):
    w, h, mobile = WIDTHS[width]
    metrics = {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        browser.get(f"{site}/{page}.html")
        _wait(browser, "return document.readyState === 'complete'")
        # a typeset formula is wider than its TeX source: measure once MathJax has typeset the page
        if browser.execute_script("return document.querySelectorAll('.math, span.math').length > 0"):
            _wait(browser, "return document.querySelectorAll('mjx-container').length > 0")
            browser.set_script_timeout(30)
            browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "MathJax.startup.promise.then(() => done(true), () => done(false));"
            )
        scroll, client = browser.execute_script(
            "const e = document.documentElement; return [e.scrollWidth, e.clientWidth]"
        )
        culprits = browser.execute_script(OVERFLOWING) if scroll > client else []
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert scroll <= client, f"{page} at {w} px: the page is {scroll} px wide, scrolls sideways: {culprits}"


def test_animations_play_without_a_kernel(site, browser):
    """Each animated chapter embeds JS animations whose frames are real images."""
    found = {}
    for chapter in CHAPTERS:
        browser.get(f"{site}/chapters/{chapter}.html")
        _wait(browser, "return document.readyState === 'complete'")
        found[chapter] = browser.execute_script(
            "return Array.from(document.querySelectorAll('div.animation img'))"
            ".filter(i => i.naturalWidth > 0).length"
        )
    for chapter in ("conv1d", "conv2d", "conv_arithmetic", "transposed_conv"):
        assert found.get(chapter, 0) >= 1, f"{chapter}: no playable animation ({found})"


def test_search_finds_transposed(site, browser):
    browser.get(f"{site}/search.html?q=transposed")
    _wait(browser, "return document.querySelectorAll('ul.search li').length > 0", timeout=30)
    hits = browser.execute_script(
        "return Array.from(document.querySelectorAll('ul.search li a')).map(a => a.href)"
    )
    assert any("transposed_conv" in h for h in hits), hits
    browser.save_screenshot(str(SHOTS / "search_transposed.png"))


def test_training_cells_print_lines_not_a_bar_widget():
    """`make book` executes chapter 8 with CONVLAB_PROGRESS=print: a static page cannot draw tqdm's
    notebook widget, whose text fallback ("HBox(children=...)") would be all a reader saw."""
    page = HTML / "chapters" / "fcn.html"
    if not page.exists():
        pytest.fail("the book is not built: run `make book` first (`make test` does)")
    text = page.read_text()
    assert "epoch 1/4: loss" in text and "epoch 2/2: loss" in text
    for fallback in ("HBox(", "FloatProgress", "application/vnd.jupyter.widget-view", "epoch/s"):
        assert fallback not in text, fallback
