#!/bin/sh
# One RabbitMQ node of a cluster, configured from the environment:
#   RABBITMQ_NODENAME        this node (kpd1@localhost; in Kubernetes rabbit@<pod>.<service>...)
#   RABBITMQ_CLUSTER_NODES   every node of the cluster, comma-separated (classic peer discovery:
#                            a node joins the first one it reaches, so start them one by one)
#   ERLANG_COOKIE            the secret the nodes (and rabbitmqctl) share
#   RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS   the user made when the cluster is new
#   RABBITMQ_NODE_PORT (5672), RABBITMQ_DIST_PORT (25672), RABBITMQ_BIND_ADDRESS (all),
#   ERL_EPMD_PORT (4369)     ports, read by RabbitMQ and Erlang themselves as well
set -eu
: "${RABBITMQ_NODENAME:?set RABBITMQ_NODENAME}"
: "${RABBITMQ_CLUSTER_NODES:?set RABBITMQ_CLUSTER_NODES}"
: "${ERLANG_COOKIE:?set ERLANG_COOKIE}"
: "${RABBITMQ_DEFAULT_USER:?set RABBITMQ_DEFAULT_USER}"
: "${RABBITMQ_DEFAULT_PASS:?set RABBITMQ_DEFAULT_PASS}"
port=${RABBITMQ_NODE_PORT:-5672}
home=/var/lib/rabbitmq

umask 077
printf '%s' "$ERLANG_COOKIE" > "$home/.erlang.cookie"
unset ERLANG_COOKIE
{
  if [ -n "${RABBITMQ_BIND_ADDRESS:-}" ]; then
    echo "listeners.tcp.default = $RABBITMQ_BIND_ADDRESS:$port"
  else
    echo "listeners.tcp.default = $port"
  fi
  echo "cluster_formation.peer_discovery_backend = classic_config"
  i=0
  for node in $(echo "$RABBITMQ_CLUSTER_NODES" | tr ',' ' '); do
    i=$((i + 1))
    echo "cluster_formation.classic_config.nodes.$i = $node"
  done
  echo "cluster_partition_handling = pause_minority"
  echo "default_user = $RABBITMQ_DEFAULT_USER"
  echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  echo "loopback_users = none"
  echo "log.console = true"
  echo "log.console.level = info"
  echo "log.file = false"
} > /etc/rabbitmq/rabbitmq.conf
unset RABBITMQ_DEFAULT_PASS
umask 022
mkdir -p "$home/mnesia"
chown -R rabbitmq:rabbitmq "$home" /etc/rabbitmq
exec runuser -u rabbitmq -- env HOME="$home" /usr/lib/rabbitmq/bin/rabbitmq-server
