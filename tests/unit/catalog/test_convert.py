from decimal import Decimal

import pytest

from catalog.convert import (
    TransformError,
    content_fields,
    content_from_json,
    content_to_json,
    deserialize_image,
    item_fields,
    item_from_product,
    product_from_fields,
    product_from_item,
    serialize_item,
)
from catalog.model import category_ancestors, content_key, product_id_from_key

ITEM = {
    "id": "sku-1",
    "title": "Sony WH-1000XM5 headphones",
    "brand": "Sony",
    "category": "Audio >Headphones>  Over-ear",
    "price": Decimal("349.99"),
    "currency": "USD",
    "in_stock": True,
    "version": Decimal("1700000000000001"),
    "rating": Decimal("4"),
    "review_count": Decimal("12"),
    "tags": ["wireless", "anc"],
    "created_at": "2024-01-02T03:04:05Z",
}


def test_stream_image_roundtrip_gives_fixed_types():
    image = serialize_item(ITEM)
    assert image["price"] == {"N": "349.99"}
    product = product_from_item(deserialize_image(image))
    assert product.category == "Audio > Headphones > Over-ear"
    assert isinstance(product.price, float) and product.price == 349.99
    # an integral rating still arrives as float: one fixed type per field
    assert isinstance(product.rating, float) and product.rating == 4.0
    assert isinstance(product.review_count, int) and product.review_count == 12
    assert isinstance(product.version, int)
    assert product.created_at == "2024-01-02T03:04:05Z"


def test_product_item_roundtrip(catalog_1k):
    for g in catalog_1k[:200]:
        assert product_from_item(item_from_product(g.product)) == g.product
        assert product_from_item(deserialize_image(serialize_item(item_from_product(g.product)))) == g.product


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": "a/b"}, "id"),
        ({"id": "p1\n"}, "id"),
        ({"title": None}, "title"),
        ({"title": 5}, "title"),
        ({"price": Decimal("-1")}, "price"),
        ({"price": "cheap"}, "price"),
        ({"currency": "usd"}, "currency"),
        ({"in_stock": "yes"}, "in_stock"),
        ({"version": Decimal("1.5")}, "version"),
        ({"version": None}, "version"),
        ({"rating": Decimal("5.5")}, "rating"),
        ({"review_count": Decimal("-3")}, "review_count"),
        ({"tags": "one"}, "tags"),
        ({"category": " > "}, "category"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2024-01-02T03:04:05"}, "created_at"),
    ],
)
def test_malformed_items_name_the_field(change, field):
    with pytest.raises(TransformError) as err:
        product_from_item({**ITEM, **change})
    assert err.value.field == field


def test_bad_attribute_values_are_transform_errors():
    with pytest.raises(TransformError) as err:
        deserialize_image({"id": {"S": "x"}, "price": {"N": "abc"}})
    assert err.value.field == "price"
    with pytest.raises(TransformError) as err:
        deserialize_image({"tags": {"L": [{"S": "a"}, {"N": "x"}]}})
    assert err.value.field == "tags[1]"
    with pytest.raises(TransformError) as err:
        deserialize_image({"specs": {"M": {"w": {"L": [{"BOOL": True}, {"Q": 1}]}}}})
    assert err.value.field == "specs.w[1]"
    with pytest.raises(TransformError):
        deserialize_image({"blob": {"B": "AAAA"}})
    with pytest.raises(TransformError):
        deserialize_image({"x": {"S": "a", "N": "1"}})


def test_content_roundtrip_and_errors(catalog_1k):
    c = catalog_1k[3].content
    assert content_from_json(c.id, content_to_json(c)) == c
    with pytest.raises(TransformError, match="not valid JSON"):
        content_from_json("p1", b"{nope")
    with pytest.raises(TransformError) as err:
        content_from_json("p1", b'{"id": "p2", "version": 1}')
    assert err.value.field == "id"
    with pytest.raises(TransformError) as err:
        content_from_json("p1", b'{"version": 1, "specifications": {"w": [1]}}')
    assert err.value.field == "specifications.w"
    with pytest.raises(TransformError) as err:
        content_from_json("p1", b'{"long_description": "x"}')
    assert err.value.field == "version"


def test_document_fields_and_inverse(catalog_1k):
    p = catalog_1k[0].product
    fields = item_fields(p)
    assert fields["category_path"] == list(category_ancestors(p.category))
    assert product_from_fields(fields, p.version) == p
    assert content_fields(None)["long_description"] is None
    content = catalog_1k[0].content
    spec_text = content_fields(content)["specifications"]
    assert all(f"{k}: {v}" in spec_text for k, v in content.specifications.items())


def test_content_keys():
    assert product_id_from_key(content_key("p000001")) == "p000001"
    assert product_id_from_key("products/a/b.json") is None
    assert product_id_from_key("images/p1.json") is None
    assert product_id_from_key("products/p1.txt") is None
    assert category_ancestors("A > B > C") == ("A", "A > B", "A > B > C")
