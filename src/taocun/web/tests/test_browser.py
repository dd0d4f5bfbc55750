"""One real journey through the site in headless Chromium, on a 360-px-wide phone screen.

Needs Debian's ``chromium`` at /usr/bin/chromium (never ``playwright install``). Without it
the test is skipped, unless TAOCUN_REQUIRE_BROWSER=1 (CI), where a missing browser fails.
"""

import os
from pathlib import Path

import pytest

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from taocun.regions.tests.factories import small_tree

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
SCREENSHOT_DIR = Path(os.environ.get("TAOCUN_SCREENSHOT_DIR", "/tmp"))

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei"
        if os.environ.get("TAOCUN_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (TAOCUN_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    # The Playwright sync API runs an event loop in this thread; Django's ORM (used by the
    # test's own fixtures) refuses to run in such a thread unless told it is safe here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, request):
    """A fresh phone-sized page on the live server (``page.base_url``), in Chinese. A test
    module importing this fixture may set ``BROWSER_TIMEOUT_MS`` for slower pages."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
    context.set_default_timeout(getattr(request.module, "BROWSER_TIMEOUT_MS", 10_000))
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


def _assert_fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px wide"


def test_a_county_officer_signs_in_switches_language_and_drills_down_to_a_village(page):
    tree = small_tree()
    UserFactory(phone="+8613800138000", display_name="王科长", roles=[(Role.OFFICER, tree.yiwu)])

    page.goto(page.base_url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("link", name="行政区划").is_visible()
    _assert_fits_the_phone(page)

    # Sign in (Chinese, the default language).
    page.get_by_role("link", name="登录").first.click()
    page.get_by_label("手机号码").fill("138 0013 8000")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(page.base_url + "/")
    assert page.get_by_text("欢迎，王科长").is_visible()
    assert page.get_by_role("link", name="我的村").is_visible()
    _assert_fits_the_phone(page)

    # Switch to English: the same page, now in English.
    page.get_by_role("button", name="English").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.get_by_text("Welcome, 王科长").is_visible()
    assert page.get_by_role("link", name="My villages").is_visible()

    # Drill down province → prefecture → county → township → village.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Regions").click()
    page.wait_for_url("**/regions/")
    for name in ("浙江省", "金华市", "义乌市", "稠江街道", "前仓村委会"):
        page.locator("ul.list").get_by_role("link", name=name, exact=True).click()
        page.wait_for_selector(f"h1:has-text('{name}')")
        _assert_fits_the_phone(page)

    facts = page.locator("dl.facts")
    assert "Village committee (村委会)" in facts.inner_text()
    assert "1500" in facts.inner_text()
    assert "29.2700, 120.0300" in facts.inner_text()
    crumbs = page.get_by_role("navigation", name="You are here").inner_text()
    assert all(name in crumbs for name in ("浙江省", "金华市", "义乌市", "稠江街道"))
    page.screenshot(path=str(SCREENSHOT_DIR / "taocun-village-360.png"), full_page=True)

    # The officer of Yiwu may open the households of the village.
    page.get_by_role("link", name="Registered households").click()
    page.wait_for_selector("h1:has-text('Households of 前仓村委会')")
    _assert_fits_the_phone(page)


def test_live_search_and_french_pages_fit_the_phone(page):
    small_tree()
    page.goto(page.base_url + "/regions/search/")
    page.get_by_role("button", name="Français").click()
    page.wait_for_function("document.documentElement.lang === 'fr'")
    page.get_by_role("searchbox").fill("曹县")
    # htmx replaces the results as the user types (no page load).
    page.wait_for_selector("#results a:has-text('曹县大集镇')")
    assert "lieux trouvés" in page.locator("#results").inner_text()
    _assert_fits_the_phone(page)
    page.goto(page.base_url + "/accounts/signup/")
    _assert_fits_the_phone(page)
    page.screenshot(path=str(SCREENSHOT_DIR / "taocun-signup-fr-360.png"), full_page=True)
