#!/usr/bin/env bash
# The PostgreSQL floor of the queue (issue 18 item 2): what PostgreSQL itself does, on the same
# cluster, for the work `xgw bench queue --database` measures, with pgbench (prepared statements,
# one statement per operation, each its own transaction and commit):
#   enqueue    documents of 100: one multi-row statement inserts 100 envelopes (2 KiB bodies,
#              made by the server), their 100 messages and `queued` history rows;
#   lease+ack  one statement leases 100 (`FOR UPDATE SKIP LOCKED`, oldest first, tokens and expiry
#              written, `leased` history, rows and envelope bodies returned to pgbench), one
#              statement acks them by token (state, outcome, ack time, `acked` history).
# No FIFO-group rule, no JSON, no client-side decisions: an upper bound for any driver.
# The tables are xgw's own (migrated by xgw into SCHEMA); the floor's rows use destination and
# submitter `floor` and ids from a sequence of its own, so it can run between xgw's phases.
#
# Usage: floor.sh URL SCHEMA enqueue|lease+ack|clean [MESSAGES]   → prints messages/s (one number)
#   URL: postgres://user@host:port/db (no parameters); MESSAGES: a multiple of 100 (default 10000).
#   lease+ack needs MESSAGES floor messages queued (run enqueue first); clean deletes the floor's rows.
set -euo pipefail
url=$1 schema=$2 phase=$3 messages=${4:-10000}
bin=""
for dir in /usr/lib/postgresql/*/bin; do [ -x "$dir/pgbench" ] && bin=$dir/; done
export PGOPTIONS="-c search_path=$schema"
transactions=$((messages / 100))
script=$(mktemp /tmp/xgw-floor.XXXXXX.sql)
trap 'rm -f "$script"' EXIT
"${bin}psql" -qX "$url" -c "SET client_min_messages = warning; CREATE SEQUENCE IF NOT EXISTS floor_seq" >/dev/null
case $phase in
  enqueue)
    cat > "$script" <<'SQL'
WITH input AS (
  SELECT n, 'floor-' || n AS id FROM (SELECT nextval('floor_seq') AS n FROM generate_series(1, 100)) s
), env AS (
  INSERT INTO envelope (id, submitter, kind, record_id, updated_at, payload_digest, destinations, body, enqueued_at)
  SELECT id, 'floor', 'traffic-violation', id, '2026-01-01T00:00:00Z', 'fd' || n, 'floor',
         convert_to(repeat('x', 2048), 'UTF8'), 0
  FROM input ORDER BY n
  ON CONFLICT (submitter, record_id, payload_digest) DO NOTHING
  RETURNING id, record_id
), msg AS (
  INSERT INTO message (envelope_id, destination, submitter, record_id, updated_at, state, delivery_count, available_at)
  SELECT id, 'floor', 'floor', record_id, '2026-01-01T00:00:00Z', 'queued', 0, 0 FROM env
  RETURNING id
)
INSERT INTO history (message_id, at, event, delivery_count) SELECT id, 0, 'queued', 0 FROM msg;
SQL
    ;;
  lease+ack)
    cat > "$script" <<'SQL'
WITH c AS (
  SELECT m.id FROM message m
  WHERE m.destination = 'floor' AND m.state = 'queued' AND m.available_at <= 1
  ORDER BY m.available_at, m.id LIMIT 100
  FOR UPDATE SKIP LOCKED
), l AS (
  UPDATE message m SET state = 'leased', lease_token = md5(m.id::text || clock_timestamp()::text), lease_expires_at = 1
  FROM c WHERE m.id = c.id
  RETURNING m.id, m.envelope_id, m.lease_token
), h AS (
  INSERT INTO history (message_id, at, event, delivery_count) SELECT id, 0, 'leased', 0 FROM l
)
SELECT l.id, e.body, array_agg(l.lease_token) OVER () AS tokens FROM l JOIN envelope e ON e.id = l.envelope_id \aset
WITH a AS (
  UPDATE message SET state = 'acked', lease_token = NULL, lease_expires_at = NULL, outcome = 'accepted', acked_at = 1
  WHERE lease_token = ANY(:tokens::text[]) AND destination = 'floor'
  RETURNING id
)
INSERT INTO history (message_id, at, event, delivery_count) SELECT id, 1, 'acked', 0 FROM a;
SQL
    ;;
  clean)
    "${bin}psql" -qX "$url" >/dev/null <<'SQL'
DELETE FROM history WHERE message_id IN (SELECT id FROM message WHERE destination = 'floor');
DELETE FROM message WHERE destination = 'floor';
DELETE FROM envelope WHERE submitter = 'floor';
SQL
    exit 0
    ;;
  *) echo "usage: floor.sh URL SCHEMA enqueue|lease+ack|clean [MESSAGES]" >&2; exit 64 ;;
esac
tps=$("${bin}pgbench" -n -M prepared -c 1 -t "$transactions" -f "$script" "$url" 2>&1 \
  | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')
[ -n "$tps" ] || { echo "pgbench gave no rate" >&2; exit 1; }
awk -v tps="$tps" 'BEGIN { printf "%.0f\n", tps * 100 }'
