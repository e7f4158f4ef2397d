"""Notifications: e-mail and chat robots sent through an outbox with a lease."""
