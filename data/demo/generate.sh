#!/usr/bin/env bash
# Regenerates augment's bundled demo speech set: data/demo/audio/<id>.flac and
# data/demo/manifest.json (NeMo JSONL). Needs Debian's espeak-ng (apt-get install espeak-ng) and
# the project build for the FLAC encoder (npx tsc -p tsconfig.json); neither is needed to *use*
# the committed outputs.
#
#   bash data/demo/generate.sh [--out DIR]      (default: data/demo itself)
#
# espeak-ng writes 22050 Hz mono 16-bit WAV; to-flac.mjs trims the silence at both ends to
# 0.1 s, keeps 22050 Hz (so the demo exercises resampling to 16 kHz) and encodes FLAC with the
# project's own encoder.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v espeak-ng >/dev/null || { echo "generate.sh: espeak-ng not found (apt-get install espeak-ng)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# speaker | espeak-ng voice+variant | rate (wpm) | pitch (0-99) | language | transcript
# Several "speakers" per language are voice variants with their own rate and pitch.
utterances=$(cat <<'TABLE'
en_f3|en+f3|160|60|en|The quick brown fox jumps over the lazy dog.
en_f3|en+f3|160|60|en|Please call me back after lunch.
en_f3|en+f3|160|60|en|The train to the airport leaves every ten minutes.
en_m2|en+m2|150|40|en|Turn left at the next traffic light.
en_m2|en+m2|150|40|en|She bought three apples and a loaf of bread.
en_m2|en+m2|150|40|en|It might rain later this afternoon.
enus_f4|en-us+f4|175|70|en|Can you hear me clearly now?
enus_f4|en-us+f4|175|70|en|The meeting has been moved to Thursday.
enus_f4|en-us+f4|175|70|en|My phone battery is almost empty.
enus_m7|en-us+m7|140|35|en|We walked along the river until sunset.
enus_m7|en-us+m7|140|35|en|Open the window, it is warm in here.
enus_m7|en-us+m7|140|35|en|How much does a ticket to London cost?
de_m1|de+m1|150|45|de|Guten Morgen, wie geht es dir heute?
de_m1|de+m1|150|45|de|Der Zug nach München hat zehn Minuten Verspätung.
de_f2|de+f2|165|65|de|Ich hätte gern einen Kaffee mit Milch.
de_f2|de+f2|165|65|de|Die Kinder spielen draußen im Garten.
es_f1|es+f1|160|60|es|Buenos días, ¿cómo estás?
es_f1|es+f1|160|60|es|El museo abre a las diez de la mañana.
es419_m3|es-419+m3|150|40|es|Mañana vamos a la playa con mis amigos.
es419_m3|es-419+m3|150|40|es|¿Dónde está la estación de autobuses?
fr_f2|fr+f2|160|55|fr|Bonjour, je voudrais un café, s'il vous plaît.
fr_f2|fr+f2|160|55|fr|Il fait très beau aujourd'hui.
fr_m4|fr+m4|145|45|fr|La bibliothèque ferme à dix-huit heures.
fr_m4|fr+m4|145|45|fr|Où se trouve la gare la plus proche ?
sw_m1|sw+m1|145|40|sw|Habari za asubuhi, rafiki yangu.
sw_m1|sw+m1|145|40|sw|Ninapenda kusoma vitabu jioni.
sw_f5|sw+f5|155|60|sw|Soko linafunguliwa saa mbili asubuhi.
sw_f5|sw+f5|155|60|sw|Tafadhali nipe maji ya kunywa.
TABLE
)

declare -A count
list="$work/list.tsv"
: >"$list"
while IFS='|' read -r speaker voice rate pitch lang text; do
  count[$speaker]=$(( ${count[$speaker]:-0} + 1 ))
  id=$(printf '%s-%04d' "$speaker" "${count[$speaker]}")
  # -b 1: the text is UTF-8 whatever the locale.
  espeak-ng -b 1 -v "$voice" -s "$rate" -p "$pitch" -w "$work/$id.wav" "$text"
  printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$speaker" "$lang" "$work/$id.wav" "$text" >>"$list"
done <<<"$utterances"

node "$here/to-flac.mjs" --list "$list" --out "$here" "$@"
echo "made with: $(espeak-ng --version)"
