"""The reference nobody here wrote: real Lucene analyzers (Debian's ``liblucene8-java``) run
by the JDK, configured from the OpenSearch index settings of :mod:`catalog.schema`.

:class:`Lucene` translates ``settings.analysis`` (the exact analyzers the index body
declares) into Lucene's own factories (what OpenSearch instantiates for them), compiles
``lucene/Analyze.java`` once and analyzes many strings per JVM start.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
JAR_DIRS = ("/usr/share/java",)
JARS = ("lucene-core", "lucene-analyzers-common")


def missing() -> str | None:
    """Why Lucene cannot be run here (None: it can)."""
    for tool in ("java", "javac"):
        if shutil.which(tool) is None:
            return f"no {tool} (install default-jdk-headless; .ci/apt/lucene.txt)"
    if len(jars()) < len(JARS):
        return "no Lucene 8 jars (install liblucene8-java; .ci/apt/lucene.txt)"
    return None


def jars() -> list[str]:
    out = []
    for name in JARS:
        for d in JAR_DIRS:
            found = sorted(glob.glob(os.path.join(d, f"{name}-8*.jar")))
            if found:
                out.append(found[-1])
                break
    return out


def _component(kind: str, spec: Mapping[str, Any], resources: Path) -> list[str]:
    """One OpenSearch tokenizer/filter definition -> ``--tokenizer|--filter FACTORY k=v ...``."""
    t = spec["type"]
    if kind == "tokenizer" and t == "pattern":
        return ["--tokenizer", "pattern", f"pattern={spec['pattern']}", f"group={spec.get('group', -1)}"]
    if kind == "tokenizer" and t == "pattern_standard":
        return ["--tokenizer", "standard"]
    if kind == "filter" and t in ("lowercase", "asciifolding"):
        return ["--filter", t]
    if kind == "filter" and t == "stop":
        words = resources / f"stop{abs(hash(tuple(spec['stopwords'])))}.txt"
        words.write_text("\n".join(spec["stopwords"]) + "\n", encoding="utf-8")
        return ["--filter", "stop", f"words={words.name}", f"ignoreCase={str(spec.get('ignore_case', False)).lower()}"]
    if kind == "filter" and t == "stemmer" and spec.get("language") == "porter2":
        # OpenSearch: StemmerTokenFilterFactory "porter2" -> SnowballFilter(new EnglishStemmer())
        return ["--filter", "snowballporter", "language=English"]
    if kind == "filter" and t == "stemmer" and spec.get("language") in ("english", "possessive_english"):
        # the other English stemmers OpenSearch names (its StemmerTokenFilterFactory)
        return ["--filter", {"english": "porterstem", "possessive_english": "englishpossessive"}[spec["language"]]]
    if kind == "filter" and t == "edge_ngram":
        return ["--filter", "edgengram", f"minGramSize={spec['min_gram']}", f"maxGramSize={spec['max_gram']}",
                "preserveOriginal=false"]
    raise ValueError(f"no Lucene translation for {kind} {spec!r}")


def _builtin(kind: str, name: str) -> dict[str, Any]:
    if kind == "tokenizer" and name == "standard":
        return {"type": "pattern_standard"}
    if name in ("lowercase", "asciifolding"):
        return {"type": name}
    raise ValueError(f"unknown built-in {kind} {name!r}")


class Lucene:
    """``analyze(analyzer, texts)`` with the analyzers of an OpenSearch ``settings.analysis``."""

    def __init__(self, analysis: Mapping[str, Any], workdir: Path | None = None) -> None:
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="lucene-ref-"))
        self.classes = self.dir / "classes"
        self.resources = self.dir / "resources"
        self.resources.mkdir(parents=True, exist_ok=True)
        self.args: list[str] = []
        for name, spec in analysis["analyzer"].items():
            if spec.get("type") != "custom":
                raise ValueError(f"analyzer {name}: only custom analyzers are translated")
            self.args += ["--analyzer", name]
            tok = spec["tokenizer"]
            self.args += _component("tokenizer", analysis.get("tokenizer", {}).get(tok) or _builtin("tokenizer", tok),
                                    self.resources)
            for flt in spec.get("filter", []):
                self.args += _component("filter", analysis.get("filter", {}).get(flt) or _builtin("filter", flt),
                                        self.resources)
        self._compile()

    def _compile(self) -> None:
        if (self.classes / "Analyze.class").exists():
            return
        self.classes.mkdir(parents=True, exist_ok=True)
        subprocess.run(["javac", "-nowarn", "-cp", ":".join(jars()), "-d", str(self.classes),
                        str(HERE / "lucene" / "Analyze.java")], check=True, capture_output=True)

    def analyze(self, analyzer: str, texts: Sequence[str]) -> list[list[str]]:
        """The tokens of each text (line breaks and tabs in a text are read as spaces)."""
        lines = "".join(f"{analyzer}\t{' '.join(t.split(chr(10)))}".replace("\r", " ") + "\n" for t in texts)
        lines = lines.replace("\u2028", " ").replace("\u2029", " ")
        cp = ":".join([*jars(), str(self.classes)])
        proc = subprocess.run(["java", "-Xss8m", "-cp", cp, "Analyze", str(self.resources), *self.args],
                              input=lines.encode("utf-8"), capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"Lucene failed: {proc.stderr.decode(errors='replace')[-2000:]}")
        out = proc.stdout.decode("utf-8").split("\n")[: len(texts)]
        return [line.split("\t") if line else [] for line in out]
