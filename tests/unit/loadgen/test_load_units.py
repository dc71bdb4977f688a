"""The open-loop scheduler on a fake clock, the report's figures and objectives, and the
request mix (reproducible, weighted, valid)."""

from __future__ import annotations

import random
import threading

import pytest

from loadgen.mix import KINDS, CatalogSample, LoadRequest, MixError, RequestMix, parse_mix, sample_catalog, typo
from loadgen.runner import Figures, LoadReport, Outcome, Record, classify, judge, longest_failure_run, run_open_loop
from storefront_cli.main import main


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, d):
        self.sleeps.append(round(d, 9))
        self.now += d


def requests(kind="text"):
    while True:
        yield LoadRequest(kind, "/search?q=x")


def run(clock, send, rps=10, duration=1.0, **kw):
    return run_open_loop(send, requests(), rps, duration=duration, clock=clock, sleep=clock.sleep,
                         submit=lambda fn: fn(), **kw)


def test_requests_go_out_on_schedule_at_the_constant_rate():
    clock = FakeClock()
    sent_at = []

    def send(req):
        sent_at.append(clock.now)
        clock.now += 0.02
        return Outcome(200, None, "us-east-1")

    rec = run(clock, send, rps=10, duration=1.0)
    assert rec.sent == 10
    assert sent_at == pytest.approx([100.0 + i / 10 for i in range(10)])
    assert [r.t for r in rec.records] == pytest.approx([i / 10 for i in range(10)])
    assert all(r.latency == pytest.approx(0.02) for r in rec.records)
    assert rec.max_send_lag == 0


def test_a_stall_is_charged_to_every_request_due_during_it_no_coordinated_omission():
    clock = FakeClock()
    calls = []

    def send(req):
        calls.append(clock.now)
        clock.now += 1.0 if len(calls) == 1 else 0.01  # the server stalls once, for 1 s
        return Outcome(200, None, None)

    rec = run(clock, send, rps=10, duration=2.0)
    lat = {round(r.t, 1): r.latency for r in rec.records}
    assert rec.sent == 20  # the stall did not lower the number of requests
    assert lat[0.0] == pytest.approx(1.0)
    # due at 0.1 .. 0.9, sent when the stall ended: each waited since its due time
    assert lat[0.1] == pytest.approx(0.91) and lat[0.5] == pytest.approx(0.51 + 0.04, abs=0.06)
    assert rec.max_send_lag == pytest.approx(0.9)
    f = Figures.of(rec.records)
    assert f.latency_ms["p90"] > 500  # a closed-loop client would report one slow request out of 20


def test_stop_event_ends_an_open_ended_run():
    clock = FakeClock()
    stop = threading.Event()

    def send(req):
        if clock.now >= 100.45:
            stop.set()
        return Outcome(200, None, None)

    rec = run(clock, send, rps=10, duration=None, stop=stop)
    assert rec.sent == 6


def test_send_errors_are_classified_and_counted_not_raised():
    clock = FakeClock()
    errors = iter([TimeoutError("t"), ConnectionRefusedError("r"), None, RuntimeError("bug")])

    def send(req):
        e = next(errors)
        if e:
            raise e
        return Outcome(503, "http_503", "eu-west-1")

    rec = run(clock, send, rps=4, duration=1.0)
    assert [r.error for r in rec.records] == ["timeout", "connection", "http_503", "other"]
    assert classify(BrokenPipeError()) == "connection"


def _rec(t, error=None, status=200, region="a", kind="text", latency=0.01):
    return Record(t, latency, kind, status if not error or error.startswith("http") else None, error, region)


def test_figures_count_errors_statuses_regions_kinds_and_the_longest_failure_run():
    recs = [_rec(0.0), _rec(0.1, "http_503", 503), _rec(0.2, "timeout", region=None), _rec(0.3, "http_503", 503),
            _rec(0.4, region="b", kind="suggest"), _rec(0.5, "connection", region=None)]
    f = Figures.of(recs)
    assert (f.sent, f.ok, f.failed) == (6, 2, 4)
    assert f.error_rate == pytest.approx(4 / 6, abs=1e-6)
    assert f.errors == {"http_503": 2, "timeout": 1, "connection": 1}
    assert f.statuses == {"200": 2, "503": 2}
    assert f.regions == {"a": 3, "none": 2, "b": 1}
    assert f.by_kind == {"suggest": {"sent": 1, "failed": 0, "p99_ms": 10.007},  # 3 significant digits: within 0.1 %
                         "text": {"sent": 5, "failed": 4, "p99_ms": 10.007}}
    assert (f.longest_failure_run, f.longest_failure_seconds) == (3, 0.2)
    assert longest_failure_run([]) == (0, 0.0)


def test_hdr_percentiles_within_a_tenth_of_a_percent():
    recs = [_rec(i / 1000, latency=(i + 1) / 1000) for i in range(1000)]  # 1 .. 1000 ms
    lat = Figures.of(recs).latency_ms
    assert lat["p50"] == pytest.approx(500, rel=1e-3)
    assert lat["p99"] == pytest.approx(990, rel=1e-3)
    assert lat["max"] == pytest.approx(1000, rel=1e-3)


def _report(recs, p99=None, rate=None):
    return judge(LoadReport("http://x", 10, 1, 0, {}, 1.0, Figures.of(recs), 0.0, p99, rate))


def test_objectives_missed_are_named_and_met_ones_are_not():
    recs = [_rec(i / 100, latency=0.2) for i in range(99)] + [_rec(0.99, "http_500", 500)]
    missed = _report(recs, p99=100, rate=0.001)
    assert not missed.passed
    assert any(f.startswith("--p99-ms: p99 latency 200") for f in missed.failures)
    assert any(f.startswith("--max-error-rate: error rate 0.0100 (1 of 100)") for f in missed.failures)
    assert _report(recs, p99=250, rate=0.01).passed
    assert "OBJECTIVE MISSED: --p99-ms" in missed.render()


SAMPLE = CatalogSample(ids=["p1", "p2", "p/3"], words=["anorak", "boots", "camera", "drill"], titles=["x"],
                       brands=["Acme", "Borg"], categories=["Outdoor", "Outdoor > Tents"],
                       cursors=[["boots", "CUR1"]], max_price=300)


def test_same_seed_same_requests_other_seed_other_requests():
    def draw(seed):
        mix = RequestMix(SAMPLE, seed=seed)
        return [mix.next() for _ in range(200)]

    a = draw(5)
    assert a == draw(5)
    assert a != draw(6)
    assert {r.kind for r in a} == set(KINDS)


def test_the_mix_follows_its_weights_and_names_sampled_things():
    mix = RequestMix(SAMPLE, parse_mix("suggest=1,product=3"), seed=1)
    reqs = [mix.next() for _ in range(2000)]
    n_product = sum(r.kind == "product" for r in reqs)
    assert {r.kind for r in reqs} == {"suggest", "product"}
    assert 0.7 < n_product / 2000 < 0.8
    assert {r.path for r in reqs if r.kind == "product"} == {"/products/p1", "/products/p2", "/products/p%2F3"}
    assert all(any(w.startswith(r.path.split("q=")[1]) for w in SAMPLE.words) for r in reqs if r.kind == "suggest")


def test_no_cursor_sampled_means_no_cursor_requests():
    sample = CatalogSample(**{**SAMPLE.to_dict(), "cursors": []})
    mix = RequestMix(sample, parse_mix("cursor=5,text=1"))
    assert all(mix.next().kind == "text" for _ in range(50))


def test_typo_changes_a_long_word_by_one_edit_and_leaves_short_ones():
    rng = random.Random(0)
    for _ in range(50):
        t = typo("backpack", rng)
        assert abs(len(t) - 8) <= 1 and t[0] == "b"
    assert typo("tea", rng) == "tea"


@pytest.mark.parametrize("spec, message", [
    ("text", "'text' is not KIND=WEIGHT"), ("bogus=1", "'bogus=1' is not KIND=WEIGHT"),
    ("text=x", "weight of text must be a whole number"), ("text=-1", "weight of text must be 0 or more"),
    ("text=0", "at least one weight"),
])
def test_bad_mix_is_named(spec, message):
    with pytest.raises(MixError, match=message):
        parse_mix(spec)


def test_sampling_reads_hits_facets_and_cursors_and_refuses_an_empty_catalog():
    def get_json(path):
        if "page=1" in path:
            return {"hits": [{"id": "p1", "title": "Trail Boots 2", "price": 120.0}],
                    "facets": {"brand": [{"value": "Acme", "count": 1}], "category": [{"value": "Shoes", "count": 1}]}}
        return {"hits": [], "next_cursor": "C"}

    s = sample_catalog(get_json, size=50)
    assert (s.ids, s.words, s.brands, s.categories, s.max_price) == (["p1"], ["boots", "trail"], ["Acme"],
                                                                      ["Shoes"], 120.0)
    assert ["", "C"] in s.cursors
    with pytest.raises(MixError, match="catalog is empty"):
        sample_catalog(lambda path: {"hits": []})


@pytest.mark.parametrize("args, message", [
    (["--rps", "0", "--duration", "1"], "--rps must be above 0"),
    (["--rps", "1", "--duration", "-1"], "--duration must be above 0"),
    (["--rps", "1", "--duration", "1", "--max-error-rate", "2"], "--max-error-rate must be between 0 and 1"),
    (["--rps", "1", "--duration", "1", "--mix", "foo=1"], "--mix: 'foo=1'"),
])
def test_cli_rejects_bad_arguments_naming_them(args, message, capsys):
    assert main(["load", "--url", "http://127.0.0.1:9", *args]) == 2
    assert message in capsys.readouterr().err
