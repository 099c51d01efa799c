"""The operators' dashboard: a Panel app over the query layer (``store`` has no Panel)."""
