"""Shoppers of the storefront, for ``benchmarks/load/run.py`` (or locust by hand).

    TAOCUN_LOAD_TARGETS=/tmp/taocun-load/targets.json .venv/bin/locust \\
        -f benchmarks/load/locustfile.py --host http://127.0.0.1:8000

Each simulated shopper browses as a buyer on a phone would: the market's home, category
pages (a top category or one of its children; sometimes page 2–5, sometimes sorted by
price or in stock only), searches in Chinese (苹果, 猕猴桃, 蜂蜜, 梨, 茶, two-word queries …;
sometimes with a province, a price range, in stock only, a certification or another sort;
sometimes page 2–5), product pages (mostly one found on the page just seen, else any
listed product), and now and then a shop's or a village's page. Pages are asked for in
Chinese, as the site's visitors mostly do. Anonymous: no login, no session.

Request names start with the page type (``home``, ``category``, ``search``, ``product``,
``shop``, ``village``) so that the runner can group them.

Environment:

``TAOCUN_LOAD_TARGETS``  the JSON file ``run.py`` writes from the load database: listed
                         product ids, category slugs, shop ids, village codes, provinces.
``TAOCUN_LOAD_THINK``    ``MIN,MAX`` seconds a shopper pauses between pages (``0``: none).
``TAOCUN_LOAD_TIMES``    where to write the raw response times per page type (JSON), for
                         percentiles per page type; recorded once all shoppers run.

Checkout is not here yet: see :func:`checkout` for the hook and how to wire it.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

from locust import between, constant, events
from locust.contrib.fasthttp import FastHttpUser

TARGETS = json.loads(Path(os.environ["TAOCUN_LOAD_TARGETS"]).read_text(encoding="utf-8"))
QUERIES = [
    "苹果",
    "猕猴桃",
    "蜂蜜",
    "梨",
    "茶",
    "红富士",
    "大米",
    "核桃",
    "土鸡蛋",
    "香菇",
    "枸杞",
    "五常大米",
    "有机 茶",
    "山东 苹果",
    "农家 腊肉",
    "榴莲",  # nothing matches
]
SORTS = ["relevance", "sales", "newest", "price_asc", "price_desc", "rating"]
CERTIFICATIONS = ["organic", "green_food", "geo_indication", "pollution_free"]
PRODUCT_LINK = re.compile(r'href="/market/p/(\d+)/"')
HEADERS = {"Accept-Language": "zh-CN,zh;q=0.9"}

# Raw response times per page type, from the end of the ramp-up on.
_times: dict[str, list[float]] = {}
_reset_at = [time.monotonic()]


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception, **_kwargs):
    if exception is None:
        _times.setdefault(name.split(" ", 1)[0], []).append(response_time)


@events.spawning_complete.add_listener
def _reset(**_kwargs):
    # All shoppers are running: where ``--reset-stats`` resets locust's own statistics.
    _times.clear()
    _reset_at[0] = time.monotonic()


@events.quitting.add_listener
def _write(**_kwargs):
    path = os.environ.get("TAOCUN_LOAD_TIMES")
    if path:
        Path(path).write_text(
            json.dumps({"duration_s": time.monotonic() - _reset_at[0], "times_ms": _times}),
            encoding="utf-8",
        )


def _think():
    low, _, high = os.environ.get("TAOCUN_LOAD_THINK", "1,3").partition(",")
    return between(float(low), float(high or low)) if float(high or low) > 0 else constant(0)


# --- checkout hook ----------------------------------------------------------------------

# How often a shopper checks out, relative to the browsing tasks' weights (they sum to 22).
# 0 until checkout exists; the task is not even registered while it is 0.
CHECKOUT_WEIGHT = 0


def checkout(user: Shopper, product_id: int) -> None:
    """HOOK — the checkout scenario, not written yet: orders are being built in
    ``src/taocun/orders``. Nothing here fakes it.

    To add it once checkout exists:

    1. have ``run.py`` create buyer accounts in the load database through
       ``accounts.services.user_sign_up`` (phones and one password written into the
       targets file), and give each shopper one in ``Shopper.on_start`` (log in with a
       POST to ``accounts:login``, keeping the CSRF cookie);
    2. here: GET the product page, pick an active variant, add it to the cart, check out
       and pay (the sandbox provider), each request named ``checkout …`` (and add
       ``"checkout"`` to ``run.PAGE_TYPES``); mark a refused sale (409 ``out_of_stock``)
       as a success, it is the expected answer when stock runs out;
    3. set ``CHECKOUT_WEIGHT`` above 0, give a few products a small stock so that shoppers
       race for the last units;
    4. after the run, in ``run.py``: no variant's stock below zero and no more units sold
       than there were (oversell), and the ledger balanced (payments' entries sum to zero
       per transaction), counted with SQL on the load database; report checkouts per
       second from the ``checkout`` rows.
    """
    raise NotImplementedError("checkout is not built yet: see this function's docstring")


# --- shoppers ---------------------------------------------------------------------------


class Shopper(FastHttpUser):
    wait_time = _think()

    def on_start(self) -> None:
        self.seen: list[int] = []

    def _page(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, headers=HEADERS, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            found = PRODUCT_LINK.findall(response.text or "")
            if found:
                self.seen = [int(pk) for pk in found]

    def home(self) -> None:
        self._page("/market/", "home")

    def category(self) -> None:
        slug = random.choice(TARGETS["categories"])
        params: dict[str, str] = {}
        name = "category"
        if random.random() < 0.3:
            params["sort"] = random.choice(["price_asc", "sales", "newest"])
            if random.random() < 0.5:
                params["in_stock"] = "1"
            name = "category + sort/filter"
        if random.random() < 0.3:
            params["page"] = str(random.randint(2, 5))
            name += ", page 2–5"
        self._page(f"/market/c/{slug}/?{_query(params)}", name)

    def search(self) -> None:
        params = {"q": random.choice(QUERIES)}
        name = "search"
        if random.random() < 0.4:
            name = "search + filters"
            if random.random() < 0.5:
                params["province"] = random.choice(TARGETS["provinces"])
            if random.random() < 0.5:
                low = random.choice([5, 10, 20, 50])
                params["price_min"] = str(low)
                params["price_max"] = str(low * random.choice([2, 4, 10]))
            if random.random() < 0.4:
                params["in_stock"] = "1"
            if random.random() < 0.15:
                params["certification"] = random.choice(CERTIFICATIONS)
            params["sort"] = random.choice(SORTS)
        if random.random() < 0.25:
            params["page"] = str(random.randint(2, 5))
            name += ", page 2–5"
        self._page(f"/market/search/?{_query(params)}", name)

    def product(self) -> None:
        if self.seen and random.random() < 0.8:
            product_id = random.choice(self.seen)
            name = "product (from a list)"
        else:
            product_id = random.randint(TARGETS["product_id_min"], TARGETS["product_id_max"])
            name = "product (any)"
        self._page(f"/market/p/{product_id}/", name)

    def shop(self) -> None:
        self._page(f"/market/shop/{random.choice(TARGETS['shops'])}/", "shop")

    def village(self) -> None:
        self._page(f"/market/village/{random.choice(TARGETS['villages'])}/", "village")

    def buy(self) -> None:
        checkout(self, random.choice(self.seen or [TARGETS["product_id_min"]]))

    tasks = {home: 2, category: 5, search: 6, product: 7, shop: 1, village: 1}
    if CHECKOUT_WEIGHT:
        tasks[buy] = CHECKOUT_WEIGHT


def _query(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
