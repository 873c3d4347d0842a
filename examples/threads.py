"""A small thread script with the pitfalls conclint exists to catch."""
import threading
import time

counter = 0
counter_lock = threading.Lock()
done = threading.Event()


def work(n):
    global counter
    counter_lock.acquire()
    counter += n
    counter_lock.release()
    print(threading.currentThread().getName(), "added", n)


def main():
    threads = []
    for i in range(4):
        t = threading.Thread(target=work, args=(i,))
        t.setDaemon(True)
        threads.append(t)
        t.start()
    while threading.active_count() > 1:
        time.sleep(0.01)
    done.set()
    print("total", counter)


if __name__ == "__main__":
    main()
