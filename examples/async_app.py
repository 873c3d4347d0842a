"""An asyncio service that stalls its event loop and loses its tasks."""
import asyncio
import threading
import time

cache_lock = threading.Lock()
cache = {}


async def fetch(key):
    time.sleep(0.5)  # pretend to wait for the network
    return key.upper()


async def refresh(key):
    with cache_lock:
        cache[key] = await fetch(key)


async def main():
    asyncio.create_task(refresh("a"))
    refresh("b")
    await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main())
