# Throwaway PostgreSQL server for the tests (issue 7). Source this file, then:
#
#   xgw_pg_start      # initdb + pg_ctl start in a temp directory on a free loopback port;
#                     # exports XGW_TEST_POSTGRES_URL, XGW_PG_CTL (a command: `$XGW_PG_CTL restart -m fast`)
#   xgw_pg_stop       # stops the server and removes the directory (safe to call twice)
#
# Call `trap xgw_pg_stop EXIT` after sourcing so the server also stops when a later step fails.
# initdb refuses to run as root: when root, the server runs as the `postgres` system user
# (created when missing) and owns the directory. The server keeps fsync on (the queue's
# durability is what the tests measure) and trusts local connections only (listen 127.0.0.1).

xgw_pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

xgw_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

xgw_pg_start() {
  local bin
  if ! bin=$(xgw_pg_bin); then
    echo "== installing postgresql"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; fi
    bin=$(xgw_pg_bin) || { echo "postgresql binaries not found after install"; return 1; }
  fi
  XGW_PG_DIR=$(mktemp -d /tmp/xgw-pg.XXXXXX)
  local port run_as=()
  port=$(xgw_pg_free_port)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres "$XGW_PG_DIR"
    chmod 700 "$XGW_PG_DIR"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$XGW_PG_DIR/data" -U xgw --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$XGW_PG_DIR/initdb.log" 2>&1 \
    || { cat "$XGW_PG_DIR/initdb.log"; return 1; }
  XGW_PG_CTL="${run_as[*]} $bin/pg_ctl -D $XGW_PG_DIR/data -l $XGW_PG_DIR/server.log -w"
  # Options live in the config file, so `pg_ctl restart` keeps them.
  cat >>"$XGW_PG_DIR/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$XGW_PG_DIR'
max_connections = 200
EOF
  $XGW_PG_CTL start >/dev/null || { cat "$XGW_PG_DIR/server.log"; return 1; }
  export XGW_PG_DIR XGW_PG_CTL
  export XGW_TEST_POSTGRES_URL="postgres://xgw@127.0.0.1:$port/postgres"
  echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($XGW_PG_DIR)"
}

xgw_pg_stop() {
  [ -n "${XGW_PG_DIR:-}" ] || return 0
  [ -d "$XGW_PG_DIR/data" ] && $XGW_PG_CTL stop -m immediate >/dev/null 2>&1
  rm -rf "$XGW_PG_DIR"
  unset XGW_PG_DIR XGW_PG_CTL XGW_TEST_POSTGRES_URL
}
