"""Delivery out: partner drops (snapshot layout, commit protocol, manifests), the partner-side
``verify`` and the completion notices."""
