// Runs text through real Lucene analyzers (Debian's liblucene8-java), for tests/parity.
//
// Usage: java -cp <lucene jars>:<classes> Analyze <resource dir> \
//          --analyzer NAME --tokenizer NAME k=v ... [--filter NAME k=v ...] ... [--analyzer ...]
// Components are Lucene factory names (CustomAnalyzer); tests/parity/lucene_ref.py translates
// the OpenSearch index settings into them. stdin: one "ANALYZER<TAB>TEXT" per line; stdout:
// one line per input line, the tokens separated by TAB (an empty line for no tokens).
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.custom.CustomAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;

public final class Analyze {
  private static Map<String, String> params(String[] args, int from, int to) {
    Map<String, String> out = new HashMap<>();
    for (int i = from; i < to; i++) {
      int eq = args[i].indexOf('=');
      out.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    Map<String, Analyzer> analyzers = new LinkedHashMap<>();
    String resources = args[0];
    int i = 1;
    while (i < args.length) {
      if (!args[i].equals("--analyzer")) throw new IllegalArgumentException("expected --analyzer at " + args[i]);
      String name = args[i + 1];
      i += 2;
      CustomAnalyzer.Builder b = CustomAnalyzer.builder(Paths.get(resources));
      while (i < args.length && !args[i].equals("--analyzer")) {
        String kind = args[i];
        String factory = args[i + 1];
        int j = i + 2;
        while (j < args.length && !args[j].startsWith("--")) j++;
        Map<String, String> p = params(args, i + 2, j);
        if (kind.equals("--tokenizer")) b.withTokenizer(factory, p);
        else if (kind.equals("--filter")) b.addTokenFilter(factory, p);
        else throw new IllegalArgumentException("unknown option " + kind);
        i = j;
      }
      analyzers.put(name, b.build());
    }
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      int tab = line.indexOf('\t');
      Analyzer a = analyzers.get(line.substring(0, tab));
      List<String> tokens = new ArrayList<>();
      try (TokenStream ts = a.tokenStream("f", line.substring(tab + 1))) {
        CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
        ts.reset();
        while (ts.incrementToken()) tokens.add(term.toString());
        ts.end();
      }
      out.write(String.join("\t", tokens));
      out.write('\n');
    }
    out.flush();
  }
}
