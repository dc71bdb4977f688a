"""Query parameter validation: every rule answers with the parameter's name."""

from __future__ import annotations

import pytest

from catalog.engine.port import SearchRequest, Sort
from catalog.schema import FACET_NAMES, MAX_DEPTH, MAX_FILTER_VALUES, MAX_PAGE_SIZE, MAX_QUERY_CHARS, MAX_SUGGEST_SIZE
from search_api.params import ParameterError, collect, product_id, search_request, suggest_request


def q(**kwargs):
    return {k: v if isinstance(v, list) else [v] for k, v in kwargs.items()}


def rejects(parameter, **kwargs):
    with pytest.raises(ParameterError) as info:
        search_request(q(**kwargs))
    assert info.value.parameter == parameter, info.value
    assert info.value.message
    return info.value.message


def test_no_parameters_is_the_default_request():
    assert search_request({}) == SearchRequest()


def test_every_parameter_reaches_the_request():
    req = search_request(q(q="men's usb-c", category=["Audio > Headphones", "Computers"], brand=["Sony", "Bose"],
                           price_min="10.5", price_max="200", in_stock="false", rating_min="3.5", sort="price_desc",
                           size="50", page="3", facets="brand,price"))
    assert req.text == "men's usb-c"
    assert req.categories == ("Audio > Headphones", "Computers")
    assert req.brands == ("Sony", "Bose")
    assert (req.price_min, req.price_max, req.in_stock, req.rating_min) == (10.5, 200.0, False, 3.5)
    assert (req.sort, req.size, req.page, req.facets) == (Sort.PRICE_DESC, 50, 3, ("brand", "price"))


def test_unknown_parameter_is_rejected_by_name():
    message = rejects("brnad", brnad="Sony")
    assert "unknown parameter" in message and "brand" in message


@pytest.mark.parametrize("name", ["q", "sort", "size", "page", "price_min", "in_stock", "cursor", "facets"])
def test_single_value_parameters_given_twice_are_rejected(name):
    assert "2 times" in rejects(name, **{name: ["1", "1"]})


def test_query_length_limit():
    assert search_request(q(q="x" * MAX_QUERY_CHARS)).text == "x" * MAX_QUERY_CHARS
    assert str(MAX_QUERY_CHARS) in rejects("q", q="x" * (MAX_QUERY_CHARS + 1))


@pytest.mark.parametrize("text", ["men's shoes", "usb-c", "C++", "50%", "AND (", "😀 headphones", "سماعات",
                                  "title:foo OR *", "Ｃａｆé"])
def test_text_is_passed_through_raw(text):
    assert search_request(q(q=text)).text == text


def test_lone_surrogates_and_nul_are_rejected():
    assert "UTF-8" in rejects("q", q="\ud800abc")
    assert "NUL" in rejects("brand", brand="a\x00b")


@pytest.mark.parametrize("value", ["0", "101", "-1", "1.5", "abc", "", " 5", "+5", "1_0", "\u0665", "9" * 40])
def test_size_must_be_a_whole_number_in_range(value):
    rejects("size", size=value)


def test_size_bounds_are_inclusive():
    assert search_request(q(size="1")).size == 1
    assert search_request(q(size=str(MAX_PAGE_SIZE))).size == MAX_PAGE_SIZE


def test_depth_limit_names_page():
    assert search_request(q(size="100", page=str(MAX_DEPTH // 100))).page == MAX_DEPTH // 100
    assert "cursor" in rejects("page", size="100", page=str(MAX_DEPTH // 100 + 1))
    rejects("page", page="0")


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "1e999", "1,5", "", "0x10", "\u0661"])
def test_prices_must_be_non_negative_numbers(value):
    rejects("price_min", price_min=value)
    rejects("price_max", price_max=value)


def test_price_range_must_not_be_inverted():
    assert search_request(q(price_min="5", price_max="5")).price_min == 5
    assert "price_max" in rejects("price_min", price_min="10", price_max="5")


@pytest.mark.parametrize("value", ["-0.1", "5.01", "x", ""])
def test_rating_min_range(value):
    rejects("rating_min", rating_min=value)


@pytest.mark.parametrize("value", ["True", "1", "yes", ""])
def test_in_stock_is_true_or_false(value):
    rejects("in_stock", in_stock=value)


def test_sort_choices_come_from_the_port():
    for s in Sort:
        assert search_request(q(sort=s.value)).sort is s
    assert "price_asc" in rejects("sort", sort="cheapest")


def test_facets_list():
    assert search_request(q(facets="")).facets == ()
    assert search_request(q(facets="rating, brand,brand")).facets == ("rating", "brand")
    assert search_request({}).facets == FACET_NAMES
    assert "brand" in rejects("facets", facets="brand,colour")


def test_repeatable_filters():
    assert search_request(q(brand=["Sony", "Sony", " Bose "])).brands == ("Sony", "Bose")
    assert "empty" in rejects("category", category=["Audio", " "])
    assert str(MAX_FILTER_VALUES) in rejects("brand", brand=[f"b{i}" for i in range(MAX_FILTER_VALUES + 1)])
    rejects("brand", brand="x" * (MAX_QUERY_CHARS + 1))


def test_cursor_rules():
    assert search_request(q(cursor="abc")).cursor == "abc"
    rejects("cursor", cursor="abc", page="1")
    rejects("cursor", cursor="")


def test_suggest_parameters():
    assert suggest_request({}) == ("", 10)
    assert suggest_request(q(q="sen", size=str(MAX_SUGGEST_SIZE))) == ("sen", MAX_SUGGEST_SIZE)
    for bad in ("0", str(MAX_SUGGEST_SIZE + 1)):
        with pytest.raises(ParameterError) as info:
            suggest_request(q(size=bad))
        assert info.value.parameter == "size"
    with pytest.raises(ParameterError) as info:
        suggest_request(q(brand="x"))
    assert info.value.parameter == "brand"


def test_product_id_uses_the_catalog_rule():
    assert product_id("p000042") == "p000042"
    for bad in ("a b", "../etc", "x" * 300, "é"):
        with pytest.raises(ParameterError) as info:
            product_id(bad)
        assert info.value.parameter == "id"


def test_collect_prefers_the_multi_value_map():
    assert collect({"brand": ["a", "b"]}, {"brand": "b"}) == {"brand": ["a", "b"]}
    assert collect(None, {"q": "x"}) == {"q": ["x"]}
    assert collect(None, None) == {}
