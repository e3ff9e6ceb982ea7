#!/bin/sh
# The walk-through of docs/rendering.md: a Sichuan traffic batch (GBK XML) submitted at 任市 arrives
# at 新盛 as cq-traffic-json documents in a drop folder. Starts its own `xgw serve` on a free port
# with its data, drop folder and configuration in a fresh temporary folder, and stops it at the end.
#
#   examples/delivery/walkthrough.sh [XGW]
#
# XGW  the xgw executable (default: .build/debug/xgw, then xgw on PATH); run from the repository
#      root (it reads Mappings/, seeds/ and Fixtures/). Needs curl.
set -eu
xgw=${1:-}
if [ -z "$xgw" ]; then
    if [ -x .build/debug/xgw ]; then xgw=.build/debug/xgw; else xgw=xgw; fi
fi
work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# 1. 新盛 wants traffic violations as cq-traffic-json, dropped into a folder its platform polls.
cat > "$work/xgw.yaml" <<YAML
data: $work/data
port: 0
algorithm: ES256
participants:
  xinsheng:
    delivery:
      formats: { traffic-violation: cq-traffic-json }
      connector:
        fileDrop: { folder: $work/xinsheng-drop }
YAML
echo "== $work/xgw.yaml"
cat "$work/xgw.yaml"

# 2. The gateway (it prints the port it bound and, on a first start, the tokens).
"$xgw" serve --config "$work/xgw.yaml" > "$work/serve.out" 2> "$work/serve.log" &
server=$!
i=0
until grep -q "listening on" "$work/serve.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.out" "$work/serve.log" >&2; exit 1; fi
    sleep 0.1
done
port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$work/serve.out")
RENSHI=$(awk '$1 == "token" && $2 == "renshi" { print $3 }' "$work/serve.out")
base=http://127.0.0.1:$port

# 3. 任市 submits a Sichuan traffic batch (two violations, GBK XML) as it always has.
echo "== 任市 submits Fixtures/sc-traffic-xml/005-gbk-batch-two.xml"
curl -sS -H "Authorization: Bearer $RENSHI" --data-binary @Fixtures/sc-traffic-xml/005-gbk-batch-two.xml "$base/v1/documents"
echo

# 4. The connector renders each record as cq-traffic-json, writes it by write-then-rename and acks.
i=0
until [ "$(ls "$work/xinsheng-drop" 2>/dev/null | wc -l)" -ge 2 ]; do
    i=$((i + 1)); if [ $i -gt 600 ]; then echo "no documents in the drop folder" >&2; cat "$work/serve.log" >&2; exit 1; fi
    sleep 0.1
done
echo "== the drop folder of 新盛"
ls "$work/xinsheng-drop"
for f in "$work/xinsheng-drop"/*.json; do
    echo "== $(basename "$f")"
    cat "$f"
done

# 5. 新盛's platform reads them as its own format: they translate as cq-traffic-json.
echo "== translated back as cq-traffic-json"
for f in "$work/xinsheng-drop"/*.json; do "$xgw" translate --mapping cq-traffic-json "$f"; done

# 6. 任市 gets a signed receipt per record, as when a client acks; the history names the rendering.
i=0
until [ "$(curl -sS -H "Authorization: Bearer $RENSHI" "$base/v1/receipts" | grep -o '"outcome":"accepted"' | wc -l)" -ge 2 ]; do
    i=$((i + 1)); if [ $i -gt 600 ]; then echo "no receipts" >&2; exit 1; fi
    sleep 0.1
done
receipts=$(curl -sS -H "Authorization: Bearer $RENSHI" "$base/v1/receipts")
echo "== receipts of 任市: $(printf %s "$receipts" | grep -o '"cursor":' | wc -l | tr -d ' '), each accepted by xinsheng and signed with its key"
first=$(ls "$work/xinsheng-drop" | head -1 | sed 's/\.json$//')
echo "== history of $first"
curl -sS -H "Authorization: Bearer $RENSHI" "$base/v1/messages/$first/history"
echo
