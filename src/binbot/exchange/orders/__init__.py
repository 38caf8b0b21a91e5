"""Accounts' orders: the model, the USD-M and spot books, and matching against the replay."""
