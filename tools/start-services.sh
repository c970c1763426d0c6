#!/usr/bin/env bash
# Start the local MariaDB and PostgreSQL servers the test-suite talks to, if they are down.
# Safe to run again: it only starts what is not answering. Commands as on our dev/CI machines.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "start-services: $2 did not come up on port $1" >&2
  return 1
}

if ! port_open 3306; then
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    echo "start-services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for 3306 MariaDB
  else
    echo "start-services: MariaDB is not installed; the mysql-marked tests will fail" >&2
  fi
fi

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "start-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    wait_for 5432 PostgreSQL
  else
    echo "start-services: PostgreSQL is not installed; the postgres-marked tests will fail" >&2
  fi
fi
exit 0
