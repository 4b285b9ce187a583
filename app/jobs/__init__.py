"""Distributed runs on an established queue (Celery on RabbitMQ or Redis): a task per city crawl, embedding
batch, city × indicator question and watch step, run by `evidence worker` processes on any machine.

This sits in the app layer because its tasks drive every part below it (collector, vectorstore, review,
watch). A task's body is the same function the in-process command calls, on a smaller scope; without a broker
configured (`jobs.broker_url`) the commands run in-process as before.
"""
