"""Recalls: a scope proposed with its evidence, reviewed and approved by quality staff,
notices to stores and customers through the outbox, effectiveness, and the closing report."""
