"""Targets the bounded-runner tests run in a child process."""

import os
import time

from core.bounded import ChildRefused


def echo(job):
    return job["text"].encode()


def refuse(job):
    raise ChildRefused("not this one")


def crash(job):
    raise ValueError("secret file bytes")


def greedy(job):
    hog = bytearray(1 << 30)
    return bytes(hog[:1])


def sleepy(job):
    time.sleep(30)
    return b""


def environ(job):
    return "\n".join(os.environ).encode()
