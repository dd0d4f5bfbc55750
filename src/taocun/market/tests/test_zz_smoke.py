from django.test import Client


def test_smoke(orchard, tree, client_for):
    keeper, shop, product = orchard
    c = Client()
    for url in [
        "/market/",
        "/market/search/?q=苹果",
        "/market/c/fruit/",
        f"/market/p/{product.pk}/",
        f"/market/shop/{shop.pk}/",
        f"/market/village/{tree.qianchang.code}/",
        "/",
    ]:
        r = c.get(url)
        print(url, r.status_code, len(r.content))
        assert r.status_code == 200, r.content.decode()[:3000]
    k = client_for(keeper)
    for url in [
        "/market/sell/",
        "/market/sell/shop/",
        "/market/sell/shipping/",
        "/market/sell/photos/",
        "/market/sell/products/new/",
        f"/market/sell/products/{product.pk}/",
    ]:
        r = k.get(url)
        print(url, r.status_code, len(r.content))
        assert r.status_code == 200, r.content.decode()[:3000]
