"""The crawl process: Scrapy's CrawlerProcess running the evidence spider on one plan.

Run as `python -m collector.engine PLAN.json` by `evidence crawl` (Twisted's reactor cannot be restarted,
so every crawl gets a fresh process). Progress goes to stdout as JSON lines; Scrapy's log to a file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

USER_AGENT = "evidence-collector/0.1 (smart-city evidence research; obeys robots.txt)"


def scrapy_settings(plan: dict) -> dict:
    limits = plan["limits"]
    return {
        "BOT_NAME": "evidence",
        "USER_AGENT": USER_AGENT,
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,  # a public portal needs none, and the cookie jar would look up the suffix list online
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_FILE": plan["log_file"],
        "LOG_LEVEL": "INFO",
        "JOBDIR": plan["jobdir"],
        # politeness: a few requests per host at a time, paced by the server's own latency
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": limits["concurrency"],
        # a page's results are recorded one after another anyway (one writer, one transaction); Scrapy's default
        # of 100 starts 100 asyncio tasks per response to hand them over, the crawl process's largest cost
        "CONCURRENT_ITEMS": 1,
        "DOWNLOAD_DELAY": limits["delay"],
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": limits["delay"],
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(limits["concurrency"]),
        "DOWNLOAD_TIMEOUT": limits["timeout"],
        "DNS_TIMEOUT": limits["timeout"],
        "DOWNLOAD_MAXSIZE": limits["max_bytes"],
        "DOWNLOAD_WARNSIZE": limits["max_bytes"] // 2,
        "RETRY_TIMES": limits["retries"],
        "RETRY_BACKOFF": limits["backoff"],
        "REDIRECT_MAX_TIMES": 10,
        "DOWNLOADER_MIDDLEWARES": {
            "collector.middlewares.SourceGuard": 50,  # before robots.txt is fetched for a host
            "collector.middlewares.SkipFetched": 60,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "collector.middlewares.RobotsTxt": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "collector.middlewares.BackoffRetry": 550,
            "collector.middlewares.ConditionalRequests": 560,
        },
        "EXTENSIONS": {"scrapy.extensions.throttle.AutoThrottle": None, "collector.middlewares.RevalidationThrottle": 0},
        "SPIDER_MIDDLEWARES": {"scrapy.spidermiddlewares.depth.DepthMiddleware": None},  # the spider counts depth
        # breadth first (Scrapy's recipe: FIFO queues, priority falling with depth), so each page is reached by
        # its shortest path and the depth limit cuts where it should
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "ITEM_PIPELINES": {"collector.pipeline.RecordPipeline": 300},
    }


def main(plan_file: str) -> None:
    from collector.workers import die_with_parent, start_fork_server

    die_with_parent()
    start_fork_server()  # loads the extractors in parallel with the Scrapy imports below
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    plan["database"] = sys.stdin.readline().strip()  # not in the plan file: the URL may carry a password
    from scrapy.crawler import CrawlerProcess

    from collector.spider import EvidenceSpider

    process = CrawlerProcess(scrapy_settings(plan))
    process.crawl(EvidenceSpider, plan=plan)
    process.start()


if __name__ == "__main__":
    main(sys.argv[1])
