"""A deterministic catalog generator with a realistic vocabulary.

``generate(n, seed)`` always yields the same products (and content) for the same
arguments, so the tests, the benchmarks and the sandbox share one catalog. Products are
spread over a three-level category tree, with brands that fit their department, titles
built from brand + qualities + product type, prices drawn per product type, skewed
ratings and review counts, tags and a description.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from catalog.model import Content, Product

BASE_VERSION = 1_700_000_000_000_000  # epoch ms x 1000 of 2023-11-14: any fixed start works

# department -> (brands, {subcategory: {leaf: (product nouns, (low price, high price))}})
TREE: dict[str, tuple[tuple[str, ...], dict[str, dict[str, tuple[tuple[str, ...], tuple[float, float]]]]]] = {
    "Audio": (
        ("Sony", "Bose", "Sennheiser", "JBL", "Audio-Technica", "Beyerdynamic", "Anker", "Marshall"),
        {
            "Headphones": {
                "Over-ear": (("headphones", "studio headphones", "wireless headphones"), (49, 549)),
                "In-ear": (("earbuds", "in-ear monitors", "true wireless earbuds"), (19, 299)),
                "On-ear": (("on-ear headphones", "folding headphones"), (29, 249)),
            },
            "Speakers": {
                "Portable": (("bluetooth speaker", "waterproof speaker", "party speaker"), (25, 399)),
                "Smart": (("smart speaker", "voice assistant speaker"), (49, 299)),
                "Soundbars": (("soundbar", "dolby atmos soundbar"), (99, 1299)),
            },
            "Turntables": {
                "Belt-drive": (("turntable", "record player"), (99, 699)),
            },
        },
    ),
    "Computers": (
        ("Dell", "Lenovo", "Apple", "Asus", "Logitech", "Samsung", "Corsair", "HP"),
        {
            "Laptops": {
                "Ultrabooks": (("ultrabook", "thin and light laptop"), (699, 2499)),
                "Gaming": (("gaming laptop",), (999, 3499)),
                "Chromebooks": (("chromebook",), (199, 699)),
            },
            "Accessories": {
                "Keyboards": (("mechanical keyboard", "wireless keyboard", "ergonomic keyboard"), (29, 249)),
                "Mice": (("wireless mouse", "gaming mouse", "vertical mouse"), (15, 159)),
                "Cables": (("usb-c cable", "hdmi cable", "thunderbolt cable"), (7, 69)),
                "Docks": (("usb-c hub", "docking station"), (29, 349)),
            },
            "Monitors": {
                "4K": (("4k monitor", "uhd display"), (249, 1499)),
                "Gaming": (("gaming monitor", "curved monitor"), (179, 999)),
            },
        },
    ),
    "Home & Kitchen": (
        ("KitchenAid", "Breville", "Le Creuset", "Ninja", "Dyson", "Philips", "OXO", "Smeg"),
        {
            "Coffee": {
                "Espresso Machines": (("espresso machine", "bean-to-cup coffee machine"), (149, 1999)),
                "Grinders": (("burr grinder", "coffee grinder"), (39, 499)),
                "Kettles": (("gooseneck kettle", "electric kettle"), (25, 199)),
            },
            "Cookware": {
                "Pans": (("frying pan", "cast iron skillet", "non-stick pan"), (19, 299)),
                "Pots": (("dutch oven", "stock pot", "saucepan"), (29, 449)),
            },
            "Cleaning": {
                "Vacuums": (("cordless vacuum", "robot vacuum", "upright vacuum"), (99, 899)),
            },
        },
    ),
    "Sports & Outdoors": (
        ("Patagonia", "The North Face", "Garmin", "Osprey", "Salomon", "Nike", "Adidas", "Black Diamond"),
        {
            "Footwear": {
                "Running": (("running shoes", "trail running shoes", "racing flats"), (59, 249)),
                "Hiking": (("hiking boots", "approach shoes"), (89, 299)),
            },
            "Camping": {
                "Tents": (("backpacking tent", "family tent", "ultralight tent"), (99, 899)),
                "Backpacks": (("hiking backpack", "daypack", "travel pack"), (39, 349)),
            },
            "Wearables": {
                "GPS Watches": (("gps watch", "running watch", "multisport watch"), (149, 999)),
            },
        },
    ),
    "Clothing": (
        ("Levi's", "Uniqlo", "Patagonia", "H&M", "Zara", "Carhartt", "Ralph Lauren", "Columbia"),
        {
            "Men's": {
                "Jackets": (("men's jacket", "men's rain jacket", "men's down jacket"), (49, 449)),
                "Jeans": (("men's jeans", "men's slim jeans"), (29, 149)),
            },
            "Women's": {
                "Jackets": (("women's jacket", "women's parka", "women's fleece"), (49, 499)),
                "Dresses": (("women's dress", "women's summer dress"), (25, 249)),
            },
        },
    ),
}

QUALITIES = (
    "wireless", "noise cancelling", "compact", "premium", "lightweight", "waterproof", "ergonomic",
    "professional", "classic", "ultra", "pro", "slim", "rugged", "smart", "portable", "quiet",
    "high-resolution", "fast-charging", "eco", "stainless steel", "insulated", "breathable",
)
COLORS = ("black", "white", "silver", "navy", "red", "green", "graphite", "sand", "blue", "rose gold")
SERIES = ("X1", "Pro 2", "Air", "Max", "Lite", "Plus", "S3", "Edge", "One", "Studio", "Go", "Ultra 5")
FEATURES = (
    "all-day battery life", "a durable build", "easy setup", "a two-year warranty", "fast shipping",
    "premium materials", "an award-winning design", "USB-C charging", "a compact footprint",
    "low noise", "recycled materials", "a lifetime guarantee", "intuitive controls",
)
SPEC_KEYS = ("Weight", "Dimensions", "Material", "Warranty", "Color", "Battery", "Connectivity")


@dataclass(frozen=True)
class Generated:
    product: Product
    content: Content


def categories() -> list[str]:
    """Every leaf category path of the tree."""
    return [f"{dept} > {sub} > {leaf}" for dept, (_, subs) in TREE.items()
            for sub, leaves in subs.items() for leaf in leaves]


def generate(n: int, seed: int = 42, *, start_version: int = BASE_VERSION) -> Iterator[Generated]:
    """``n`` products with ids ``p000000``..; deterministic for (n, seed, start_version)."""
    rng = random.Random(seed)
    leaves = [(dept, sub, leaf, nouns, prices, TREE[dept][0])
              for dept, (_, subs) in TREE.items() for sub, ls in subs.items()
              for leaf, (nouns, prices) in ls.items()]
    epoch = datetime(2024, 1, 1, tzinfo=UTC)
    width = max(6, len(str(n - 1)))
    for i in range(n):
        dept, sub, leaf, nouns, (lo, hi), brands = leaves[rng.randrange(len(leaves))]
        brand = brands[rng.randrange(len(brands))]
        noun = nouns[rng.randrange(len(nouns))]
        quals = rng.sample(QUALITIES, k=rng.choice((1, 1, 2)))
        color = rng.choice(COLORS)
        series = rng.choice(SERIES)
        title = f"{brand} {series} {' '.join(quals)} {noun}".replace("  ", " ")
        if rng.random() < 0.4:
            title += f", {color}"
        # log-uniform price inside the product type's range, ending in .99 or .00
        price = round(round(lo * (hi / lo) ** rng.random()) - (0.01 if rng.random() < 0.7 else 0), 2)
        rating = None if rng.random() < 0.05 else round(min(5.0, max(1.0, rng.gauss(4.1, 0.6))), 1)
        reviews = 0 if rating is None else int(rng.paretovariate(1.2) * 5)
        feats = rng.sample(FEATURES, k=2)
        description = (f"The {brand} {series} is a {' '.join(quals)} {noun} with {feats[0]} and {feats[1]}. "
                       f"Part of our {leaf.lower()} {sub.lower()} range, in {color}.")
        created = epoch + timedelta(minutes=rng.randrange(0, 60 * 24 * 700))
        version = start_version + i
        pid = f"p{i:0{width}d}"
        product = Product(
            id=pid,
            title=title,
            brand=brand,
            category=f"{dept} > {sub} > {leaf}",
            price=float(max(price, 1.0)),
            currency="USD",
            in_stock=rng.random() < 0.85,
            version=version,
            description=description,
            rating=rating,
            review_count=min(reviews, 50_000),
            tags=tuple(sorted({noun.split()[-1], color, *(q.split()[0] for q in quals)})),
            image_url=f"https://images.example.com/{pid}.jpg",
            created_at=created.isoformat().replace("+00:00", "Z"),
            updated_at=created.isoformat().replace("+00:00", "Z"),
        )
        specs = {key: _spec(rng, key, color) for key in rng.sample(SPEC_KEYS, k=4)}
        content = Content(
            id=pid,
            version=version,
            long_description=(f"{description} Designed for people who want {feats[0]}. "
                              f"Every {noun} is tested before it ships."),
            specifications=specs,
            images=tuple(f"https://images.example.com/{pid}-{k}.jpg" for k in range(rng.randint(1, 4))),
        )
        yield Generated(product, content)


def _spec(rng: random.Random, key: str, color: str) -> str:
    match key:
        case "Weight":
            return f"{rng.randint(50, 5000)} g"
        case "Dimensions":
            return f"{rng.randint(5, 80)} x {rng.randint(5, 60)} x {rng.randint(1, 40)} cm"
        case "Material":
            return rng.choice(("aluminium", "recycled plastic", "steel", "nylon", "leather", "cotton"))
        case "Warranty":
            return f"{rng.choice((1, 2, 3, 5))} years"
        case "Color":
            return color
        case "Battery":
            return f"{rng.randint(5, 60)} hours"
        case _:
            return rng.choice(("Bluetooth 5.3", "USB-C", "Wi-Fi 6", "none"))


def products(n: int, seed: int = 42) -> list[Product]:
    return [g.product for g in generate(n, seed)]
