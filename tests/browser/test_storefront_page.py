"""The storefront search page in a real browser, against the real search API (see conftest).

Every expectation about results is checked against the API's own answer to the same
question (fetched with ``requests``), not against numbers written here.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.browser.conftest import AXE, FAILOVER, LATENCY, LATENCY_PROBE, REGION, count_text

pytestmark = pytest.mark.xdist_group("browser")

FIRST_VIEW_BUDGET_BYTES = 150 * 1024
def api(stack, path, params=None):
    reply = requests.get(stack.base + path, params=params, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def expect():
    from playwright.sync_api import expect as pw_expect

    return pw_expect


def card_ids(page) -> list[str]:
    return page.locator("#results > li").evaluate_all("els => els.map(e => e.dataset.id)")


def url_state(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_typing_shows_results_and_facet_counts_equal_to_the_api(page, site_stack, artifacts):
    page.goto(site_stack.base + "/")
    expect()(page.locator("#count")).to_have_text(re.compile(r"results"))
    page.evaluate(LATENCY_PROBE)
    page.locator("#q").press_sequentially("headphones")
    want = api(site_stack, "/search", {"q": "headphones", "size": 20})
    expect()(page.locator("#count")).to_have_text(count_text(want["total"]["value"]))
    assert card_ids(page) == [h["id"] for h in want["hits"]]
    latency_ms = page.evaluate(LATENCY, count_text(want["total"]["value"]))
    (artifacts / "typing-latency.json").write_text(json.dumps({"query": "headphones", "ms": latency_ms}))
    print(f"\ntyping -> results: {latency_ms:.0f} ms after the last keystroke (target 300 ms)")
    # facet counts as the API gives them (brand, price, rating)
    for brand in want["facets"]["brand"][:5]:
        label = page.locator("#facets label", has=page.locator(f'input[data-key="brand:{brand["value"]}"]'))
        expect()(label).to_contain_text(f'({brand["count"]:,})')
    for bucket in want["facets"]["rating"]:
        label = page.locator("#facets label", has=page.locator(f'input[data-key="rating:{bucket["value"]:g}"]'))
        expect()(label).to_contain_text(f'({bucket["count"]:,})')
    assert url_state(page) == {"q": ["headphones"]}
    # highlighted matches are marked (as nodes, not markup)
    assert page.locator("#results mark").count() > 0
    page.keyboard.press("Escape")  # closes the suggestions, keeps the query
    expect()(page.locator("#suggestions")).to_be_hidden()
    expect()(page.locator("#q")).to_have_value("headphones")
    page.screenshot(path=str(artifacts / "results.png"), full_page=False)


def test_suggestions_are_a_keyboard_listbox(page, site_stack):
    page.goto(site_stack.base + "/")
    page.locator("#q").press_sequentially("head")
    want = api(site_stack, "/suggest", {"q": "head", "size": 6})["suggestions"]
    assert want, "the catalog should suggest something for 'head'"
    options = page.locator("#suggestions [role=option]")
    # the list answering "head" itself: one shown for "he" or "hea" (slow typing) has as many options
    expect()(page.locator("#suggestions")).to_have_attribute("data-prefix", "head")
    expect()(options).to_have_text([s["text"] for s in want])
    expect()(page.locator("#q")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect()(page.locator("#q")).to_have_attribute("aria-activedescendant", "suggestion-0")
    page.keyboard.press("Enter")
    expect()(page.locator("#q")).to_have_value(want[0]["text"])
    expect()(page.locator("#suggestions")).to_be_hidden()
    total = api(site_stack, "/search", {"q": want[0]["text"]})["total"]["value"]
    expect()(page.locator("#count")).to_have_text(count_text(total))


def test_a_late_suggestion_list_keeps_the_option_the_shopper_is_on(page, site_stack):
    """The answer for "head" arrives after the shopper moved into the list shown for "hea":
    re-rendering keeps them on the same suggestion, so Enter picks what they see selected.
    (The network is held, not timed: the late answer is released only after ArrowDown.)"""
    held = []

    def hold_head(route):
        if parse_qs(urlsplit(route.request.url).query)["q"] == ["head"]:
            held.append(route)  # answered below, after the shopper has moved
        else:
            route.continue_()

    page.route(re.compile(r"/suggest\?"), hold_head)
    page.goto(site_stack.base + "/")
    q, listbox, options = page.locator("#q"), page.locator("#suggestions"), page.locator("#suggestions [role=option]")
    q.press_sequentially("hea")
    early = [s["text"] for s in api(site_stack, "/suggest", {"q": "hea", "size": 6})["suggestions"]]
    late = [s["text"] for s in api(site_stack, "/suggest", {"q": "head", "size": 6})["suggestions"]]
    on = next(text for text in early if text in late)  # an option both lists offer
    expect()(listbox).to_have_attribute("data-prefix", "hea")
    expect()(options).to_have_text(early)
    with page.expect_request(lambda r: "/suggest?" in r.url and "q=head&" in r.url):
        q.press("d")
    for _ in range(early.index(on) + 1):
        page.keyboard.press("ArrowDown")
    expect()(q).to_have_attribute("aria-activedescendant", f"suggestion-{early.index(on)}")
    held.pop().continue_()
    expect()(listbox).to_have_attribute("data-prefix", "head")
    expect()(options).to_have_text(late)
    expect()(q).to_have_attribute("aria-activedescendant", f"suggestion-{late.index(on)}")
    expect()(options.nth(late.index(on))).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect()(q).to_have_value(on)
    expect()(listbox).to_be_hidden()


def test_facet_chip_sort_and_more_results_follow_the_api(page, site_stack):
    page.goto(site_stack.base + "/?q=wireless")
    first = api(site_stack, "/search", {"q": "wireless"})
    expect()(page.locator("#count")).to_have_text(count_text(first["total"]["value"]))
    brand = first["facets"]["brand"][0]
    page.locator(f'input[data-key="brand:{brand["value"]}"]').check()
    filtered = api(site_stack, "/search", {"q": "wireless", "brand": brand["value"]})
    expect()(page.locator("#count")).to_have_text(count_text(filtered["total"]["value"]))
    assert filtered["total"]["value"] == brand["count"]
    assert url_state(page) == {"q": ["wireless"], "brand": [brand["value"]]}
    # disjunctive: the brand facet still offers the other brands with their counts
    other = first["facets"]["brand"][1]
    expect()(page.locator(f'input[data-key="brand:{other["value"]}"]')).not_to_be_checked()
    chip = page.locator("#chips button", has_text=f'Brand: {brand["value"]}')
    expect()(chip).to_be_visible()
    chip.click()
    expect()(page.locator("#count")).to_have_text(count_text(first["total"]["value"]))
    expect()(page.locator("#chips li")).to_have_count(0)

    page.locator("#sort").select_option("price_asc")
    by_price = api(site_stack, "/search", {"q": "wireless", "sort": "price_asc", "size": 20})
    expect()(page.locator("#results > li").first).to_have_attribute("data-id", by_price["hits"][0]["id"])
    assert card_ids(page) == [h["id"] for h in by_price["hits"]]
    assert by_price["next_cursor"]
    page.locator("#more").click()
    second = api(site_stack, "/search", {"q": "wireless", "sort": "price_asc", "size": 20,
                                         "cursor": by_price["next_cursor"], "facets": ""})
    expect()(page.locator("#results > li")).to_have_count(len(by_price["hits"]) + len(second["hits"]))
    assert card_ids(page) == [h["id"] for h in by_price["hits"] + second["hits"]]


def test_product_detail_reload_and_back_keep_the_state(page, site_stack, artifacts):
    page.goto(site_stack.base + "/?q=shoes&sort=rating_desc")
    hits = api(site_stack, "/search", {"q": "shoes", "sort": "rating_desc"})["hits"]
    expect()(page.locator("#results > li").first).to_have_attribute("data-id", hits[0]["id"])
    product = api(site_stack, f"/products/{hits[0]['id']}")
    page.locator("#results > li").first.locator("h2 a").click()
    dialog = page.locator("#detail")
    expect()(dialog.locator("#detail-title")).to_have_text(product["title"])
    if product["content"]:
        expect()(dialog).to_contain_text(product["content"]["long_description"][:60])
    assert url_state(page) == {"q": ["shoes"], "sort": ["rating_desc"], "product": [product["id"]]}
    page.screenshot(path=str(artifacts / "product.png"))
    page.reload()
    expect()(dialog.locator("#detail-title")).to_have_text(product["title"])
    expect()(page.locator("#q")).to_have_value("shoes")
    page.go_back()
    expect()(dialog).to_be_hidden()
    assert url_state(page) == {"q": ["shoes"], "sort": ["rating_desc"]}
    expect()(page.locator("#sort")).to_have_value("rating_desc")
    expect()(page.locator("#results > li").first).to_have_attribute("data-id", hits[0]["id"])
    page.go_forward()
    expect()(dialog.locator("#detail-title")).to_have_text(product["title"])


def test_a_503_is_retried_after_retry_after_then_reported(page, site_stack, artifacts):
    page.clock.install()  # the page's timers (Retry-After waits) run on an injected clock
    site_stack.engine.down = True
    reply = requests.get(site_stack.base + "/search", params={"q": "lamp"}, timeout=10)
    assert reply.status_code == 503 and reply.headers["Retry-After"]
    wait_ms = int(reply.headers["Retry-After"]) * 1000
    page.goto(site_stack.base + "/?q=lamp")
    message = page.locator("#message")
    expect()(message).to_contain_text("retrying in")
    expect()(message).to_contain_text("attempt 1 of 2")
    page.clock.run_for(wait_ms)
    expect()(message).to_contain_text("attempt 2 of 2")
    page.clock.run_for(wait_ms)
    expect()(message).to_contain_text("Search is unavailable right now")
    assert page.locator("#results > li").count() == 0
    page.screenshot(path=str(artifacts / "unavailable.png"))
    site_stack.engine.down = False


def test_a_region_failover_shows_only_in_the_footer(page, site_stack):
    page.goto(site_stack.base + "/?q=speaker")
    expect()(page.locator("#served-region")).to_have_text(REGION)
    site_stack.answer["region"] = FAILOVER  # Route 53 now answers the other region
    page.locator("#sort").select_option("rating_desc")  # a new question (answers are cached 30 s)
    want = api(site_stack, "/search", {"q": "speaker", "sort": "rating_desc"})
    assert want["hits"] and want["region"] == FAILOVER
    expect()(page.locator("#served-region")).to_have_text(FAILOVER)
    expect()(page.locator("#results > li").first).to_have_attribute("data-id", want["hits"][0]["id"])
    assert card_ids(page) == [h["id"] for h in want["hits"]]
    expect()(page.locator("#message")).to_be_hidden()


def test_a_400_is_shown_plainly(page, site_stack):
    page.goto(site_stack.base + "/?q=lamp&price_min=cheap")
    expect()(page.locator("#message")).to_contain_text("price_min")
    expect()(page.locator("#message")).to_contain_text("must be a decimal number")


def test_no_results_suggests_removing_filters(page, site_stack):
    brand = api(site_stack, "/search", {"q": ""})["facets"]["brand"][0]["value"]
    page.goto(site_stack.base + f"/?q=zzzqqqxxv&brand={brand}")
    expect()(page.locator("#count")).to_have_text("No results")
    page.locator("#message button", has_text="Remove all filters").click()
    assert url_state(page) == {"q": ["zzzqqqxxv"]}


def test_first_view_budget_csp_and_accessibility(browser, site_stack, artifacts):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE}): run `npm ci`")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    context.add_init_script(path=str(AXE))  # injected by the browser itself: the page's CSP stays in force
    page = context.new_page()
    sizes: dict[str, int] = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body()))
            if r.url.startswith(site_stack.base) else None)
    violations_csp: list[str] = []
    page.on("console", lambda m: violations_csp.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        response = page.goto(site_stack.base + "/?q=headphones")
        assert "connect-src 'self'" in response.headers["content-security-policy"]
        expect()(page.locator("#results > li").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        transferred = sum(sizes.values())
        print(f"\nfirst view: {transferred} bytes from the site and API ({len(sizes)} responses)")
        assert transferred <= FIRST_VIEW_BUDGET_BYTES, sizes
        page.screenshot(path=str(artifacts / "phone.png"), full_page=False)
        brand = page.locator("#facets input[data-key^='brand:']").first
        expect()(brand).to_be_hidden()  # phones: the filters start folded
        page.locator("#filters > summary").click()
        expect()(brand).to_be_visible()
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        problems = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
        passes = len(result["passes"])
        (artifacts / "axe.json").write_text(json.dumps({"violations": problems, "passes": passes,
                                                        "axe": result["testEngine"]["version"]}))
        assert problems == []
        assert violations_csp == []
    finally:
        context.close()
