#!/usr/bin/env bash
# A two-node xgw alliance on loopback: renshi-node hosts the Sichuan participants, xinsheng-node the
# Chongqing ones. Each node makes its own keys; only certificate requests travel to the alliance's
# PKI folder, and only certificates and the public roots, CRLs and signed directory come back
# (docs/federation.md, "Key ceremony" and "Setting up the two offices and the alliance members").
#
#   bash examples/federation/setup.sh              setup (once), start both nodes, print tokens and curl lines
#   bash examples/federation/setup.sh setup        only the key ceremony, the directory and the node.yaml files
#   bash examples/federation/setup.sh start        start both nodes in the background, wait for /healthz
#   bash examples/federation/setup.sh stop         stop both nodes (SIGTERM, then SIGKILL after 30 s)
#   bash examples/federation/setup.sh status       each node's /healthz
#   bash examples/federation/setup.sh tokens       print the tokens and the curl lines again
#   bash examples/federation/setup.sh check-keys   every private key in each folder: each node holds only its own
#   bash examples/federation/setup.sh clean        stop and remove the work folder
#
# Needs Linux with bash 4+, curl, openssl and coreutils (sha256sum); xgw's own build needs Swift 6.3.
#
# Environment:
#   XGW               an xgw executable (default: swift build -c release --product xgw, once)
#   XGW_EXAMPLE_DIR   the work folder (default: ./.federation-example in the checkout)
#   XGW_EXAMPLE_ALG   algorithm of the signing root and the participants' keys (SM2-SM3, ES256, Ed25519;
#                     default SM2-SM3; node keys are always P-256)
#   RENSHI_PORT, RENSHI_FEDERATION_PORT       renshi-node's office API and node-to-node ports (18080, 18443)
#   XINSHENG_PORT, XINSHENG_FEDERATION_PORT   xinsheng-node's (28080, 28443)
#   XGW_EXAMPLE_START_SECONDS                 how long `start` waits for /healthz (default 120)
# The ports and the executable are fixed by `setup` (in <work>/example.env) for the later subcommands.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${XGW_EXAMPLE_DIR:-$ROOT/.federation-example}
NODES=(renshi-node xinsheng-node)

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

# Every participant of seeds/participants.yaml with the node of its province: "id node" lines.
# Sichuan's participants (renshi, kaijiang, dachuan, ...) go to renshi-node, Chongqing's to xinsheng-node.
participant_nodes() {
    awk '
        /^[[:space:]]*-[[:space:]]*id:/ { id = $NF }
        /^[[:space:]]*region:/ {
            if (id == "") next
            node = $NF == "sichuan" ? "renshi-node" : $NF == "chongqing" ? "xinsheng-node" : "?" $NF
            print id, node; id = ""
        }
    ' "$ROOT/seeds/participants.yaml"
}

# The participants hosted by node $1.
hosted_by() { participant_nodes | awk -v node="$1" '$2 == node { print $1 }'; }

# Every participant has a province with a node in this example.
check_seeds() {
    local lines
    lines=$(participant_nodes)
    [ -n "$lines" ] || fail "$ROOT/seeds/participants.yaml lists no participant"
    if grep -q ' ?' <<< "$lines"; then
        fail "$ROOT/seeds/participants.yaml: a region with no node in this example: $(grep ' ?' <<< "$lines" | tr '\n' ' ')"
    fi
}

# The office API and node-to-node ports of a node.
api_port() { if [ "$1" = renshi-node ]; then echo "$RENSHI_PORT"; else echo "$XINSHENG_PORT"; fi; }
federation_port() { if [ "$1" = renshi-node ]; then echo "$RENSHI_FEDERATION_PORT"; else echo "$XINSHENG_FEDERATION_PORT"; fi; }

# A participant or node id as a shell variable name: kaijiang-renshi -> KAIJIANG_RENSHI.
var_name() { echo "$1" | tr 'a-z.-' 'A-Z__'; }

# SHA-256 of a certificate's DER: the fingerprint compared out of band, the directory's pin.
fingerprint() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

# The xgw executable: $XGW, or a release build of this checkout (built once).
find_xgw() {
    if [ -n "${XGW:-}" ]; then
        [ -x "$XGW" ] || fail "XGW=$XGW is not an executable"
        XGW=$(cd "$(dirname "$XGW")" && pwd)/$(basename "$XGW")
        return
    fi
    step "Building xgw (swift build -c release --product xgw; the first build takes long)"
    (cd "$ROOT" && swift build -c release --product xgw)
    XGW=$(cd "$ROOT" && swift build -c release --product xgw --show-bin-path)/xgw
    [ -x "$XGW" ] || fail "the build left no $XGW"
}

load_env() {
    [ -f "$WORK/example.env" ] || fail "$WORK is not set up: run 'bash $0 setup' first"
    # shellcheck source=/dev/null
    . "$WORK/example.env"
}

# ---------------------------------------------------------------------------------------------
# setup: the key ceremony, the directory, each node's node.yaml

cmd_setup() {
    RENSHI_PORT=${RENSHI_PORT:-18080}
    RENSHI_FEDERATION_PORT=${RENSHI_FEDERATION_PORT:-18443}
    XINSHENG_PORT=${XINSHENG_PORT:-28080}
    XINSHENG_FEDERATION_PORT=${XINSHENG_FEDERATION_PORT:-28443}
    local alg=${XGW_EXAMPLE_ALG:-SM2-SM3}
    command -v openssl >/dev/null || fail "openssl is needed (fingerprints)"
    if [ -e "$WORK/.xgw-federation-example" ]; then
        fail "$WORK is already set up, or a setup stopped half way ('bash $0 clean' removes it, or set XGW_EXAMPLE_DIR)"
    fi
    if [ -e "$WORK" ] && [ -n "$(ls -A "$WORK")" ]; then fail "$WORK is not empty: set XGW_EXAMPLE_DIR to a new folder"; fi
    check_seeds
    find_xgw
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
    # The work folder holds private keys: keep it out of git and out of other users' reach.
    chmod 700 "$WORK"
    printf '*\n' > "$WORK/.gitignore"
    : > "$WORK/.xgw-federation-example"
    local alliance=$WORK/alliance
    local seeds=$ROOT/seeds
    local node id request

    step "1. The alliance's PKI folder ($alliance/pki): both roots, on no node"
    "$XGW" pki init --dir "$alliance/pki" --alg "$alg"
    say "announced to every node out of band: ca.cert.pem SHA-256 $(fingerprint "$alliance/pki/ca.cert.pem")"
    say "                                     tls-ca.cert.pem SHA-256 $(fingerprint "$alliance/pki/tls-ca.cert.pem")"

    for node in "${NODES[@]}"; do
        step "2. $node makes its own keys and requests, in its own folder ($WORK/$node/pki)"
        mkdir -p "$WORK/$node/pki"
        for id in $(hosted_by "$node"); do
            "$XGW" pki request "$id" --dir "$WORK/$node/pki" --alg "$alg" --seeds "$seeds"
        done
        "$XGW" pki request-node "$node" --san DNS:localhost,IP:127.0.0.1 --dir "$WORK/$node/pki"
    done

    for node in "${NODES[@]}"; do
        step "3. Only $node's requests (.csr.pem) travel to the alliance"
        mkdir -p "$alliance/requests/$node"
        for id in $(hosted_by "$node"); do
            cp "$WORK/$node/pki/offices/$id.csr.pem" "$alliance/requests/$node/"
        done
        cp "$WORK/$node/pki/nodes/$node.csr.pem" "$alliance/requests/$node/"
        # Out of band, the node's operator reads each request's SHA-256 to the alliance's, who compares.
        for request in "$alliance/requests/$node"/*.csr.pem; do
            local digest
            digest=$(sha256sum < "$request" | cut -d' ' -f1)
            [ "$digest" = "$(sha256sum < "$WORK/$node/pki/$(request_folder "$node" "$request")/$(basename "$request")" | cut -d' ' -f1)" ] \
                || fail "$request is not the request $node made"
            say "$(basename "$request") SHA-256 $digest (as read out by $node)"
        done
    done

    step "4. The alliance checks each request and issues its certificate (xgw pki sign-request)"
    for node in "${NODES[@]}"; do
        for request in "$alliance/requests/$node"/*.csr.pem; do
            "$XGW" pki sign-request "$request" --dir "$alliance/pki" --days 365 --seeds "$seeds"
        done
    done

    step "5. The directory: which node hosts whom, where it is reached, the pin of its TLS certificate"
    {
        echo "# The alliance's directory source (xgw directory sign $alliance/directory.yaml --pki $alliance/pki)."
        echo "serial: 1"
        echo "validDays: 7"
        echo "nodes:"
        for node in "${NODES[@]}"; do
            echo "  - id: $node"
            echo "    url: https://127.0.0.1:$(federation_port "$node")"
            echo "    certificate: $alliance/requests/$node/$node.cert.pem"
            echo "    hosts: [$(hosted_by "$node" | paste -sd, - | sed 's/,/, /g')]"
        done
    } > "$alliance/directory.yaml"
    cat "$alliance/directory.yaml"
    "$XGW" directory sign "$alliance/directory.yaml" --pki "$alliance/pki" > "$alliance/directory.json"
    "$XGW" directory verify "$alliance/directory.json" --trust "$alliance/pki/ca.cert.pem"
    "$XGW" directory show "$alliance/directory.json"

    for node in "${NODES[@]}"; do
        step "6. Back to $node: its certificates, the public roots and CRLs, the signed directory"
        local pki=$WORK/$node/pki
        for id in $(hosted_by "$node"); do
            cp "$alliance/requests/$node/$id.cert.pem" "$pki/offices/"
        done
        cp "$alliance/requests/$node/$node.cert.pem" "$pki/nodes/"
        cp "$alliance/pki/ca.cert.pem" "$alliance/pki/crl.pem" "$alliance/pki/tls-ca.cert.pem" "$alliance/pki/tls-crl.pem" "$pki/"
        cp "$alliance/directory.json" "$WORK/$node/directory.json"
        # Out of band (by telephone, in person): the node's operator compares the roots' fingerprints
        # with the ones the alliance announced, then trusts the directory signed by that root.
        local root
        for root in ca.cert.pem tls-ca.cert.pem; do
            [ "$(fingerprint "$pki/$root")" = "$(fingerprint "$alliance/pki/$root")" ] || fail "$pki/$root is not the alliance's"
            say "$root SHA-256 $(fingerprint "$pki/$root") (as announced by the alliance)"
        done
        "$XGW" directory verify "$WORK/$node/directory.json" --trust "$pki/ca.cert.pem"
        write_node_yaml "$node"
        say "configuration: $WORK/$node/node.yaml"
    done

    cat > "$WORK/example.env" <<EOF
# Written by examples/federation/setup.sh setup; read by its other subcommands.
XGW='$XGW'
WORK='$WORK'
RENSHI_PORT=$RENSHI_PORT
RENSHI_FEDERATION_PORT=$RENSHI_FEDERATION_PORT
XINSHENG_PORT=$XINSHENG_PORT
XINSHENG_FEDERATION_PORT=$XINSHENG_FEDERATION_PORT
EOF
    step "Set up in $WORK: 'bash $0 start' starts both nodes, 'bash $0 check-keys' shows who holds which key"
}

# Where node $1 keeps request file $2: nodes/ for its own, offices/ for its participants'.
request_folder() { if [ "$(basename "$2")" = "$1.csr.pem" ]; then echo nodes; else echo offices; fi; }

write_node_yaml() {
    local node=$1 dir=$WORK/$1
    cat > "$dir/node.yaml" <<EOF
# $node of the example alliance (examples/federation/setup.sh; docs/server.md, "Configuration").
listen: 127.0.0.1
port: $(api_port "$node")                      # the office API (plain HTTP on loopback)
data: $dir/data                     # SQLite queue, tokens file, the adopted directory copy
pki: $dir/pki                       # public roots and CRLs, this node's keys and certificates only
mappings: $ROOT/Mappings
seeds: $ROOT/seeds
node:
  id: $node
  hosts: [$(hosted_by "$node" | paste -sd, - | sed 's/,/, /g')]
  directory: $dir/directory.json
  directoryPollSeconds: 300
  federation:                       # the node-to-node listener (mutual TLS), the directory's url
    listen: 127.0.0.1
    port: $(federation_port "$node")
    certificate: $dir/pki/nodes/$node.cert.pem
    key: $dir/pki/nodes/$node.key.pem
    trust: $dir/pki/tls-ca.cert.pem
EOF
}

# ---------------------------------------------------------------------------------------------
# start / stop / status

# The pid of a running node, or nothing (a stale pid file, or a pid now used by another program).
running_pid() {
    local file=$WORK/$1/xgw.pid pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "serve --config $WORK/$1/node.yaml"; then
        echo "$pid"
    fi
    return 0
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthz() { curl -fsS --max-time 2 "http://127.0.0.1:$(api_port "$1")/healthz" 2>/dev/null; }

cmd_start() {
    load_env
    command -v curl >/dev/null || fail "curl is needed"
    local node port
    for node in "${NODES[@]}"; do
        if [ -n "$(running_pid "$node")" ]; then say "$node is already running (pid $(running_pid "$node"))"; continue; fi
        for port in "$(api_port "$node")" "$(federation_port "$node")"; do
            port_in_use "$port" && fail "port $port of $node is in use (set the ports before 'setup', see the top of $0)"
        done
        # stdin, stdout and stderr to files, every other inherited descriptor closed: the node outlives
        # this script and keeps none of its caller's pipes or sockets open (a caller waiting for one to
        # close, as Foundation's Process does for its child, would otherwise wait for the node to stop).
        (
            for fd in $(ls "/proc/$BASHPID/fd" 2>/dev/null); do
                if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
            done
            exec "$XGW" serve --config "$WORK/$node/node.yaml" < /dev/null >> "$WORK/$node/server.out" 2>> "$WORK/$node/server.log"
        ) &
        echo $! > "$WORK/$node/xgw.pid"
        say "$node started (pid $!; log $WORK/$node/server.log)"
    done
    local deadline=$((SECONDS + ${XGW_EXAMPLE_START_SECONDS:-120}))
    for node in "${NODES[@]}"; do
        until healthz "$node" > /dev/null; do
            if [ -z "$(running_pid "$node")" ]; then
                tail -n 20 "$WORK/$node/server.log" >&2 || true
                tail -n 5 "$WORK/$node/server.out" >&2 || true
                fail "$node stopped during its start (log above: $WORK/$node/server.log)"
            fi
            [ "$SECONDS" -lt "$deadline" ] || fail "$node did not answer /healthz in time ($WORK/$node/server.log)"
            sleep 0.2
        done
        say "$node: $(healthz "$node")"
        save_tokens "$node"
    done
    cmd_tokens
}

# The tokens a node printed on its first start ("token NAME TOKEN"), kept in <node>/tokens.env
# (0600): the node itself keeps only their hashes.
save_tokens() {
    local node=$1 file=$WORK/$1/tokens.env name token
    [ -f "$file" ] && return 0
    grep -q '^token ' "$WORK/$node/server.out" 2>/dev/null || return 0
    (
        umask 077
        echo "# API tokens of $node (printed once on its first start)."
        while read -r _ name token; do
            if [ "$name" = ops ]; then echo "$(var_name "$node")_OPS=$token"; else echo "$(var_name "$name")=$token"; fi
        done < <(grep '^token ' "$WORK/$node/server.out")
    ) > "$file"
}

cmd_stop() {
    load_env
    local node pid i
    for node in "${NODES[@]}"; do
        pid=$(running_pid "$node")
        if [ -z "$pid" ]; then say "$node is not running"; rm -f "$WORK/$node/xgw.pid"; continue; fi
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then say "$node did not stop within 30 s: SIGKILL"; kill -KILL "$pid"; fi
        rm -f "$WORK/$node/xgw.pid"
        say "$node stopped"
    done
}

cmd_status() {
    load_env
    local node
    for node in "${NODES[@]}"; do
        if [ -n "$(running_pid "$node")" ]; then say "$node (pid $(running_pid "$node")): $(healthz "$node" || echo 'no answer')"
        else say "$node: not running"; fi
    done
}

cmd_tokens() {
    load_env
    local node
    {
        echo "# Source this file: the example's tokens and both nodes' office API addresses."
        for node in "${NODES[@]}"; do
            echo "$(var_name "$node")=http://127.0.0.1:$(api_port "$node")"
            [ -f "$WORK/$node/tokens.env" ] && grep -v '^#' "$WORK/$node/tokens.env" || true
        done
    } > "$WORK/env.sh"
    chmod 600 "$WORK/env.sh"
    step "Tokens (kept in $WORK/env.sh; each node answers only its own participants' tokens)"
    grep -v '^#' "$WORK/env.sh"
    local F=$ROOT/Fixtures
    cat <<EOF

== Try it (. $WORK/env.sh first)
# renshi submits the formats.md Sichuan traffic example at renshi-node; it is for xinsheng, hosted by xinsheng-node
curl -s -H "Authorization: Bearer \$RENSHI" --data-binary @$F/sc-traffic-xml/001-formats-example-gbk.xml \$RENSHI_NODE/v1/documents
# xinsheng leases it at xinsheng-node (once the forwarder has carried it over)
curl -s -H "Authorization: Bearer \$XINSHENG" -d '{"max":10,"visibilitySeconds":60}' \$XINSHENG_NODE/v1/inbox/lease
# ... and acknowledges it there: the answer is the receipt, signed with xinsheng's key on xinsheng-node
curl -s -H "Authorization: Bearer \$XINSHENG" -d '{"leaseToken":"<leaseToken>","outcome":"accepted"}' \$XINSHENG_NODE/v1/inbox/<envelopeId>/ack
# renshi reads the receipt back at renshi-node
curl -s -H "Authorization: Bearer \$RENSHI" \$RENSHI_NODE/v1/receipts
# the other way round: the Chongqing traffic example, and a bulletin to every alliance member on both nodes
curl -s -H "Authorization: Bearer \$XINSHENG" --data-binary @$F/cq-traffic-json/001-formats-example.json \$XINSHENG_NODE/v1/documents
curl -s -H "Authorization: Bearer \$LIANGPING_XINSHENG" --data-binary @$F/cq-bulletin-json/001-spec-example.json \$XINSHENG_NODE/v1/documents
curl -s -H "Authorization: Bearer \$KAIJIANG_RENSHI" -d '{"max":10}' \$RENSHI_NODE/v1/inbox/lease
# ops: queues, peers (outbox depth, dead letters, last error), the federation metrics
curl -s -H "Authorization: Bearer \$RENSHI_NODE_OPS" \$RENSHI_NODE/v1/ops/queues
curl -s -H "Authorization: Bearer \$RENSHI_NODE_OPS" \$RENSHI_NODE/v1/ops/peers
curl -s \$RENSHI_NODE/metrics | grep xgw_federation_
# which private keys each folder holds
bash $0 check-keys
EOF
}

# ---------------------------------------------------------------------------------------------
# check-keys: every private key in each node's folder and in the alliance folder

# Every file under $1 holding a PEM private key, relative to $1.
private_keys_in() { (cd "$1" && grep -rl -e '-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----' . | sed 's|^\./||' | sort); }

# Whether private key $1 belongs to certificate $2 (the same public key, both readable).
key_matches() {
    local key certificate
    key=$(openssl pkey -in "$1" -pubout 2>/dev/null) || return 1
    certificate=$(openssl x509 -in "$2" -noout -pubkey 2>/dev/null) || return 1
    [ -n "$key" ] && [ "$key" = "$certificate" ]
}

cmd_check_keys() {
    load_env
    local problems=0 node file id hosted where
    local alliance=$WORK/alliance
    declare -A owner=()   # key digest -> first folder holding it
    for node in "${NODES[@]}"; do
        hosted=" $(hosted_by "$node" | tr '\n' ' ')"
        step "$node ($WORK/$node) hosts:$hosted"
        while read -r file; do
            [ -n "$file" ] || continue
            where="ok"
            case "$file" in
                pki/offices/*.key.pem)
                    id=$(basename "$file" .key.pem)
                    if [[ "$hosted " != *" $id "* ]]; then where="FOREIGN: signing key of $id, which $node does not host"
                    elif ! key_matches "$WORK/$node/$file" "$WORK/$node/pki/offices/$id.cert.pem"; then
                        where="MISMATCH: not the key of pki/offices/$id.cert.pem"
                    else where="ok: signing key of $id (hosted here), matches its certificate"; fi ;;
                "pki/nodes/$node.key.pem")
                    if ! key_matches "$WORK/$node/$file" "$WORK/$node/pki/nodes/$node.cert.pem"; then
                        where="MISMATCH: not the key of pki/nodes/$node.cert.pem"
                    else where="ok: TLS key of $node itself, matches its node certificate"; fi ;;
                *) where="FOREIGN: not a key of $node's participants or of $node" ;;
            esac
            local digest
            digest=$(sha256sum < "$WORK/$node/$file" | cut -d' ' -f1)
            if [ -n "${owner[$digest]:-}" ]; then where="COPY of ${owner[$digest]}"; else owner[$digest]="$node/$file"; fi
            [[ "$where" == ok* ]] || problems=$((problems + 1))
            printf '  %-40s %s\n' "$file" "$where"
        done < <(private_keys_in "$WORK/$node")
        for id in $hosted "$node"; do
            local expected=pki/offices/$id.key.pem
            [ "$id" = "$node" ] && expected=pki/nodes/$node.key.pem
            if [ ! -f "$WORK/$node/$expected" ]; then
                printf '  %-40s %s\n' "$expected" "MISSING"
                problems=$((problems + 1))
            fi
        done
    done
    step "alliance ($alliance): the roots, and nothing else"
    while read -r file; do
        [ -n "$file" ] || continue
        case "$file" in
            pki/ca.key.pem) where="ok: signing root key (signs certificates, CRLs and the directory)" ;;
            pki/tls-ca.key.pem) where="ok: TLS root key (signs node certificates and the TLS CRL)" ;;
            *) where="UNEXPECTED: the alliance holds no key of a participant or node" ;;
        esac
        local digest
        digest=$(sha256sum < "$alliance/$file" | cut -d' ' -f1)
        if [ -n "${owner[$digest]:-}" ]; then where="ON A NODE: the same key as ${owner[$digest]}"; fi
        [[ "$where" == ok* ]] || problems=$((problems + 1))
        printf '  %-40s %s\n' "$file" "$where"
    done < <(private_keys_in "$alliance")
    echo
    if [ "$problems" -gt 0 ]; then say "check-keys: $problems problem(s)"; exit 1; fi
    say "check-keys: each node holds only its own participants' keys and its own node key; the root keys are on no node"
}

cmd_clean() {
    if [ -f "$WORK/.xgw-federation-example" ]; then
        [ -f "$WORK/example.env" ] && cmd_stop
        rm -rf "$WORK"
        say "removed $WORK"
    elif [ -e "$WORK" ]; then
        fail "$WORK was not made by this script: remove it yourself"
    fi
}

case "${1:-all}" in
    all)
        [ -f "$WORK/example.env" ] || cmd_setup
        cmd_start ;;
    setup) cmd_setup ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    tokens) cmd_tokens ;;
    check-keys) cmd_check_keys ;;
    clean) cmd_clean ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
    *) fail "unknown subcommand '$1' (all, setup, start, stop, status, tokens, check-keys, clean)" ;;
esac
