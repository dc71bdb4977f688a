"""Load generation: the shopper request mix (:mod:`loadgen.mix`, shared with the Locust
file in ``loadtest/``), the open-loop runner and its report (:mod:`loadgen.runner`), and
``storefront load`` (:mod:`loadgen.cli`)."""
