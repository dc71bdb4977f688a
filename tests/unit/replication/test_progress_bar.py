from __future__ import annotations

import io
import threading

from storefront_cli.progress import Progress


def test_render_shows_count_fraction_and_rate():
    bar = Progress("scan", total=200, enabled=False)
    bar.advance(50)
    line = bar.render()
    assert line.startswith("scan [") and "50/200" in line and "25%" in line and "/s" in line


def test_draws_on_stderr_only_when_forced_or_a_terminal():
    quiet, loud = io.StringIO(), io.StringIO()
    with Progress("a", 3, stream=quiet) as p:  # StringIO is not a terminal
        p.advance(3)
    with Progress("b", 3, stream=loud, force=True, min_interval=0) as p:
        p.advance(3)
    assert quiet.getvalue() == ""
    assert "3/3" in loud.getvalue() and loud.getvalue().endswith("\n")


def test_disabled_never_draws_even_when_forced():
    out = io.StringIO()
    with Progress("c", None, stream=out, enabled=False, force=True) as p:
        p.advance()
    assert out.getvalue() == ""
    assert p.render().startswith("c 1 ")


def test_concurrent_advances_are_all_counted():
    bar = Progress("t", 8000, enabled=False)
    threads = [threading.Thread(target=lambda: [bar.advance() for _ in range(1000)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bar.done == 8000


def test_the_cli_hands_domain_code_its_bar_or_silence():
    from catalog.progress import silent
    from storefront_cli.progress import terminal_progress

    assert terminal_progress(False) is None  # --json: the domain's default, silent
    with terminal_progress()("scan", 3) as bar:  # type: ignore[misc]
        bar.advance(2)
    assert bar.done == 2
    with silent("scan", None) as quiet:
        quiet.advance(5)
