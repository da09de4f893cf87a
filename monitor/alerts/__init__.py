"""From classifications to alerts: routes, stories and the outbox that delivers them."""
