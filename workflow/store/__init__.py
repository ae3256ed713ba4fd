"""The database: every table, the transactions, the audit chain and its seals."""
