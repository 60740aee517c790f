"""The composition root: the only package allowed to import everything (bootstrap, server, CLI,
migrations). Nothing imports it."""
