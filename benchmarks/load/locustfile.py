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

``Buyer`` users only check out (``run.py --scenario checkout``): see :func:`checkout`.
They need ``TAOCUN_LOAD_CHECKOUT`` (the ``checkout.json`` of ``run.py``: buyers' API tokens
and address ids, the packs to buy, the scarce packs) and ``TAOCUN_SANDBOX_SECRET`` (the
server's sandbox secret: callbacks are signed with it by ``payments.providers.sandbox``).
``TAOCUN_LOAD_CHECKOUT_WEIGHT`` mixes checkouts into the shoppers' pages (0 by default).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from shopping import search_drawn

TARGETS = json.loads(Path(os.environ["TAOCUN_LOAD_TARGETS"]).read_text(encoding="utf-8"))
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
    _outcomes.clear()
    _flow_ms.clear()
    _reset_at[0] = time.monotonic()


@events.quitting.add_listener
def _write(**_kwargs):
    path = os.environ.get("TAOCUN_LOAD_TIMES")
    if path:
        Path(path).write_text(
            json.dumps(
                {
                    "duration_s": time.monotonic() - _reset_at[0],
                    "times_ms": _times,
                    "checkout_outcomes": _outcomes,
                    "checkout_flow_ms": _flow_ms,
                }
            ),
            encoding="utf-8",
        )


def _think():
    low, _, high = os.environ.get("TAOCUN_LOAD_THINK", "1,3").partition(",")
    return between(float(low), float(high or low)) if float(high or low) > 0 else constant(0)


# --- checkout --------------------------------------------------------------------------

# How often a browsing shopper checks out, relative to the browsing tasks' weights (they
# sum to 22): ``TAOCUN_LOAD_CHECKOUT_WEIGHT``, 0 by default so that the browsing series stay
# comparable; the task is not even registered while it is 0. The ``Buyer`` class below
# does nothing but check out (``run.py --scenario checkout``).
CHECKOUT_WEIGHT = int(os.environ.get("TAOCUN_LOAD_CHECKOUT_WEIGHT", "0"))
CHECKOUT = (
    json.loads(Path(os.environ["TAOCUN_LOAD_CHECKOUT"]).read_text(encoding="utf-8"))
    if os.environ.get("TAOCUN_LOAD_CHECKOUT")
    else None
)
# Outcomes of whole checkouts since the ramp-up: placed, paid, refused as out of stock
# (expected for the scarce packs) and failures by kind; and each paid checkout's time from
# the first cart request to the callback's answer.
_outcomes: dict[str, int] = {}
_flow_ms: list[float] = []
_buyer_next = [0]
# Scarce packs seen sold out (one locust process: shared by every user). The scarce line of
# a checkout is the first scarce pack not in here, so buyers race for the same last units.
_sold_out: set[int] = set()


def _count(kind: str) -> None:
    _outcomes[kind] = _outcomes.get(kind, 0) + 1


def _sandbox():
    """The sandbox provider of taocun's payments code, with the secret the server has
    (``TAOCUN_SANDBOX_SECRET``): callbacks are built and signed by its own functions."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            PAYMENTS_SANDBOX_SECRET=os.environ["TAOCUN_SANDBOX_SECRET"], USE_I18N=False
        )
    from taocun.payments.providers.sandbox import SandboxProvider

    return SandboxProvider()


def _buyer_account(user) -> None:
    """Each simulated user is one buyer account (its own cart), with an API token made by
    ``run.py``: the bearer token is the login."""
    buyers = CHECKOUT["buyers"]
    if _buyer_next[0] >= len(buyers):
        raise RuntimeError(f"only {len(buyers)} buyer accounts prepared: raise --buyers")
    account = buyers[_buyer_next[0]]
    _buyer_next[0] += 1
    user.buyer = account
    user.auth = {"Authorization": f"Bearer {account['token']}", **HEADERS}
    user.sandbox = _sandbox()


def _error_code(response) -> str:
    try:
        return (response.json() or {}).get("code") or f"HTTP {response.status_code}"
    except Exception:
        return f"HTTP {response.status_code}"


def _pick_lines() -> list[dict]:
    """1–3 packs from 1–2 shops: mostly from the well-stocked pool, sometimes one of the
    scarce packs everyone races for."""
    shops = CHECKOUT["by_shop"]
    chosen = random.sample(list(shops), random.choice([1, 1, 2]))
    lines: dict[int, int] = {}
    for shop in chosen:
        for variant in random.sample(shops[shop], min(len(shops[shop]), random.randint(1, 2))):
            if len(lines) < 3:
                lines[variant] = random.choice([1, 1, 2])
    left = [v for v in CHECKOUT["scarce"] if v not in _sold_out]
    if left and random.random() < CHECKOUT["scarce_share"]:
        scarce = left[0]
        lines.pop(next(iter(lines))) if len(lines) == 3 else None
        lines[scarce] = 1
    return [{"variant_id": v, "quantity": q} for v, q in lines.items()]


def checkout(user, product_id: int | None = None) -> None:
    """One checkout as a phone app does it, through the API with the buyer's token:

    1. ``POST /api/v1/orders/cart/lines`` for each of 1–3 packs from 1–2 shops (a 400
       ``out_of_stock`` here is a sold-out pack: the line is left out);
    2. ``POST /api/v1/orders/checkouts`` with what the cart holds, at the prices it showed,
       and an ``Idempotency-Key``; 409 ``out_of_stock`` is the expected answer when others
       took the last units (the lines are then taken out of the cart);
    3. payment as the provider does it: the sandbox's signed notification (built and signed
       by ``payments.providers.sandbox``) posted to ``/payments/callback/sandbox/``.

    ``product_id`` is unused: the packs come from the pool ``run.py`` prepared.
    """
    started = time.perf_counter()
    cart: list[dict] = []
    for line in _pick_lines():
        with user.client.post(
            "/api/v1/orders/cart/lines",
            json=line,
            headers=user.auth,
            name="checkout 1 cart add",
            catch_response=True,
        ) as response:
            code = response.status_code
            if code == 201:
                cart = [item for group in response.json()["groups"] for item in group["items"]]
                response.success()
            elif code == 400 and _error_code(response) == "out_of_stock":
                _sold_out.add(line["variant_id"])
                _count("cart add: out_of_stock (expected)")
                response.success()
            else:
                _count(f"cart add: {_error_code(response)}")
                response.failure(_error_code(response))
    if not cart:
        _count("nothing to buy (every pack sold out)")
        return
    lines = [
        {"variant_id": i["variant_id"], "quantity": i["quantity"], "price_fen": i["price_fen"]}
        for i in cart
    ]
    with user.client.post(
        "/api/v1/orders/checkouts",
        json={"address_id": user.buyer["address_id"], "lines": lines},
        headers={**user.auth, "Idempotency-Key": f"load-{uuid.uuid4().hex}"},
        name="checkout 2 place",
        catch_response=True,
    ) as response:
        if response.status_code == 201:
            placed = response.json()
            response.success()
        else:
            placed = None
            code = _error_code(response)
            if response.status_code == 409 and code == "out_of_stock":
                _count("place: out_of_stock (expected)")
                for problem in response.json().get("lines") or []:
                    if problem.get("code") == "out_of_stock":
                        _sold_out.add(lines[problem["line"] - 1]["variant_id"])
                response.success()
            else:
                _count(f"place: {code}")
                response.failure(code)
    if placed is None:
        for line in lines:  # leave an empty cart for the next checkout
            user.client.delete(
                f"/api/v1/orders/cart/lines/{line['variant_id']}",
                headers=user.auth,
                name="checkout 2b cart remove",
            )
        return
    _count("placed")
    from taocun.core.money import Money

    fields = user.sandbox.callback_build(
        intent_id=placed["pay_url"].rstrip("/").rsplit("/", 1)[-1],
        reference=f"orders.checkout:{placed['id']}",
        status="paid",
        amount=Money(placed["total_fen"], "CNY"),
        now=datetime.now(UTC),
    )
    with user.client.post(
        "/payments/callback/sandbox/",
        data=fields,
        name="checkout 3 pay (sandbox callback)",
        catch_response=True,
    ) as response:
        body = response.json() if response.status_code == 200 else {}
        if body.get("intent_status") == "succeeded":
            _count("paid")
            _flow_ms.append((time.perf_counter() - started) * 1000)
            response.success()
        else:
            code = _error_code(response) if response.status_code != 200 else str(body)
            _count(f"pay: {code}")
            response.failure(code)


class Buyer(FastHttpUser):
    """Checks out again and again (``run.py --scenario checkout``), pausing as
    ``TAOCUN_LOAD_THINK`` says between checkouts."""

    wait_time = _think()

    def on_start(self) -> None:
        _buyer_account(self)

    @task
    def buy(self) -> None:
        checkout(self)


# --- shoppers ---------------------------------------------------------------------------


class Shopper(FastHttpUser):
    wait_time = _think()

    def on_start(self) -> None:
        self.seen: list[int] = []
        if CHECKOUT_WEIGHT:
            _buyer_account(self)

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
        name, params = search_drawn(random, TARGETS)
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
