#!/usr/bin/env bash
# Compares `groundlmm meteor` with the Meteor 1.5 jar built from a cmu-mtlab/meteor checkout, on sentence pairs
# made from WordNet glosses (perturbed: dropped/inflected/reordered words, WordNet synonyms swapped in).
# The jar is built in a temporary folder with the EVAL handling of the jar pycocoevalcap ships (each segment's
# score, then the score of the summed statistics). The paraphrase module is left out on both sides.
# usage: scripts/meteor-compare.sh <meteor checkout> [groundlmm binary] [pairs]   (needs javac, python3)
set -euo pipefail
src="${1:?usage: meteor-compare.sh <meteor checkout> [groundlmm binary] [pairs]}"
bin="${2:-build/bin/groundlmm}"
n="${3:-5000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/src" "$tmp/src"
python3 - "$tmp/src/Meteor.java" <<'PY'
import sys
p = sys.argv[1]; s = open(p, encoding="utf-8").read()
old = """				MeteorStats stats = new MeteorStats(part[1].trim());
				scorer.computeMetrics(stats);
				System.out.println(stats.score);"""
new = """				MeteorStats agg = new MeteorStats();
				for (int i = 1; i < part.length; i++) {
					MeteorStats stats = new MeteorStats(part[i].trim());
					scorer.computeMetrics(stats);
					System.out.println(stats.score);
					agg.addStats(stats);
				}
				scorer.computeMetrics(agg);
				System.out.println(agg.score);"""
if old in s:
    open(p, "w", encoding="utf-8").write(s.replace(old, new))
PY
mkdir -p "$tmp/build"
javac -nowarn -encoding UTF-8 -d "$tmp/build" $(find "$tmp/src" -name '*.java') 2>/dev/null
cp -r "$src/resources/." "$tmp/build/"
python3 - "$n" "$tmp/pairs.in" <<'PY'
import collections, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
random.seed(1)
syn, gl = collections.defaultdict(set), []
for f in ["data.noun", "data.verb", "data.adj", "data.adv"]:
    for line in open("/usr/share/wordnet/" + f, encoding="latin-1"):
        if line.startswith(" "):
            continue
        t = line.split()
        lem = [t[4 + 2 * i].split("(")[0].lower() for i in range(int(t[3], 16))]
        lem = [x for x in lem if "_" not in x]
        for a in lem:
            syn[a].update(b for b in lem if b != a)
        for part in line.split("|", 1)[1].split(";"):
            part = part.strip().strip('"')
            if 4 <= len(part.split()) <= 25:
                gl.append(part.replace("|", ""))
random.shuffle(gl)
keys = sorted(syn)
with open(out, "w") as f:
    for i in range(n):
        ref = gl[i % len(gl)]
        w = []
        for x in ref.split():
            r = random.random()
            if syn.get(x.lower()) and r < 0.4:
                x = random.choice(sorted(syn[x.lower()]))
            elif r < 0.5:
                continue
            elif r < 0.6:
                x += random.choice(["s", "ing", "ed", ","])
            elif r < 0.65:
                x = random.choice(keys)
            w.append(x)
        if random.random() < 0.3 and len(w) > 2:
            i0 = random.randrange(len(w) - 1)
            w[i0], w[i0 + 1] = w[i0 + 1], w[i0]
        f.write("SCORE ||| %s ||| %s\n" % (ref, " ".join(w)))
PY
run_both() {  # SCORE lines, then one EVAL line of the jar's own statistics
    java -cp "$tmp/build" Meteor - - -stdio -l en -norm -m "exact stem synonym" -w "1.0 0.6 0.8" < "$tmp/pairs.in" > "$tmp/jar.stats"
    { cat "$tmp/pairs.in"; printf 'EVAL'; while read -r l; do printf ' ||| %s' "$l"; done < "$tmp/jar.stats"; echo; } > "$tmp/all.in"
    java -cp "$tmp/build" Meteor - - -stdio -l en -norm -m "exact stem synonym" -w "1.0 0.6 0.8" < "$tmp/all.in" > "$tmp/jar.out"
    "$bin" meteor --resources "$tmp/build" < "$tmp/all.in" > "$tmp/ours.out"
    mkdir -p "$tmp/res" && cp -r "$src/resources/function" "$src/resources/nonbreaking" "$tmp/res/"
    "$bin" meteor --resources "$tmp/res" < "$tmp/all.in" > "$tmp/ours-wn.out"  # synonyms from wordnet-base
}
run_both
python3 - "$tmp/jar.out" "$n" "$tmp/ours.out" "$tmp/ours-wn.out" <<'PY'
import sys
a, n, ok = open(sys.argv[1]).read().split("\n"), int(sys.argv[2]), True
sa = [float(x) for x in a[n:2 * n + 1]]
for name, path in [("Meteor's synonym files", sys.argv[3]), ("Debian WordNet", sys.argv[4])]:
    b = open(path).read().split("\n")
    same = sum(a[i] == b[i] for i in range(n))
    sb = [float(x) for x in b[n:2 * n + 1]]
    d = [abs(x - y) for x, y in zip(sa, sb)]
    print("%s: statistics lines identical %d / %d; segment scores max |diff| %.3g; corpus jar %.17g ours %.17g"
          % (name, same, n, max(d[:-1]), sa[-1], sb[-1]))
    ok = ok and same == n and max(d) == 0
sys.exit(0 if ok else 1)
PY
