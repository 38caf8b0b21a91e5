"""The market data hub: shared subscriptions, gap repair, staleness."""
