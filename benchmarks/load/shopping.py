"""What the load test's shoppers search for, shared by ``locustfile.py`` and
``profile_search.py`` (which replays the same searches in one process). No locust here:
importing locust patches the standard library for gevent."""

from __future__ import annotations

import random

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


def search_drawn(rng: random.Random, targets: dict) -> tuple[str, dict[str, str]]:
    """One shopper's search: its name in the statistics and the query string's values.
    40 % add filters (province, price range, in stock, certification) and a sort order;
    25 % ask for page 2–5."""
    params = {"q": rng.choice(QUERIES)}
    name = "search"
    if rng.random() < 0.4:
        name = "search + filters"
        if rng.random() < 0.5:
            params["province"] = rng.choice(targets["provinces"])
        if rng.random() < 0.5:
            low = rng.choice([5, 10, 20, 50])
            params["price_min"] = str(low)
            params["price_max"] = str(low * rng.choice([2, 4, 10]))
        if rng.random() < 0.4:
            params["in_stock"] = "1"
        if rng.random() < 0.15:
            params["certification"] = rng.choice(CERTIFICATIONS)
        params["sort"] = rng.choice(SORTS)
    if rng.random() < 0.25:
        params["page"] = str(rng.randint(2, 5))
        name += ", page 2–5"
    return name, params
