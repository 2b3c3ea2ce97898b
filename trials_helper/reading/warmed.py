"""Importing this module builds the reader's tables. multiprocessing's forkserver imports it once
(`readpool`), so every worker forked from the server starts with them built."""

from . import warm_up

warm_up()
