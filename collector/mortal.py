"""Imported for its effect, first in the extraction fork server's preload list (collector.workers): the fork
server dies with the crawl process that started it. Python's fork server outlives a parent killed by SIGKILL,
and with it every worker (about 250 MB each) and the crawl command waiting on their inherited stdout."""

from collector.workers import die_with_parent

die_with_parent()
